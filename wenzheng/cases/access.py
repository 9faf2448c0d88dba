"""Reaching cases: scoped by the actor's agencies, 404 for anyone else's."""

from __future__ import annotations

import datetime as dt
import json
import statistics
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Integer, Select, String, case, cast, func, literal_column, or_, select, table
from sqlalchemy.orm import Session

from wenzheng.assessments.models import Assessment
from wenzheng.cases.limits import SOON
from wenzheng.cases.models import Case
from wenzheng.cases.states import OPEN_STATES, URGENCY_ORDER
from wenzheng.db import get_engine, utcnow
from wenzheng.errors import NotFound
from wenzheng.messages.models import Message
from wenzheng.staff.actor import Actor
from wenzheng.staff.roles import Role

QUEUE_PAGE = 200
_TRIGRAM = 3  # the shortest text a trigram index can find
RARE_MATCHES = 1000  # cases a searched word may name and still be read by id
TEXT_COUNT_CAP = 5000  # matches of a text search counted exactly; beyond, the counts say "at least"
MORE = "more"  # the key queue_counts sets when a count stopped at the cap


def access_case_by_id(session: Session, actor: Actor, case_id: int, *, minimum: Role = Role.VIEWER) -> Case:
    case = session.get(Case, case_id)
    if case is None or not actor.can_see(case.agency_id):
        raise NotFound("No such case.")
    actor.require_role(case.agency_id, minimum)
    return case


@dataclass(frozen=True)
class QueueFilter:
    state: str = "open"
    urgency: str = ""
    mine: bool = False
    department_id: int | None = None
    intent: str = ""
    text: str = ""
    channel: str = ""  # the channel the case's first message came by
    hours: int = 0  # opened within the last hours; 0: any time
    assignee_id: int | None = None
    region: str = ""  # a division or place name triage found in the first message (芦山县, 龙门乡 …)


def queue_of_agency(session: Session, actor: Actor, agency_id: int, wanted: QueueFilter | None = None) -> list[Case]:
    """The agency's cases, most urgent first, then the highest score, then the oldest (waiting longest)."""
    actor.require_role(agency_id, Role.VIEWER)
    query = _filtered(session, select(Case).where(Case.agency_id == agency_id), actor, wanted or QueueFilter())
    # "P0" < "P1" < "P2" < "P3" as text; the order of ix_cases_queue_order, so the page is read off the index.
    query = query.order_by(Case.urgency, Case.score.desc(), Case.created_at, Case.id).limit(QUEUE_PAGE)
    return list(session.execute(query).scalars())


def queue_counts(session: Session, actor: Actor, agency_id: int, wanted: QueueFilter) -> dict[str, int]:
    """How many cases the other filters leave at each urgency (shown beside the urgency filter)."""
    actor.require_role(agency_id, Role.VIEWER)
    without_urgency = QueueFilter(**{**wanted.__dict__, "urgency": ""})
    if wanted.text or wanted.region:
        return _capped_counts(session, actor, agency_id, without_urgency)
    # Grouped by state too, so that the (agency, [filter,] state, urgency) indexes cover the count.
    query = select(Case.state, Case.urgency, func.count()).where(Case.agency_id == agency_id)
    rows = session.execute(_filtered(session, query, actor, without_urgency).group_by(Case.state, Case.urgency)).all()
    counts: dict[str, int] = {}
    for _state, urgency, count in rows:
        counts[urgency or "—"] = counts.get(urgency or "—", 0) + count
    return counts


def _capped_counts(session: Session, actor: Actor, agency_id: int, wanted: QueueFilter) -> dict[str, int]:
    """A text search reads every case's summary: count the first TEXT_COUNT_CAP matches, and say when there are more."""
    matches = _filtered(session, select(Case.urgency).where(Case.agency_id == agency_id), actor, wanted)
    found = matches.limit(TEXT_COUNT_CAP + 1).subquery()
    rows = session.execute(select(found.c.urgency, func.count()).group_by(found.c.urgency)).all()
    counts = {urgency or "—": count for urgency, count in rows}
    if sum(counts.values()) > TEXT_COUNT_CAP:
        counts[MORE] = 1
    return counts


