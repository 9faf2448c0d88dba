"""Personal data on screen: masked for roles that need not see it, and every unmasked view audited."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.orm import Session

from wenzheng.audit.actions import record_audit
from wenzheng.staff.actor import Actor
from wenzheng.staff.roles import Role


def sees_personal_data(actor: Actor, agency_id: int) -> bool:
    """Operators and above handle cases and must be able to call back; viewers see masked values."""
    role = actor.role_in(agency_id)
    return role is not None and role.at_least(Role.OPERATOR)


def mask_handle(kind: str, value: str) -> str:
    if kind == "phone":
        return value[:-8] + "****" + value[-4:] if len(value) > 8 else "****"
    if kind == "email" and "@" in value:
        name, domain = value.split("@", 1)
        return f"{name[:1]}***@{domain}"
    if kind in ("link", "web"):
        return "—"  # private tokens: nobody needs to see them
    return value[:4] + "****" if len(value) > 4 else "****"


def shown_handle(actor: Actor, agency_id: int, kind: str, value: str) -> str:
    if kind in ("link", "web"):
        return mask_handle(kind, value)
    return value if sees_personal_data(actor, agency_id) else mask_handle(kind, value)


def audit_personal_view(
    session: Session, actor: Actor, agency_id: int, *, what: str, citizen_ids: Iterable[int | None]
) -> None:
    """Record that ``actor`` saw these citizens' unmasked contact data (committed by the caller)."""
    ids = sorted({c for c in citizen_ids if c is not None})
    if ids and sees_personal_data(actor, agency_id):
        record_audit(
            session,
            actor,
            f"console:{what}:view_personal_data",
            agency_id=agency_id,
            subject_type="citizen",
            subject_id=ids[0] if len(ids) == 1 else None,
            data={"citizen_ids": ids[:200]},
        )
