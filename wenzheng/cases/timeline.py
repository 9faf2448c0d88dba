"""A case's timeline: what was done on it and to its messages, from its agency's audit log, oldest first.

Besides the case's own events (opened by triage, assigned, dispatched, acknowledged, moved, split, merged,
transferred, rated) it shows the answers sent to its messages and the views of its citizens' personal data.
Only the case's agency's log is read: after a transfer the receiving agency sees its own part, not the
sender's internal record.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from wenzheng.audit.models import AuditEvent
from wenzheng.cases.models import Case
from wenzheng.messages.models import Message

TIMELINE_LIMIT = 500


def timeline_of(session: Session, case: Case, messages: Sequence[Message]) -> list[AuditEvent]:
    message_ids = [m.id for m in messages]
    citizen_ids = sorted({m.citizen_id for m in messages if m.citizen_id is not None})
    about = or_(
        and_(AuditEvent.subject_type == "case", AuditEvent.subject_id == case.id),
        and_(AuditEvent.subject_type == "message", AuditEvent.subject_id.in_(message_ids)),
        and_(AuditEvent.subject_type == "citizen", AuditEvent.subject_id.in_(citizen_ids)),
    )
    return list(
        session.execute(
            select(AuditEvent)
            .where(AuditEvent.agency_id == case.agency_id, about)
            .order_by(AuditEvent.created_at, AuditEvent.id)
            .limit(TIMELINE_LIMIT)
        ).scalars()
    )
