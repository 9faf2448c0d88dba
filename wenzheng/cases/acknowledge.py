"""P0 acknowledgement: a person confirms, within ten minutes, that a life-threatening case is being handled.

Until then the case's limit is the acknowledgement's (cases.limits.P0_ACKNOWLEDGE_WITHIN), so the 督办 sweep
escalates an unacknowledged P0 like any overdue case; once acknowledged, its limit becomes the answer's.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from wenzheng.agencies.models import Agency
from wenzheng.audit.actions import record_audit
from wenzheng.cases.calendar import calendar_of
from wenzheng.cases.limits import answer_due_at
from wenzheng.cases.models import Case
from wenzheng.cases.states import OPEN_STATES
from wenzheng.db import utcnow
from wenzheng.errors import Conflict
from wenzheng.staff.actor import Actor
from wenzheng.staff.roles import Role


def awaits_acknowledgement(case: Case) -> bool:
    """An open P0 nobody has acknowledged yet (what the queue highlights)."""
    return case.urgency == "P0" and case.acknowledged_at is None and case.state in OPEN_STATES


def do_acknowledge_case(session: Session, actor: Actor, case: Case) -> Case:
    """Record who acknowledged the P0 and when; its limit becomes the answer's. Acknowledging twice is a no-op."""
    actor.require_role(case.agency_id, Role.OPERATOR)
    if case.urgency != "P0":
        raise Conflict("Only P0 cases wait for acknowledgement.", code="not_p0")
    if case.acknowledged_at is not None:
        return case
    if case.state not in OPEN_STATES:
        raise Conflict("This case is no longer open.", code="case_closed")
    now = utcnow()
    record_audit(
        session,
        actor,
        "console:case:acknowledge",
        agency_id=case.agency_id,
        subject_type="case",
        subject_id=case.id,
        data={"late": bool(case.due_at and case.due_at < now), "minutes": _minutes_since(case, now)},
    )
    case.acknowledged_at, case.acknowledged_by_id = now, actor.user_id
    agency = session.get_one(Agency, case.agency_id)
    case.due_at = answer_due_at(
        intent=case.intent,
        opened_at=case.created_at,
        timezone=agency.timezone,
        calendar=calendar_of(session, case.agency_id),
    )
    case.escalated_at = None  # escalated for the acknowledgement, if at all; the answer's limit may escalate anew
    case.updated_at = now
    session.commit()
    return case


def _minutes_since(case: Case, now: dt.datetime) -> float:
    return round((now - case.created_at).total_seconds() / 60, 1)
