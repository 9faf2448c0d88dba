"""Writing audit events, and the guard that refuses a commit which changed data without one."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from wenzheng.audit.models import AuditEvent
from wenzheng.staff.actor import Actor


def record_audit(
    session: Session,
    actor: Actor,
    action: str,
    *,
    agency_id: int | None,
    subject_type: str,
    subject_id: int | None,
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add an audit event to the session: it commits, or rolls back, with the change it describes."""
    details = dict(data or {})
    if actor.is_system:
        details.setdefault("system", actor.username)
    audit_event = AuditEvent(
        agency_id=agency_id,
        actor_user_id=actor.user_id,
        actor_token_id=actor.token_id,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        data=details,
        ip=actor.ip,
    )
    session.add(audit_event)
    return audit_event


class UnauditedChange(RuntimeError):
    """A programming error: domain data changed and no audit event was written with it."""


def _is_audited(obj: object) -> bool:
    return getattr(type(obj), "__audited__", True)


def _note_flush(session: Session, _context: Any, _instances: Any) -> None:
    info = session.info
    changed = [o for o in (*session.new, *session.deleted) if _is_audited(o)]
    changed += [o for o in session.dirty if _is_audited(o) and session.is_modified(o)]
    if changed:
        info.setdefault("wz_unaudited", set()).update(type(o).__name__ for o in changed)
    if any(isinstance(o, AuditEvent) for o in session.new):
        info["wz_audited"] = True


def _check_commit(session: Session) -> None:
    session.flush()
    changed = session.info.get("wz_unaudited")
    if changed and not session.info.get("wz_audited"):
        _forget(session)
        raise UnauditedChange(f"changes to {sorted(changed)} were committed without an audit event")
    _forget(session)


def _forget(session: Session, *_args: Any) -> None:
    session.info.pop("wz_unaudited", None)
    session.info.pop("wz_audited", None)


def install_audit_guard() -> None:
    """Every change writes an audit event in the same transaction: enforced here, for every session."""
    if event.contains(Session, "before_commit", _check_commit):
        return
    event.listen(Session, "before_flush", _note_flush)
    event.listen(Session, "before_commit", _check_commit)
    event.listen(Session, "after_rollback", _forget)
