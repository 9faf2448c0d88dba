"""Reaching cases: scoped by the actor's agencies, 404 for anyone else's."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from wenzheng.cases.limits import SOON
from wenzheng.cases.models import Case
from wenzheng.cases.states import OPEN_STATES, URGENCY_ORDER
from wenzheng.errors import NotFound
from wenzheng.messages.models import Message
from wenzheng.staff.actor import Actor
from wenzheng.staff.roles import Role

QUEUE_PAGE = 200


def access_case_by_id(session: Session, actor: Actor, case_id: int, *, minimum: Role = Role.VIEWER) -> Case:
    case = session.get(Case, case_id)
    if case is None or not actor.can_see(case.agency_id):
        raise NotFound("No such case.")
    actor.require_role(case.agency_id, minimum)
    return case


def queue_of_agency(
    session: Session, actor: Actor, agency_id: int, *, state: str = "open", urgency: str = "", mine: bool = False
) -> list[Case]:
    """The agency's cases, most urgent first, then the highest score, then the oldest (waiting longest)."""
    actor.require_role(agency_id, Role.VIEWER)
    rank = func.coalesce(Case.urgency, "P2")  # "P0" < "P1" < "P2" < "P3" as text, on every engine
    query = select(Case).where(Case.agency_id == agency_id)
    if state == "open":
        query = query.where(Case.state.in_([s.value for s in OPEN_STATES]))
    elif state:
        query = query.where(Case.state == state)
    if urgency in URGENCY_ORDER:
        query = query.where(Case.urgency == urgency)
    if mine:
        query = query.where(Case.assignee_id == actor.user_id)
    query = query.order_by(rank, Case.score.desc(), Case.created_at, Case.id).limit(QUEUE_PAGE)
    return list(session.execute(query).scalars())


def messages_of_case(session: Session, case: Case) -> list[Message]:
    return list(
        session.execute(
            select(Message)
            .where(Message.agency_id == case.agency_id, Message.case_id == case.id)
            .order_by(Message.received_at, Message.id)
        ).scalars()
    )


def overdue_of_agency(session: Session, actor: Actor, agency_id: int, *, now: dt.datetime) -> list[Case]:
    """督办 list: open cases past or near their limit, the most overdue first (supervisors and admins)."""
    actor.require_role(agency_id, Role.SUPERVISOR)
    return list(
        session.execute(
            select(Case)
            .where(Case.agency_id == agency_id, Case.state.in_([s.value for s in OPEN_STATES]))
            .where(Case.due_at <= now + SOON)
            .order_by(Case.due_at, Case.id)
            .limit(QUEUE_PAGE)
        ).scalars()
    )


def access_case_by_ref(session: Session, actor: Actor, agency_id: int, ref: str) -> Case:
    actor.require_role(agency_id, Role.VIEWER)
    case = session.execute(select(Case).where(Case.agency_id == agency_id, Case.ref == ref)).scalar_one_or_none()
    if case is None:
        raise NotFound(f"No case {ref!r} in this agency. Give the reference shown in the queue.", code="unknown_case")
    return case