def _filtered(session: Session, query: Select[Any], actor: Actor, wanted: QueueFilter) -> Select[Any]:
    if wanted.state == "open":
        query = query.where(Case.state.in_([s.value for s in OPEN_STATES]))
    elif wanted.state:
        query = query.where(Case.state == wanted.state)
    if wanted.urgency in URGENCY_ORDER:
        query = query.where(Case.urgency == wanted.urgency)
    if wanted.mine:
        query = query.where(Case.assignee_id == actor.user_id)
    if wanted.department_id:
        query = query.where(Case.department_id == wanted.department_id)
    if wanted.intent:
        query = query.where(Case.intent == wanted.intent)
    if wanted.text:
        query = query.where(_has_words(session, wanted.text))
    if wanted.channel:
        first = select(Message.id).where(Message.id == Case.first_message_id, Message.channel == wanted.channel)
        query = query.where(first.exists())
    if wanted.hours > 0:
        query = query.where(Case.created_at >= utcnow() - dt.timedelta(hours=wanted.hours))
    if wanted.assignee_id:
        query = query.where(Case.assignee_id == wanted.assignee_id)
    if wanted.region:
        query = query.where(_in_region(wanted.region))
    return query


def _has_words(session: Session, words: str) -> ColumnElement[bool]:
    """Cases whose summary contains ``words``, or whose reference they are.

    A rare word is looked up in the trigram index first (migration 0015) and the cases it names are read by id:
    the queue's order index would otherwise be walked through every case to find the few that match. A common
    word (more than RARE_MATCHES cases) keeps the plain condition, which that walk satisfies within the first
    page; so do words too short for a trigram (龙门).
    """
    if len(words) >= _TRIGRAM:
        found = list(session.scalars(summary_contains(words).limit(RARE_MATCHES + 1)))
        if len(found) <= RARE_MATCHES:
            return Case.id.in_([*found, *session.scalars(select(Case.id).where(Case.ref == words))])
    return or_(Case.summary.contains(words, autoescape=True), Case.ref == words)


def summary_contains(words: str) -> Select[tuple[int]]:
    """The ids of cases (of every agency) whose summary contains ``words``, through the trigram index: FTS5 on
    SQLite, for three characters or more; on PostgreSQL LIKE itself uses pg_trgm's index."""
    if len(words) >= _TRIGRAM and get_engine().dialect.name == "sqlite":
        phrase = '"' + words.replace('"', '""') + '"'  # one FTS5 phrase: the words as they are, quotes doubled
        found = select(literal_column("rowid", Integer)).select_from(table("cases_summary_fts"))
        return found.where(literal_column("cases_summary_fts").op("MATCH")(phrase))
    return select(Case.id).where(Case.summary.contains(words, autoescape=True))


def _in_region(name: str) -> ColumnElement[bool]:
    """The case's first message names the place: in triage's places (divisions and free-form phrases).

    The places are JSON text as json.dumps writes it (non-ASCII escaped), so the name is matched escaped alike.
    """
    escaped = json.dumps(name)[1:-1].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return (
        select(Assessment.id)
        .where(Assessment.message_id == Case.first_message_id)
        .where(cast(Assessment.places, String).like(f"%{escaped}%", escape="\\"))
        .exists()
    )


def messages_of_case(session: Session, case: Case) -> list[Message]:
    """The case's messages. Scoped by the case's account rather than its agency: a case transferred to another
    agency keeps the messages of the account the citizen wrote to, visible there through the case only."""
    return list(
        session.execute(
            select(Message)
            .where(Message.account_id == case.account_id, Message.case_id == case.id)
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


@dataclass(frozen=True)
class Workload:
    assignee_id: int | None
    open_cases: int
    overdue: int


def workload_of_agency(session: Session, actor: Actor, agency_id: int, *, now: dt.datetime) -> list[Workload]:
    """Open cases per person (None: nobody yet), with how many are past their limit — for supervisors."""
    actor.require_role(agency_id, Role.SUPERVISOR)
    overdue = func.sum(case((Case.due_at <= now, 1), else_=0))
    rows = session.execute(
        select(Case.assignee_id, func.count(), overdue)
        .where(Case.agency_id == agency_id, Case.state.in_([s.value for s in OPEN_STATES]))
        .group_by(Case.assignee_id)
        .order_by(func.count().desc())
    ).all()
    return [Workload(assignee, count, int(late or 0)) for assignee, count, late in rows]


def median_minutes(session: Session, actor: Actor, agency_id: int, *, since: dt.datetime) -> dict[str, float | None]:
    """Median minutes from a case's opening to its first answer and to its resolution, over cases since ``since``."""
    actor.require_role(agency_id, Role.SUPERVISOR)
    rows = session.execute(
        select(Case.created_at, Case.first_answered_at, Case.resolved_at)
        .where(Case.agency_id == agency_id, Case.created_at >= since)
        .limit(20_000)
    ).all()
    answered = [(a - c).total_seconds() / 60 for c, a, _r in rows if a is not None]
    resolved = [(r - c).total_seconds() / 60 for c, _a, r in rows if r is not None]
    return {
        "first_answer": statistics.median(answered) if answered else None,
        "resolution": statistics.median(resolved) if resolved else None,
    }
