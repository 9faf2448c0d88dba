"""Splitting a case: messages that turn out to be another request move into a case of their own."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from wenzheng.agencies.models import Agency
from wenzheng.assessments.models import Assessment
from wenzheng.audit.actions import record_audit
from wenzheng.cases.assign import fill_department
from wenzheng.cases.calendar import calendar_of
from wenzheng.cases.limits import answer_due_at, due_at
from wenzheng.cases.models import Case
from wenzheng.cases.states import OPEN_STATES, URGENCY_ORDER, CaseState
from wenzheng.db import utcnow
from wenzheng.errors import Conflict, InvalidInput
from wenzheng.messages.models import Message
from wenzheng.staff.actor import Actor
from wenzheng.staff.roles import Role

MAX_SPLIT = 500


def do_split_case(session: Session, actor: Actor, case: Case, message_ids: Sequence[int]) -> Case:
    """Move the chosen messages into a new case of the same account, named by the first one's reference.

    The case's first message stays (its reference is what the first citizen was given), so at least one
    message remains; the new case takes the most urgent assessment among the messages it receives.
    """
    actor.require_role(case.agency_id, Role.OPERATOR)
    if case.state not in OPEN_STATES:
        raise Conflict("Reopen the case before splitting it.", code="case_closed")
    moving = _chosen(session, case, message_ids)
    new = _new_case(session, case, moving)
    session.execute(update(Message).where(Message.id.in_([m.id for m in moving])).values(case_id=new.id))
    case.message_count = max(1, case.message_count - len(moving))
    case.updated_at = utcnow()
    ids = [m.id for m in moving]
    for subject, data in ((case, {"into": new.ref}), (new, {"from": case.ref})):
        record_audit(
            session,
            actor,
            "console:case:split",
            agency_id=case.agency_id,
            subject_type="case",
            subject_id=subject.id,
            data={**data, "message_ids": ids[:100], "count": len(ids)},
        )
    if new.department_id is not None:
        fill_department(session, new.agency_id, new.department_id)
    session.commit()
    return new


def _chosen(session: Session, case: Case, message_ids: Sequence[int]) -> list[Message]:
    wanted = set(message_ids)
    if not wanted or len(wanted) > MAX_SPLIT:
        raise InvalidInput("Choose the messages that belong to another request.", code="nothing_chosen")
    if case.first_message_id in wanted:
        raise InvalidInput(
            "The case's first message stays with it (its reference was given to the citizen); choose others.",
            code="first_message_stays",
        )
    moving = list(
        session.execute(
            select(Message)
            .where(Message.case_id == case.id, Message.account_id == case.account_id, Message.id.in_(wanted))
            .where(Message.direction == "in")
            .order_by(Message.received_at, Message.id)
        ).scalars()
    )
    if len(moving) != len(wanted):
        raise InvalidInput("Choose messages of this case.", code="not_in_case")
    return moving


def _new_case(session: Session, source: Case, moving: list[Message]) -> Case:
    first = moving[0]
    assessment = _most_urgent(session, moving)
    new = Case(
        agency_id=source.agency_id,
        account_id=source.account_id,
        ref=_free_ref(session, first.ref or f"case-{first.id}"),
        first_message_id=first.id,
        citizen_id=first.citizen_id,
        urgency=assessment.urgency if assessment else source.urgency,
        score=assessment.score if assessment else 0.0,
        intent=assessment.intent if assessment else source.intent,
        cluster=assessment.cluster if assessment and assessment.cluster != source.cluster else None,
        summary=(first.text or first.location_label or "")[:200],
        department_id=source.department_id,
        state=CaseState.DISPATCHED if source.department_id else CaseState.RECEIVED,
        message_count=len(moving),
        split_from_id=source.id,
    )
    _set_limit(session, new, source, opened_at=first.received_at)
    session.add(new)
    session.flush()
    return new


def _set_limit(session: Session, new: Case, source: Case, *, opened_at: dt.datetime) -> None:
    """The citizens have waited since they wrote; a P0 whose case was acknowledged stays acknowledged."""
    agency = session.get_one(Agency, new.agency_id)
    calendar = calendar_of(session, new.agency_id)
    if new.urgency == "P0" and source.acknowledged_at is not None:
        new.acknowledged_at, new.acknowledged_by_id = source.acknowledged_at, source.acknowledged_by_id
        new.due_at = answer_due_at(intent=new.intent, opened_at=opened_at, timezone=agency.timezone, calendar=calendar)
    else:
        new.due_at = due_at(
            urgency=new.urgency, intent=new.intent, opened_at=opened_at, timezone=agency.timezone, calendar=calendar
        )


def _most_urgent(session: Session, messages: list[Message]) -> Assessment | None:
    assessments = session.execute(
        select(Assessment).where(Assessment.message_id.in_([m.id for m in messages]))
    ).scalars()
    ranked = sorted(
        assessments,
        key=lambda a: (URGENCY_ORDER.index(a.urgency) if a.urgency in URGENCY_ORDER else 9, -a.score, a.message_id),
    )
    return ranked[0] if ranked else None


def _free_ref(session: Session, ref: str) -> str:
    """The message's reference, or with a suffix where a case already has it (a case merged away keeps its)."""
    taken = set(session.execute(select(Case.ref).where(Case.ref.startswith(ref))).scalars())
    if ref not in taken:
        return ref
    return next(f"{ref}-{n}" for n in range(2, len(taken) + 3) if f"{ref}-{n}" not in taken)
