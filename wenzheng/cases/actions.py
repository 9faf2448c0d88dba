"""Cases: placed automatically after triage (one per duplicate cluster, follow-ups joining their open case),
then assigned, answered, resolved and closed by people — every step audited."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from wenzheng.agencies.models import Agency
from wenzheng.assessments.models import Assessment
from wenzheng.audit.actions import record_audit
from wenzheng.cases.assign import fill_departments, release
from wenzheng.cases.calendar import calendar_of
from wenzheng.cases.followup import ask_for_rating, rated_case_of
from wenzheng.cases.limits import P0_LIMIT, due_at
from wenzheng.cases.models import Case
from wenzheng.cases.states import ALLOWED_MOVES, OPEN_STATES, CaseState, more_urgent
from wenzheng.config import get_settings
from wenzheng.db import utcnow
from wenzheng.errors import Conflict, InvalidInput, NotFound, WenzhengError
from wenzheng.messages.models import Message
from wenzheng.staff.actor import Actor
from wenzheng.staff.models import Membership
from wenzheng.staff.roles import Role

TRIAGE = Actor.system("triage")


def place_in_cases(session: Session, pairs: Sequence[tuple[Message, Assessment]]) -> list[Case]:
    """Put each assessed message in a case (the worker's half, in its transaction); returns the cases touched."""
    touched: dict[int, tuple[Case, list[int]]] = {}
    for message, assessment in pairs:
        if assessment.spam:
            continue  # kept, and visible among the flagged, but nobody's work
        case = _case_to_join(session, message, assessment)
        if case is None:
            case = _open_case(session, message, assessment)
        else:
            _join(case, assessment)
        message.case_id = case.id
        touched.setdefault(case.id, (case, []))[1].append(message.id)
    for case, message_ids in touched.values():
        action = "worker:case:open" if case.first_message_id in message_ids else "worker:case:join"
        record_audit(
            session,
            TRIAGE,
            action,
            agency_id=case.agency_id,
            subject_type="case",
            subject_id=case.id,
            data={"message_ids": message_ids[:100], "count": len(message_ids)},
        )
    opened = [case for case, ids in touched.values() if case.first_message_id in ids and case.department_id]
    if opened:  # 派单 by routing: round-robin to whoever of the department is on duty (cases.assign)
        fill_departments(session, opened[0].agency_id, {case.department_id for case in opened})
    return [case for case, _ids in touched.values()]


def _case_to_join(session: Session, message: Message, assessment: Assessment) -> Case | None:
    """The open case this message continues: its conversation's, its duplicate cluster's, or its sender's recent one
    — or, for a lone digit, the resolved case it rates (cases.followup)."""
    rated = rated_case_of(session, message)
    if rated is not None:
        return rated
    if message.parent_id is not None:
        parent_case = session.execute(select(Message.case_id).where(Message.id == message.parent_id)).scalar()
        if parent_case is not None:
            return session.get(Case, parent_case)
    # By account, not agency: a case transferred to another agency (cases.transfer) still gathers what its
    # citizens write to the account they wrote to.
    open_cases = (
        select(Case).where(Case.account_id == message.account_id).where(Case.state.in_([s.value for s in OPEN_STATES]))
    )
    if assessment.cluster:
        found = session.execute(open_cases.where(Case.cluster == assessment.cluster).limit(1)).scalar_one_or_none()
        if found is not None:
            return found
    if message.citizen_id is not None:
        since = utcnow() - dt.timedelta(hours=get_settings().case_follow_up_hours)
        recent = open_cases.where(Case.citizen_id == message.citizen_id, Case.updated_at >= since)
        return session.execute(recent.order_by(Case.updated_at.desc()).limit(1)).scalar_one_or_none()
    return None


def _open_case(session: Session, message: Message, assessment: Assessment) -> Case:
    case = Case(
        agency_id=message.agency_id,
        account_id=message.account_id,
        ref=message.ref or f"case-{message.id}",
        first_message_id=message.id,
        citizen_id=message.citizen_id,
        urgency=assessment.urgency,
        score=assessment.score,
        intent=assessment.intent,
        cluster=assessment.cluster,
        summary=(message.text or message.location_label or "")[:200],
        department_id=assessment.department_id,
        state=CaseState.DISPATCHED if assessment.department_id else CaseState.RECEIVED,
    )
    case.due_at = due_at(
        urgency=case.urgency,
        intent=case.intent,
        opened_at=utcnow(),
        timezone=_timezone(session, case.agency_id),
        calendar=calendar_of(session, case.agency_id),
    )
    session.add(case)
    session.flush()
    return case


def _timezone(session: Session, agency_id: int) -> str:
    agency = session.get(Agency, agency_id)
    return agency.timezone if agency else "Asia/Shanghai"


def _join(case: Case, assessment: Assessment) -> None:
    case.message_count += 1
    case.updated_at = utcnow()
    if more_urgent(case.urgency, assessment.urgency) != case.urgency:
        case.urgency, case.score, case.intent = assessment.urgency, assessment.score, assessment.intent
        if assessment.urgency == "P0":  # a duplicate that turns out to be life-threatening tightens the limit
            case.due_at = min(case.due_at or utcnow() + P0_LIMIT, utcnow() + P0_LIMIT)


def do_assign_case(session: Session, actor: Actor, case: Case, *, assignee_id: int | None) -> Case:
    """承办: give the case to a person (operators may take it themselves; supervisors give it to anyone)."""
    own = assignee_id == actor.user_id
    actor.require_role(case.agency_id, Role.OPERATOR if own else Role.SUPERVISOR)
    if assignee_id is not None:
        _check_assignee(session, case.agency_id, assignee_id)
    record_audit(
        session,
        actor,
        "console:case:assign",
        agency_id=case.agency_id,
        subject_type="case",
        subject_id=case.id,
        data={"from": case.assignee_id, "to": assignee_id},
    )
    previous, case.assignee_id = case.assignee_id, assignee_id
    if assignee_id is not None and case.state in (CaseState.RECEIVED, CaseState.DISPATCHED):
        case.state = CaseState.IN_PROGRESS
    case.updated_at = utcnow()
    if previous not in (None, assignee_id):
        release(session, case.agency_id, previous)
    session.commit()
    return case


def _check_assignee(session: Session, agency_id: int, user_id: int) -> None:
    role = session.execute(
        select(Membership.role).where(Membership.agency_id == agency_id, Membership.user_id == user_id)
    ).scalar_one_or_none()
    if role is None:
        raise NotFound("That person is not on this agency's staff.", code="not_staff")
    if not Role(role).at_least(Role.OPERATOR):
        raise InvalidInput("Cases go to operators, supervisors or admins, not viewers.", code="invalid_assignee")


def do_move_case(session: Session, actor: Actor, case: Case, *, to_state: str) -> Case:
    """Move a case along its lifecycle (办结 resolved, 归档 closed, reopen …) where the 12345 practice allows."""
    actor.require_role(case.agency_id, Role.OPERATOR)
    try:
        target = CaseState(to_state)
    except ValueError as exc:
        raise InvalidInput(f"Unknown case state {to_state!r}.", code="invalid_state") from exc
    current = CaseState(case.state)
    if target not in ALLOWED_MOVES[current]:
        raise Conflict(f"A case that is {current.value} cannot become {target.value}.", code="invalid_move")
    record_audit(
        session,
        actor,
        "console:case:move",
        agency_id=case.agency_id,
        subject_type="case",
        subject_id=case.id,
        data={"from": current.value, "to": target.value},
    )
    case.state = target
    case.updated_at = utcnow()
    if target is CaseState.RESOLVED:
        case.resolved_at = utcnow()
    if target is CaseState.IN_PROGRESS and current not in OPEN_STATES:
        case.rating_requested_at = None  # reopened: a digit is no longer a rating until it is resolved again
    if current in OPEN_STATES and target not in OPEN_STATES and case.assignee_id is not None:
        release(session, case.agency_id, case.assignee_id)
    session.commit()
    if target is CaseState.RESOLVED:
        ask_for_rating(session, actor, case)
    return case


def note_answered(session: Session, message: Message) -> None:
    """An answer went out in this case's conversation (in the caller's transaction)."""
    if message.case_id is None:
        return
    case = session.get(Case, message.case_id)
    if case is None:
        return
    now = utcnow()
    case.first_answered_at = case.first_answered_at or now
    case.updated_at = now
    if case.state in (CaseState.RECEIVED, CaseState.DISPATCHED, CaseState.IN_PROGRESS):
        case.state = CaseState.ANSWERED


def escalate_overdue(session: Session, *, now: dt.datetime | None = None) -> list[Case]:
    """督办: mark open cases past their limit as escalated (once), audited, for the supervisors' list."""
    now = now or utcnow()
    late = list(
        session.execute(
            select(Case)
            .where(Case.state.in_([s.value for s in OPEN_STATES]))
            .where(Case.due_at <= now, Case.escalated_at.is_(None))
            .limit(500)
        ).scalars()
    )
    for case in late:
        case.escalated_at = now
        record_audit(
            session,
            TRIAGE,
            "worker:case:escalate",
            agency_id=case.agency_id,
            subject_type="case",
            subject_id=case.id,
            data={"due_at": case.due_at.isoformat() if case.due_at else None},
        )
    return late


@dataclass(frozen=True)
class CaseAnswer:
    sent: int
    on_status_page: int


def do_answer_case(session: Session, actor: Actor, case: Case, *, text: str) -> CaseAnswer:
    """Answer every citizen in the case at once (a plea forwarded 300 times, 500 donation questions): each on
    their own channel, falling back to their status page where that channel cannot deliver. Each answer is
    audited on its own; this records that they went together."""
    actor.require_role(case.agency_id, Role.OPERATOR)
    answer = reach_everyone(session, actor, case, text=text, counts_as_answer=True)
    record_audit(
        session,
        actor,
        "console:case:answer_all",
        agency_id=case.agency_id,
        subject_type="case",
        subject_id=case.id,
        data={"sent": answer.sent, "on_status_page": answer.on_status_page},
    )
    session.commit()
    return answer


def reach_everyone(session: Session, actor: Actor, case: Case, *, text: str, counts_as_answer: bool) -> CaseAnswer:
    """Send ``text`` to each citizen of the case on their channel, else on their status page (each committed)."""
    from wenzheng.messages.actions import REPLY_CHANNELS, do_reply

    sent = fell_back = 0
    for message in _one_message_per_citizen(session, case):
        channel = message.channel if message.channel in REPLY_CHANNELS else "web"
        reply = partial(do_reply, session, actor, message, text=text, for_case=case, counts_as_answer=counts_as_answer)
        try:
            reply(channel=channel)
            sent += 1
        except InvalidInput:
            raise
        except WenzhengError:
            reply(channel="web")
            fell_back += 1
    return CaseAnswer(sent, fell_back)


def _one_message_per_citizen(session: Session, case: Case) -> list[Message]:
    latest: dict[object, Message] = {}
    rows = session.execute(
        select(Message)
        .where(Message.account_id == case.account_id, Message.case_id == case.id, Message.direction == "in")
        .order_by(Message.received_at, Message.id)
    ).scalars()
    for message in rows:
        latest[message.citizen_id or f"message:{message.id}"] = message
    return list(latest.values())


def do_merge_cases(session: Session, actor: Actor, source: Case, target: Case) -> Case:
    """Merge a duplicate case into another: every message moves, the duplicate closes pointing at the target."""
    actor.require_role(source.agency_id, Role.OPERATOR)
    if source.id == target.id or source.agency_id != target.agency_id:
        raise InvalidInput("Choose another case of this agency to merge into.", code="invalid_merge")
    if target.state not in OPEN_STATES:
        raise Conflict("Merge into an open case; reopen it first.", code="target_closed")
    session.execute(update(Message).where(Message.case_id == source.id).values(case_id=target.id))
    target.message_count += source.message_count
    if more_urgent(target.urgency, source.urgency) != target.urgency:
        target.urgency, target.score = source.urgency, source.score
        target.due_at = min(d for d in (target.due_at, source.due_at) if d is not None) if source.due_at else None
    target.updated_at = source.updated_at = utcnow()
    source.state, source.merged_into_id, source.message_count = CaseState.CLOSED, target.id, 0
    if source.assignee_id is not None:
        release(session, source.agency_id, source.assignee_id)
    for case, role in ((source, "from"), (target, "into")):
        record_audit(
            session,
            actor,
            "console:case:merge",
            agency_id=case.agency_id,
            subject_type="case",
            subject_id=case.id,
            data={role: (target if role == "from" else source).ref},
        )
    session.commit()
    return target
