"""Reading the audit trail, scoped by agency and limited to its admins."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from wenzheng.audit.models import AuditEvent
from wenzheng.staff.actor import Actor
from wenzheng.staff.roles import Role


def audit_events_of_agency(session: Session, actor: Actor, agency_id: int, *, limit: int = 50) -> list[AuditEvent]:
    actor.require_role(agency_id, Role.ADMIN)
    return list(
        session.execute(
            select(AuditEvent)
            .where(AuditEvent.agency_id == agency_id)
            .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
            .limit(limit)
        ).scalars()
    )
