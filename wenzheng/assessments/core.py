"""Assessing messages: the triage library run over a batch, and its results stored with the messages in their cases.

Two halves, so that callers can keep the expensive one away from the database's write lock:

- ``compute(session, messages)`` reads (the agency's routing rules and departments, the account's near-duplicate
  index) and runs the library; it writes nothing, so on SQLite it can run in a reader's transaction.
- ``store(session, computed)`` claims the messages that are still waiting, exactly as a triage job claims them
  (SKIP LOCKED on PostgreSQL; on SQLite the writing transaction is the only writer), adds their assessments,
  places them in cases and clears the mark. A message someone else assessed meanwhile is passed over.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, cast

from sqlalchemy import Select, Table, bindparam, func, insert, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, load_only
from sqlalchemy.orm.attributes import set_committed_value

from wenzheng.agencies.models import Agency, Department
from wenzheng.assessments.models import Assessment
from wenzheng.cases.actions import place_in_cases
from wenzheng.db import session_scope, utcnow
from wenzheng.messages.models import Message
from wenzheng.routing.actions import triage_rules
from wenzheng.triage import (
    ClusterIndex,
    TriageInput,
    TriageModels,
    TriageResult,
    known_countries,
    load_models,
    triage_batch,
)
from wenzheng.triage.world import load_towns

CLUSTER_DAYS = 3  # near-duplicates are looked for across this many days of an account
WARM_LIMIT = 20_000
# What an index learns from assessments stored by other processes (workers, the fast lane): the levels that a
# plea's copies have. Cheap to read, and what keeps a plea forwarded 300 times in one case whoever assessed it.
SYNC_URGENCIES = ("P0", "P1")


@dataclass(slots=True)
class Computed:
    """Triage's result for one message as ``compute`` gives it: the row of its ``Assessment``, not yet stored
    (plain data: cheaper than a mapped object, which nothing reads back)."""

    agency_id: int
    account_id: int
    message_id: int
    lang: str
    normalized: str
    spam: bool
    intent: str
    urgency: str
    score: float
    cues: list[str]
    places: list[dict[str, Any]]
    phones: list[str]
    people: dict[str, Any]
    cluster: str | None
    department_name: str | None
    department_id: int | None
    department_confidence: float
    model_version: str

    def row(self) -> dict[str, Any]:
        """The ``assessments`` row (without its id and time)."""
        return {name: getattr(self, name) for name in _FIELDS}


_FIELDS = Computed.__slots__


@dataclass
class _AccountIndex:
    index: ClusterIndex
    synced_through: int  # the largest assessment id looked at


log = logging.getLogger(__name__)
_indexes: dict[int, _AccountIndex] = {}
# One triage at a time per process: the cluster indexes are not thread-safe, and a process may triage in more
# than one thread (the fast lane next to an inline job in tests, say).
_triage_lock = threading.Lock()


@lru_cache(maxsize=1)
def models() -> TriageModels:
    return load_models()


def warm_towns() -> int:
    """Index the towns of every agency's countries now, so that the first English message after a start does not
    wait for GeoNames' file to be read (≈ 0.4 s); returns how many countries. A database that cannot be read yet
    is not an error here: the towns are then indexed with the first batch that needs them."""
    try:
        with session_scope() as session:
            stored = session.execute(select(Agency.place_countries)).scalars().all()
    except SQLAlchemyError:
        log.warning("towns for English place names not indexed at start: the database could not be read")
        return 0
    combinations = {tuple(_usable(countries)) for countries in stored}
    for wanted in combinations - {()}:
        load_towns(wanted)  # GeoNames' file is read once for all of them; each combination is indexed
    return len({code for wanted in combinations for code in wanted})


def claim(session: Session, query: Select[tuple[Message]]) -> list[Message]:
    """The messages of ``query`` still waiting for triage, locked against other workers (SKIP LOCKED on
    PostgreSQL; on SQLite this transaction is the only writer)."""
    query = query.where(Message.triage_pending.is_(True)).order_by(Message.id)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return list(session.execute(query).scalars())


def compute(session: Session, messages: Sequence[Message]) -> list[Computed]:
    """Each message's assessment (not stored), in order; reads only."""
    by_account: dict[int, list[Message]] = {}
    for message in messages:
        by_account.setdefault(message.account_id, []).append(message)
    assessed: dict[int, Computed] = {}
    for account_id, batch in by_account.items():
        inputs = [
            TriageInput(id=str(m.id), text=m.text or m.location_label or "", received_at=m.received_at) for m in batch
        ]
        rules = triage_rules(session, batch[0].agency_id)
        countries = _place_countries(session, batch[0].agency_id)
        with _triage_lock:
            index = _cluster_index(session, account_id)
            results = triage_batch(inputs, rules=rules, cluster_index=index, models=models(), countries=countries)
        departments = _departments(session, batch[0].agency_id)
        for message, result in zip(batch, results, strict=True):
            assessed[message.id] = _assessment(message, result, departments)
    return [assessed[message.id] for message in messages]


