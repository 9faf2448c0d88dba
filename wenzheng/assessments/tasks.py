"""The triage jobs: run the triage library over newly arrived messages, a batch at a time, and store the results.

Intake marks what citizens write as waiting (``Message.triage_pending``) and, once per transaction, queues a job
to assess it; each job assesses waiting messages in batches. Several jobs finding the same work is harmless:
the rows are claimed (``core.claim``). What may be a plea also takes the fast lane (``fast_lane``).

The job depends on the engine:

- PostgreSQL: ``triage.assess``, one batch per job in the job's own transaction; workers claim rows with SKIP
  LOCKED and never wait for one another.
- SQLite has one write lock for everything, which intake needs for every batch of pushes. There
  ``triage.assess_apart`` (a leased task) runs the library in a reader's transaction, which holds no lock, and
  writes the results in short turns, pausing between them, so that intake (and the fast lane's results, which go
  through intake's writer) never waits for more than one turn. One such job is queued at a time; it goes on for
  a second while messages wait, then queues its successor behind the worker's other due jobs.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Sequence
from typing import cast

from sqlalchemy import Table, bindparam, select
from sqlalchemy.orm import Session, SessionTransaction

from wenzheng.assessments.core import claim, compute, forget_cluster_indexes, models, place, store
from wenzheng.assessments.fast_lane import PER_TRANSACTION, fast_lane, flagged
from wenzheng.config import get_settings
from wenzheng.db import utcnow
from wenzheng.jobs.models import Job
from wenzheng.jobs.registry import leased_task, task
from wenzheng.messages.models import Message

__all__ = ["BATCH", "TASK", "TASK_APART", "forget_cluster_indexes", "install_triage_trigger", "mark_pending", "models"]

TASK = "triage.assess"
TASK_APART = "triage.assess_apart"
BATCH = 64
# triage.assess_apart stores a batch in write turns (transactions) of WRITE_TURN_SECONDS or so: it sizes each
# turn from how long the last one took per message, between MIN_TURN messages and the whole batch. Intake waits
# for one turn at most; each turn pays for a commit (an fsync) and a handful of statements, whatever its size.
WRITE_TURN_SECONDS = 0.03
MIN_TURN = 16
TURN_PAUSE_SECONDS = 0.002  # between two turns: longer than a waiting writer's poll (db._begin_immediate)
LEASE_SECONDS = 120.0
RUN_SECONDS = 1.0  # then triage.assess_apart hands over to a successor, queued behind the other due jobs
# PostgreSQL: intake queues a job to run this long after its commit, and queues none while one waits, so that
# each job assesses a batch (not a job per intake commit, a handful of messages each, at a job's cost).
GATHER_SECONDS = 0.05
GATHER_MARGIN_SECONDS = 0.01
PENDING_FLAG = "wz_triage_pending"
FAST_LANE = "wz_triage_fast_lane"  # session.info: ids of flagged messages, for the fast lane after the commit

SessionFactory = Callable[[], Session]


def mark_pending(session: Session, messages: Sequence[Message] = ()) -> None:
    """Called by intake when it stored something citizens wrote: a job will assess it once the transaction
    commits, and the fast lane takes those of ``messages`` that may be about a life in danger at once."""
    session.info[PENDING_FLAG] = True
    if not messages or get_settings().jobs_inline:
        return
    waiting: list[int] = session.info.setdefault(FAST_LANE, [])
    room = PER_TRANSACTION - len(waiting)  # in a flood of pleas, the worker takes the rest
    if room > 0:
        waiting.extend(flagged(messages)[:room])


def _enqueue_on_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a SAVEPOINT released: the outer commit queues the job
    if session.info.pop(PENDING_FLAG, False) and not _already_queued(session):
        _enqueue(session, after=_gather_for(session))


def _fast_lane_on_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return  # only a SAVEPOINT was released: nothing is durable until the outer commit
    message_ids = session.info.pop(FAST_LANE, None)
    if message_ids:
        fast_lane().offer(message_ids)


def _forget_fast_lane(session: Session, _previous: SessionTransaction) -> None:
    if not session.in_transaction():
        session.info.pop(FAST_LANE, None)  # rolled back: those messages were never stored


_JOBS = cast(Table, Job.__table__)
_QUEUED = select(_JOBS.c.id).where(_JOBS.c.state == "queued", _JOBS.c.task.in_((TASK, TASK_APART))).limit(1)
_DUE = _QUEUED.where(_JOBS.c.run_after <= bindparam("now"))
_AHEAD = _QUEUED.where(_JOBS.c.run_after > bindparam("now"))


def _already_queued(session: Session) -> bool:
    """Whether a triage job that will see this transaction's messages is queued already (then another would
    only add work: on SQLite a contender for the one write lock, on PostgreSQL a job per intake commit, each
    paying a job's cost for a handful of messages).

    SQLite: a queued job that is due and has not started (one that has started holds a lease: its ``run_after``
    is ahead). PostgreSQL: a job queued to run a moment from now (``GATHER_SECONDS``) — a due one may be running
    already, past its claim, where this message would wait for the next one."""
    now = utcnow()
    if session.get_bind().dialect.name == "sqlite":
        return session.connection().execute(_DUE, {"now": now}).first() is not None
    ahead = now + dt.timedelta(seconds=GATHER_MARGIN_SECONDS)  # one about to start may miss this commit
    return session.connection().execute(_AHEAD, {"now": ahead}).first() is not None


def _gather_for(session: Session) -> dt.timedelta:
    """On PostgreSQL a job gathers what intake commits for a moment before it runs (inline jobs run at once)."""
    if session.get_bind().dialect.name == "sqlite" or get_settings().jobs_inline:
        return dt.timedelta(0)
    return dt.timedelta(seconds=GATHER_SECONDS)


def _enqueue(session: Session, *, after: dt.timedelta = dt.timedelta(0)) -> None:
    from wenzheng.jobs.queue import enqueue  # the queue imports every task module, this one included

    task_name = TASK_APART if session.get_bind().dialect.name == "sqlite" else TASK
    enqueue(session, task_name, {}, run_after=utcnow() + after)


def install_triage_trigger() -> None:
    from sqlalchemy import event

    if not event.contains(Session, "before_commit", _enqueue_on_commit):
        event.listen(Session, "before_commit", _enqueue_on_commit)
    if not event.contains(Session, "after_commit", _fast_lane_on_commit):
        event.listen(Session, "after_commit", _fast_lane_on_commit)
        event.listen(Session, "after_soft_rollback", _forget_fast_lane)


@task(TASK)
def assess(session: Session, job: Job) -> None:
    """Assess up to a batch of waiting messages in the job's transaction; queue the next batch if more wait."""
    waiting = claim(session, select(Message).limit(BATCH))
    place(session, list(zip(waiting, compute(session, waiting), strict=True)))
    if len(waiting) == BATCH:
        _enqueue(session)


