"""Cases: placed automatically after triage (one per duplicate cluster, follow-ups joining their open case),
then assigned, answered, resolved and closed by people — every step audited."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol, cast

from sqlalchemy import Table, bindparam, func, insert, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from wenzheng.agencies.models import Agency
from wenzheng.audit.actions import record_audit
from wenzheng.cases.assign import fill_departments, release
from wenzheng.cases.calendar import calendar_of
from wenzheng.cases.followup import ask_for_rating, awaits_rating, rated_cases_of, rates_through, rating_in
from wenzheng.cases.limits import P0_LIMIT, WorkingCalendar, due_at
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
DEFAULT_TZ = "Asia/Shanghai"


class Assessed(Protocol):
    """What placing reads of a message's assessment (``assessments.core.Computed``, or a stored ``Assessment``)."""

    @property
    def spam(self) -> bool: ...
    @property
    def urgency(self) -> str: ...
    @property
    def score(self) -> float: ...
    @property
    def intent(self) -> str: ...
    @property
    def cluster(self) -> str | None: ...
    @property
    def department_id(self) -> int | None: ...


def place_in_cases(session: Session, pairs: Sequence[tuple[Message, Assessed]]) -> list[int]:
    """Put each assessed message in a case (the worker's half, in its transaction); returns the ids of the cases
    touched.

    Each message, in order, joins the case it continues (``_Batch.case_to_join``) or opens one, exactly as if
    they were placed one after another — two copies of a new plea in one batch share the case the first opened,
    a citizen's second message joins the case their first opened — but set-based: a handful of queries for the
    whole batch (the parents' cases, the open cases of its clusters, its citizens' recent open cases; one per lone
    digit, which may be a rating), the new cases inserted with one statement, each joined case updated once, the
    messages' cases set with one statement, and one audit event per touched case."""
    placing = [(message, assessment) for message, assessment in pairs if not assessment.spam]
    # Spam is kept, and visible among the flagged, but nobody's work.
    if not placing:
        return []
    batch = _Batch.load(session, placing)
    touched: dict[int, tuple[AnyCase, list[int]]] = {}  # by id(case): new cases have no id until inserted
    with session.no_autoflush:  # nothing is written until every message has its case
        for message, assessment in placing:
            case = batch.case_to_join(message, assessment)
            if case is None:
                case = batch.open_case(message, assessment)
            else:
                _join(case, assessment)
            batch.placed(message, case)
            touched.setdefault(id(case), (case, []))[1].append(message.id)
    _insert_cases(session, batch.opened)
    session.flush()  # each joined case's UPDATE
    _set_cases(session, batch.placements)
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
    if routed := [case for case in batch.opened if case.department_id]:
        # 派单 by routing: round-robin to whoever of the department is on duty (cases.assign)
        fill_departments(session, routed[0].agency_id, {case.department_id for case in routed})
    return [cast(int, case.id) for case, _ids in touched.values()]


@dataclass(eq=False)
class _NewCase:
    """A case opened by this batch, until it is inserted (later messages of the batch may join it)."""

    agency_id: int
    account_id: int
    ref: str
    first_message_id: int
    citizen_id: int | None
    state: str
    urgency: str
    score: float
    intent: str | None
    cluster: str | None
    summary: str
    department_id: int | None
    created_at: dt.datetime
    updated_at: dt.datetime
    due_at: dt.datetime | None = None
    message_count: int = 1
    id: int | None = None
    rating_requested_at: dt.datetime | None = None  # never asked yet: what the rating rules read

    def row(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in _NEW_CASE_COLUMNS}


