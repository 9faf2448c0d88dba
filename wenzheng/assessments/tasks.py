"""The triage job: run the triage library over newly arrived messages, a batch at a time, and store the results.

Intake marks what citizens write as waiting (``Message.triage_pending``) and enqueues one ``triage.assess``
job per transaction; each job assesses up to a batch of waiting messages and enqueues a successor while more
wait. Several jobs finding the same work is harmless: the rows are claimed (SKIP LOCKED on PostgreSQL).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Sequence
from functools import lru_cache

from sqlalchemy import event, select, update
from sqlalchemy.orm import Session

from wenzheng.agencies.models import Department
from wenzheng.assessments.models import Assessment
from wenzheng.cases.actions import place_in_cases
from wenzheng.db import utcnow
from wenzheng.jobs.models import Job
from wenzheng.jobs.registry import task
from wenzheng.messages.models import Message
from wenzheng.routing.actions import triage_rules
from wenzheng.triage import ClusterIndex, TriageInput, TriageModels, TriageResult, load_models, triage_batch

TASK = "triage.assess"
BATCH = 64
CLUSTER_DAYS = 3  # near-duplicates are looked for across this many days of an account
WARM_LIMIT = 20_000
PENDING_FLAG = "wz_triage_pending"

_indexes: dict[int, ClusterIndex] = {}
_indexes_lock = threading.Lock()


@lru_cache(maxsize=1)
def models() -> TriageModels:
    return load_models()


def mark_pending(session: Session) -> None:
    """Called by intake when it stored something a citizen wrote: one job per transaction will assess it."""
    session.info[PENDING_FLAG] = True


def _enqueue_on_commit(session: Session) -> None:
    if session.info.pop(PENDING_FLAG, False) and not _already_queued(session):
        _enqueue(session)


def _already_queued(session: Session) -> bool:
    """On SQLite a queued assess job will see this message too, so another would only compete for the one
    write lock (starving intake). Not on PostgreSQL: a queued-looking job may already be running there, past
    its claim, and this message would wait for the next one."""
    if session.get_bind().dialect.name != "sqlite":
        return False
    queued = select(Job.id).where(Job.task == TASK, Job.state == "queued").limit(1)
    return session.execute(queued).first() is not None


def _enqueue(session: Session) -> None:
    from wenzheng.jobs.queue import enqueue  # the queue imports every task module, this one included

    enqueue(session, TASK, {})


def install_triage_trigger() -> None:
    if not event.contains(Session, "before_commit", _enqueue_on_commit):
        event.listen(Session, "before_commit", _enqueue_on_commit)


@task(TASK)
def assess(session: Session, job: Job) -> None:
    """Assess up to a batch of waiting messages; queue the next batch if more are waiting."""
    waiting = _claim(session)
    by_account: dict[int, list[Message]] = {}
    for message in waiting:
        by_account.setdefault(message.account_id, []).append(message)
    for account_id, messages in by_account.items():
        _assess_account(session, account_id, messages)
    if len(waiting) == BATCH:
        _enqueue(session)


def _claim(session: Session) -> list[Message]:
    query = select(Message).where(Message.triage_pending.is_(True)).order_by(Message.id).limit(BATCH)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return list(session.execute(query).scalars())


def _assess_account(session: Session, account_id: int, messages: Sequence[Message]) -> None:
    index = _cluster_index(session, account_id)
    inputs = [
        TriageInput(id=str(m.id), text=m.text or m.location_label or "", received_at=m.received_at) for m in messages
    ]
    rules = triage_rules(session, messages[0].agency_id)
    results = triage_batch(inputs, rules=rules, cluster_index=index, models=models())
    departments = _departments(session, messages[0].agency_id)
    pairs = [
        (message, _assessment(message, result, departments)) for message, result in zip(messages, results, strict=True)
    ]
    session.add_all([assessment for _message, assessment in pairs])
    place_in_cases(session, pairs)
    session.execute(update(Message).where(Message.id.in_([m.id for m in messages])).values(triage_pending=False))


def _assessment(message: Message, result: TriageResult, departments: dict[str, int]) -> Assessment:
    contract = result.to_dict()
    return Assessment(
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
        places=contract["places"],
        phones=list(result.phones),
        people=contract["people"],
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
    """This process's near-duplicate index of the account, warmed from stored results after a restart."""
    with _indexes_lock:
        if account_id in _indexes:
            return _indexes[account_id]
        index = ClusterIndex()
        since = utcnow() - dt.timedelta(days=CLUSTER_DAYS)
        rows = session.execute(
            select(Assessment.message_id, Assessment.normalized, Message.received_at)
            .join(Message, Message.id == Assessment.message_id)
            .where(Assessment.account_id == account_id, Message.received_at >= since)
            .order_by(Assessment.message_id)
            .limit(WARM_LIMIT)
        ).all()
        for message_id, normalized, received_at in rows:
            if normalized:
                index.assign(str(message_id), normalized, received_at)
        _indexes[account_id] = index
        return index


def forget_cluster_indexes() -> None:
    """Drop this process's indexes (tests, and after an account's history was erased)."""
    with _indexes_lock:
        _indexes.clear()