@leased_task(TASK_APART, lease_seconds=LEASE_SECONDS)
def assess_apart(session_factory: SessionFactory, job: Job) -> None:
    """Assess waiting messages a batch at a time, each computed in a reader's transaction and stored in short
    write turns; for up to ``RUN_SECONDS``, then a successor carries on."""
    started = time.monotonic()
    while time.monotonic() - started < RUN_SECONDS:
        if _assess_batch_apart(session_factory) < BATCH:
            return
    with session_factory() as session:
        _enqueue(session)
        session.commit()


def _assess_batch_apart(session_factory: SessionFactory) -> int:
    """One batch: read and compute without the write lock, then store it in turns; returns the batch's size."""
    with session_factory() as session:
        reader = Session(bind=session.get_bind().execution_options(wz_read_only=True), expire_on_commit=False)
    try:
        query = select(Message).where(Message.triage_pending.is_(True)).order_by(Message.id).limit(BATCH)
        waiting = list(reader.execute(query).scalars())
        computed = compute(reader, waiting)
    finally:
        reader.close()
    start = 0
    while start < len(computed):
        if start:
            time.sleep(TURN_PAUSE_SECONDS)  # a writer waiting for the lock takes it now
        size = _turns.size()
        began = time.perf_counter()
        with session_factory() as session:
            store(session, computed[start : start + size])
            session.commit()
        _turns.took(time.perf_counter() - began, len(computed[start : start + size]))
        start += size
    return len(waiting)


class _TurnSizer:
    """How many results a write turn stores: as many as fit in ``WRITE_TURN_SECONDS`` at the pace of the last
    turns (a turn's fixed cost included), within ``MIN_TURN`` and ``BATCH``."""

    def __init__(self) -> None:
        self.per_message = WRITE_TURN_SECONDS / MIN_TURN  # seconds a message costs, turn included

    def size(self) -> int:
        return max(MIN_TURN, min(BATCH, int(WRITE_TURN_SECONDS / self.per_message)))

    def took(self, seconds: float, messages: int) -> None:
        if messages:
            self.per_message = 0.5 * self.per_message + 0.5 * seconds / messages


_turns = _TurnSizer()