AnyCase = Case | _NewCase
_NEW_CASE_COLUMNS = (
    "agency_id",
    "account_id",
    "ref",
    "first_message_id",
    "citizen_id",
    "state",
    "urgency",
    "score",
    "intent",
    "cluster",
    "summary",
    "department_id",
    "created_at",
    "updated_at",
    "due_at",
    "message_count",
)
_CASES = cast(Table, Case.__table__)
_INSERT_CASES = insert(_CASES).returning(_CASES.c.id, sort_by_parameter_order=True)
_LARGEST_CASE_ID = select(func.max(_CASES.c.id))
_MESSAGES = cast(Table, Message.__table__)
_SET_CASE = update(_MESSAGES).where(_MESSAGES.c.id == bindparam("m_id")).values(case_id=bindparam("c_id"))
_OPEN_CASES = select(Case).where(
    Case.account_id.in_(bindparam("accounts", expanding=True)), Case.state.in_([s.value for s in OPEN_STATES])
)
_BY_CLUSTER = _OPEN_CASES.where(Case.cluster.in_(bindparam("keys", expanding=True))).order_by(Case.id)
_BY_CITIZEN = _OPEN_CASES.where(Case.citizen_id.in_(bindparam("keys", expanding=True))).where(
    Case.updated_at >= bindparam("since")
)
_PARENTS = (
    select(Message.id, Case)
    .join(Case, Case.id == Message.case_id)
    .where(Message.id.in_(bindparam("keys", expanding=True)))
)
_TIMEZONE = select(Agency.timezone).where(Agency.id == bindparam("agency_id"))
_IN_CHUNK = 500  # values per IN (…): well under every engine's limit on bound parameters


def _chunks(values: Iterable[Any]) -> Iterator[list[Any]]:
    ordered = sorted(set(values))
    for start in range(0, len(ordered), _IN_CHUNK):
        yield ordered[start : start + _IN_CHUNK]


class _Batch:
    """What placing a batch needs to know, read with a few queries before it starts, and kept up to date in
    memory as it places each message — the state the database would show had each message been placed and
    written in turn."""

    def __init__(self, now: dt.datetime, since: dt.datetime) -> None:
        self.now, self.since = now, since
        self.rated: dict[int, Case] = {}  # a lone digit's message id → the case it rates, by the database
        self.parents: dict[int, Case] = {}  # a parent message id → its case, by the database
        self.by_cluster: dict[tuple[int, str], AnyCase] = {}  # (account, cluster) → its open case of lowest id
        self.by_citizen: dict[tuple[int, int], dict[int, AnyCase]] = {}  # (account, citizen) → cases by id(case)
        self.placements: list[tuple[Message, AnyCase]] = []
        self.case_of: dict[int, AnyCase] = {}  # message id → the case this batch placed it in
        self.opened: list[_NewCase] = []
        self.timezones: dict[int, str] = {}
        self.calendars: dict[int, WorkingCalendar] = {}

    @classmethod
    def load(cls, session: Session, pairs: Sequence[tuple[Message, Assessed]]) -> _Batch:
        messages = [message for message, _assessment in pairs]
        now = utcnow()
        batch = cls(now, now - dt.timedelta(hours=get_settings().case_follow_up_hours))
        batch.rated = rated_cases_of(session, messages)
        for keys in _chunks(m.parent_id for m in messages if m.parent_id is not None):
            batch.parents.update({message_id: case for message_id, case in session.execute(_PARENTS, {"keys": keys})})
        # By account, not agency: a case transferred to another agency (cases.transfer) still gathers what its
        # citizens write to the account they wrote to.
        accounts = sorted({m.account_id for m in messages})
        for keys in _chunks(assessment.cluster for _message, assessment in pairs if assessment.cluster):
            for case in session.execute(_BY_CLUSTER, {"accounts": accounts, "keys": keys}).scalars():
                batch.by_cluster.setdefault((case.account_id, cast(str, case.cluster)), case)
        for keys in _chunks(m.citizen_id for m in messages if m.citizen_id is not None):
            params = {"accounts": accounts, "keys": keys, "since": batch.since}
            for case in session.execute(_BY_CITIZEN, params).scalars():
                batch.note(case)
        for agency_id in sorted({m.agency_id for m in messages}):
            batch.timezones[agency_id] = session.execute(_TIMEZONE, {"agency_id": agency_id}).scalar() or DEFAULT_TZ
            batch.calendars[agency_id] = calendar_of(session, agency_id)
        return batch

    def case_to_join(self, message: Message, assessment: Assessed) -> AnyCase | None:
        """The case this message continues: the resolved case a lone digit rates (cases.followup), its
        conversation's, the open case of its duplicate cluster, or its sender's recently updated open one."""
        rated = self._rated(message)
        if rated is not None:
            return rated
        if message.parent_id is not None:
            parent_case = self.case_of.get(message.parent_id) or self.parents.get(message.parent_id)
            if parent_case is not None:
                return parent_case
        if assessment.cluster:
            found = self.by_cluster.get((message.account_id, assessment.cluster))
            if found is not None and found.state in OPEN_STATES:
                return found
        if message.citizen_id is not None:
            candidates = self.by_citizen.get((message.account_id, message.citizen_id), {}).values()
            recent = [c for c in candidates if c.state in OPEN_STATES and c.updated_at >= self.since]
            if recent:
                return max(recent, key=lambda c: (c.updated_at, c.id or 0))
        return None

    def _rated(self, message: Message) -> AnyCase | None:
        if rating_in(message.text) is None:
            return None
        candidates: list[AnyCase] = [self.rated[message.id]] if message.id in self.rated else []
        # A message placed earlier in this batch may reach a case the database cannot show this one yet.
        candidates += [
            case
            for earlier, case in self.placements
            if isinstance(case, Case) and rates_through(message, earlier) and awaits_rating(case, self.now)
        ]
        if not candidates:
            return None
        return max(candidates, key=lambda c: cast(dt.datetime, c.rating_requested_at))

    def open_case(self, message: Message, assessment: Assessed) -> _NewCase:
        opened_at = utcnow()
        case = _NewCase(
            agency_id=message.agency_id,
            account_id=message.account_id,
            ref=message.ref or f"case-{message.id}",
            first_message_id=message.id,
            citizen_id=message.citizen_id,
            state=(CaseState.DISPATCHED if assessment.department_id else CaseState.RECEIVED).value,
            urgency=assessment.urgency,
            score=assessment.score,
            intent=assessment.intent,
            cluster=assessment.cluster,
            summary=(message.text or message.location_label or "")[:200],
            department_id=assessment.department_id,
            created_at=opened_at,
            updated_at=opened_at,
        )
        case.due_at = due_at(
            urgency=case.urgency,
            intent=case.intent,
            opened_at=opened_at,
            timezone=self.timezones[case.agency_id],
            calendar=self.calendars[case.agency_id],
        )
        self.opened.append(case)
        if case.cluster:
            self.by_cluster.setdefault((case.account_id, case.cluster), case)
        return case

    def placed(self, message: Message, case: AnyCase) -> None:
        self.placements.append((message, case))
        self.case_of[message.id] = case
        self.note(case)

    def note(self, case: AnyCase) -> None:
        """A case its citizen's next message may join (once it is recent enough and open)."""
        if case.citizen_id is not None:
            self.by_citizen.setdefault((case.account_id, case.citizen_id), {})[id(case)] = case


