"""The intake writer: one thread per process writes what the channels accept, many pushes per commit.

Letting every request thread fight for SQLite's write lock makes them sleep in its busy handler; one
writer that drains whatever has queued up and commits it together (group commit) is both faster and
fairer. Consecutive pushes handed over as data (``submit_accept``) are stored set-based, with a handful of
statements for the whole run (``intake.actions.accept_many``); other work (``submit``) runs in a SAVEPOINT
of its own, so that its failure spoils nothing else. If the batch fails anyway, it is rolled back and run
again one item at a time, each in its own SAVEPOINT, so one bad push never spoils its neighbours. No caller
is answered before the commit that holds its message has returned.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from sqlalchemy.orm import Session

from wenzheng import db
from wenzheng.intake.actions import Accepted, AcceptRequest, accept_many

log = logging.getLogger(__name__)
T = TypeVar("T")
Work = Callable[[Session], Any]


@dataclass(frozen=True, slots=True)
class _Awaited:
    """A caller awaiting on an event loop: settled from that loop, a whole batch's worth in one call."""

    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Any]


Item = tuple[Work | AcceptRequest, Future[Any] | _Awaited]
MAX_BATCH = 256


class IntakeWriter:
    def __init__(self, *, max_batch: int = MAX_BATCH) -> None:
        self.max_batch = max_batch
        self._queue: queue.SimpleQueue[Item] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="wenzheng-intake-writer", daemon=True)
        self._thread.start()

    def submit(self, work: Callable[[Session], T]) -> Future[T]:
        """Run ``work(session)`` in the next batch; the future resolves after that batch has committed."""
        future: Future[T] = Future()
        self._queue.put((work, future))
        return future

    def submit_accept(self, request: AcceptRequest) -> Future[Accepted]:
        """``accept`` the request in the next batch, together with its neighbours; resolves after the commit."""
        future: Future[Accepted] = Future()
        self._queue.put((request, future))
        return future

    async def accept(self, request: AcceptRequest) -> Accepted:
        """``submit_accept`` for a coroutine: returns once the batch holding the request has committed."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Accepted] = loop.create_future()
        self._queue.put((request, _Awaited(loop, future)))
        return await future

    def _run(self) -> None:
        while True:
            batch = [self._queue.get()]
            while len(batch) < self.max_batch:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            try:
                self._write(batch)
            except Exception:  # never let the one writer die: every later push would wait for it forever
                log.exception("intake writer: a batch of %d could not be settled", len(batch))

    def _write(self, batch: list[Item]) -> None:
        try:
            outcomes = _write_together(batch)
        except Exception as exc:
            log.info("intake batch of %d failed together (%s); writing it item by item", len(batch), exc)
            try:
                outcomes = _write_one_by_one(batch)
            except Exception as again:
                log.warning("intake batch of %d not written: %s", len(batch), type(again).__name__)
                settle(batch, [(None, again)] * len(batch))
                return
        settle(batch, outcomes)


def settle(batch: list[Item], outcomes: list[Outcome]) -> None:
    """Answer every caller of the batch: threads at once, each event loop with one call for all its callers."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], Any, BaseException | None]]] = {}
    for (_item, waiter), (value, error) in zip(batch, outcomes, strict=True):
        if isinstance(waiter, _Awaited):
            by_loop.setdefault(waiter.loop, []).append((waiter.future, value, error))
        elif waiter.set_running_or_notify_cancel():  # False: the caller gave up on it (cancelled)
            if error is None:
                waiter.set_result(value)
            else:
                waiter.set_exception(error)
    for loop, settled in by_loop.items():
        try:
            loop.call_soon_threadsafe(_settle_on_loop, settled)
        except RuntimeError:  # that loop has closed: nobody is waiting any more
            log.debug("intake: %d answers for a closed event loop", len(settled))


def _settle_on_loop(settled: list[tuple[asyncio.Future[Any], Any, BaseException | None]]) -> None:
    for future, value, error in settled:
        if future.done():  # the caller gave up (its request was cancelled)
            continue
        if error is None:
            future.set_result(value)
        else:
            future.set_exception(error)


Outcome = tuple[Any, BaseException | None]


def _write_together(batch: list[Item]) -> list[Outcome]:
    """The whole batch in one transaction: runs of pushes set-based, other work each in a SAVEPOINT."""
    outcomes: list[Outcome] = []
    with db.session_factory()() as session:
        start = 0
        while start < len(batch):
            item = batch[start][0]
            if isinstance(item, AcceptRequest):
                end = start
                while end < len(batch) and isinstance(batch[end][0], AcceptRequest):
                    end += 1
                run = [cast(AcceptRequest, request) for request, _waiter in batch[start:end]]
                outcomes.extend((accepted, None) for accepted in accept_many(session, run))
                start = end
            else:
                outcomes.append(_attempt(session, cast(Work, item)))
                start += 1
        session.commit()
    return outcomes


def _write_one_by_one(batch: list[Item]) -> list[Outcome]:
    with db.session_factory()() as session:
        outcomes = [_attempt(session, _as_work(item)) for item, _waiter in batch]
        session.commit()
    return outcomes


def _as_work(item: Work | AcceptRequest) -> Work:
    if isinstance(item, AcceptRequest):
        return lambda session: accept_many(session, [item])[0]
    return item


def _attempt(session: Session, work: Work) -> Outcome:
    savepoint = session.begin_nested()
    try:
        value = work(session)
    except Exception as exc:
        savepoint.rollback()
        return None, exc
    savepoint.commit()
    return value, None


_writer: IntakeWriter | None = None
_lock = threading.Lock()


def intake_writer() -> IntakeWriter:
    global _writer
    if _writer is not None:
        return _writer
    with _lock:
        if _writer is None:
            _writer = IntakeWriter()
        return _writer
