"""The intake writer: one thread per process writes what the channels accept, many pushes per commit.

Letting every request thread fight for SQLite's write lock makes them sleep in its busy handler; one
writer that drains whatever has queued up and commits it together (group commit) is both faster and
fairer. A batch first runs optimistically in one transaction; if any item fails, the batch is rolled
back and run again with a SAVEPOINT per item, so one bad push never spoils its neighbours. No caller
is answered before the commit that holds its message has returned.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from wenzheng import db

log = logging.getLogger(__name__)
T = TypeVar("T")
Work = Callable[[Session], Any]
MAX_BATCH = 256


class IntakeWriter:
    def __init__(self, *, max_batch: int = MAX_BATCH) -> None:
        self.max_batch = max_batch
        self._queue: queue.SimpleQueue[tuple[Work, Future[Any]]] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="wenzheng-intake-writer", daemon=True)
        self._thread.start()

    def submit(self, work: Callable[[Session], T]) -> Future[T]:
        """Run ``work(session)`` in the next batch; the future resolves after that batch has committed."""
        future: Future[T] = Future()
        self._queue.put((work, future))
        return future

    def _run(self) -> None:
        while True:
            batch = [self._queue.get()]
            while len(batch) < self.max_batch:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            self._write(batch)

    def _write(self, batch: list[tuple[Work, Future[Any]]]) -> None:
        results: list[tuple[Future[Any], Any, BaseException | None]] = []
        try:
            with db.session_factory()() as session:
                for work, future in batch:
                    results.append((future, *_attempt(session, work)))
                session.commit()
        except Exception as exc:
            log.warning("intake batch of %d not written: %s", len(batch), type(exc).__name__)
            for _work, future in batch:
                future.set_exception(exc)
            return
        for future, value, error in results:
            if error is None:
                future.set_result(value)
            else:
                future.set_exception(error)


def _attempt(session: Session, work: Work) -> tuple[Any, BaseException | None]:
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
    with _lock:
        if _writer is None:
            _writer = IntakeWriter()
        return _writer