def _insert_cases(session: Session, opened: Sequence[_NewCase]) -> None:
    """The batch's new cases with one statement, as they stand once the batch has joined them, and their ids.

    PostgreSQL returns the ids in the rows' order from one multi-row INSERT. SQLite cannot promise that order
    (SQLAlchemy would insert row by row), but there this transaction began IMMEDIATE and is the only writer:
    the ids after the largest are free, as SQLite's own choice would be, and go in with the rows."""
    if not opened:
        return
    if session.get_bind().dialect.name == "sqlite":
        largest = session.execute(_LARGEST_CASE_ID).scalar() or 0
        for offset, case in enumerate(opened, 1):
            case.id = largest + offset
        session.execute(insert(_CASES), [{**case.row(), "id": case.id} for case in opened])
        return
    ids = session.execute(_INSERT_CASES, [case.row() for case in opened]).scalars().all()
    for case, case_id in zip(opened, ids, strict=True):
        case.id = case_id


def _set_cases(session: Session, placements: Sequence[tuple[Message, AnyCase]]) -> None:
    """Each message's case, with one statement; the loaded messages say so too, without an UPDATE of their own."""
    session.execute(_SET_CASE, [{"m_id": message.id, "c_id": case.id} for message, case in placements])
    for message, case in placements:
        set_committed_value(message, "case_id", case.id)


def _join(case: AnyCase, assessment: Assessed) -> None:
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