def _place_countries(session: Session, agency_id: int) -> list[str]:
    """The agency's countries for English place names (set through ``do_set_place_countries``, so known codes;
    a code GeoNames has since dropped is skipped rather than stopping triage)."""
    stored = session.execute(select(Agency.place_countries).where(Agency.id == agency_id)).scalar_one_or_none()
    return _usable(stored)


def _usable(countries: Sequence[str] | None) -> list[str]:
    known = known_countries()
    return [code for code in countries or [] if code in known]


def store(session: Session, computed: Sequence[Computed]) -> int:
    """Store what ``compute`` gave for the messages still waiting (claimed now); returns how many."""
    by_message = {assessment.message_id: assessment for assessment in computed}
    waiting = claim(session, _TO_STORE.params(ids=list(by_message)))
    place(session, [(message, by_message[message.id]) for message in waiting])
    return len(waiting)


def place(session: Session, pairs: Sequence[tuple[Message, Computed]]) -> None:
    """Add the assessments of claimed messages, place the messages in cases, and clear their mark."""
    if not pairs:
        return
    now = utcnow()
    session.execute(insert(_ASSESSMENTS), [{**assessment.row(), "assessed_at": now} for _m, assessment in pairs])
    place_in_cases(session, pairs)
    ids = [message.id for message, _assessment in pairs]
    session.execute(update(_MESSAGES).where(_MESSAGES.c.id.in_(ids)).values(triage_pending=False))
    for message, _assessment in pairs:  # the loaded messages say so too, without an UPDATE of their own
        set_committed_value(message, "triage_pending", False)


_MESSAGES = cast(Table, Message.__table__)
_ASSESSMENTS = cast(Table, Assessment.__table__)
# What placing reads of a message: its payload and reply (JSON) stay in the database.
_TO_STORE = (
    select(Message)
    .options(
        load_only(
            Message.agency_id,
            Message.account_id,
            Message.citizen_id,
            Message.direction,
            Message.parent_id,
            Message.case_id,
            Message.ref,
            Message.text,
            Message.location_label,
            Message.triage_pending,
        )
    )
    .where(Message.id.in_(bindparam("ids", expanding=True)))
)


def _assessment(message: Message, result: TriageResult, departments: dict[str, int]) -> Computed:
    return Computed(
        agency_id=message.agency_id,
        account_id=message.account_id,
        message_id=message.id,
        lang=result.lang,
        normalized=result.normalized,
        spam=result.spam,
        intent=result.intent,
        urgency=result.urgency,
        score=result.score,
        cues=list(result.cues),
        places=[place.to_dict() for place in result.places],
        phones=list(result.phones),
        people=result.people.to_dict(),
        cluster=result.cluster,
        department_name=result.department,
        department_id=departments.get(result.department or ""),
        department_confidence=result.department_confidence,
        model_version=result.model_version,
    )


def _departments(session: Session, agency_id: int) -> dict[str, int]:
    rows = session.execute(select(Department.name, Department.id).where(Department.agency_id == agency_id)).all()
    return {name: department_id for name, department_id in rows}


def _cluster_index(session: Session, account_id: int) -> ClusterIndex:
    """This process's near-duplicate index of the account (under ``_triage_lock``), warmed from stored results
    after a restart, and told before each batch of the pleas that other processes have assessed since."""
    entry = _indexes.get(account_id)
    if entry is None:
        entry = _indexes[account_id] = _warm(session, account_id)
    else:
        _sync(session, account_id, entry)
    return entry.index


def _warm(session: Session, account_id: int) -> _AccountIndex:
    index = ClusterIndex()
    since = utcnow() - dt.timedelta(days=CLUSTER_DAYS)
    newest = _newest_assessment(session)
    rows = session.execute(
        select(Assessment.message_id, Assessment.normalized, Message.received_at)
        .join(Message, Message.id == Assessment.message_id)
        .where(Assessment.account_id == account_id, Message.received_at >= since, Assessment.id <= newest)
        .order_by(Assessment.message_id.desc())
        .limit(WARM_LIMIT)
    ).all()
    # The most recent ones, oldest first.
    index.assign_many(
        [(str(message_id), normalized or "", received_at) for message_id, normalized, received_at in reversed(rows)]
    )
    return _AccountIndex(index, newest)


def _sync(session: Session, account_id: int, entry: _AccountIndex) -> None:
    newest = _newest_assessment(session)
    if newest <= entry.synced_through:
        return
    rows = session.execute(
        select(Assessment.message_id, Assessment.normalized, Message.received_at)
        .join(Message, Message.id == Assessment.message_id)
        .where(Assessment.id > entry.synced_through, Assessment.id <= newest)
        .where(Assessment.account_id == account_id, Assessment.urgency.in_(SYNC_URGENCIES))
        .order_by(Assessment.id)
    ).all()
    # A message this index assigned itself keeps its cluster.
    entry.index.assign_many(
        [(str(message_id), normalized or "", received_at) for message_id, normalized, received_at in rows]
    )
    entry.synced_through = newest


def _newest_assessment(session: Session) -> int:
    return int(session.execute(select(func.max(Assessment.id))).scalar() or 0)


def forget_cluster_indexes() -> None:
    """Drop this process's indexes (tests, and after an account's history was erased)."""
    with _triage_lock:
        _indexes.clear()
