"""The worker: claims due jobs one at a time and runs each in one transaction with its effects.

One job is one transaction: the claim (a row lock on PostgreSQL, the database write lock on SQLite),
the handler's effects (inside a SAVEPOINT) and the job's new state commit together. A worker killed
mid-job therefore leaves nothing behind and frees the row for another worker, so a job's database
effects happen exactly once. Effects outside the database (a message sent) are at least once.
"""

from __future__ import annotations

import argparse
import datetime as dt
import fcntl
import importlib
import logging
import os
import random
import re
import signal
import socket
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from types import FrameType

from sqlalchemy import event, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, SessionTransaction, sessionmaker

import wenzheng.models  # noqa: F401 - every table, so that the jobs' foreign keys resolve at flush
from wenzheng.audit.actions import install_audit_guard
from wenzheng.config import Settings, get_settings
from wenzheng.db import make_engine, utcnow
from wenzheng.errors import Conflict, WenzhengError
from wenzheng.jobs.models import Job, JobState
from wenzheng.jobs.registry import LeasedHandler, dead_hook, get_leased_task, get_task

logger = logging.getLogger("wenzheng.jobs")

SessionFactory = Callable[[], Session]

MAX_BACKOFF_SECONDS = 6 * 3600.0  # so that a job with many attempts is still retried the same day
JITTER = 0.1  # up to 10% more delay, so that jobs failing together do not all retry together
TRACEBACK_FRAMES = 5
SCHEDULE_CHECK_SECONDS = 60.0
ERROR_TEXT_LIMIT = 2000
_IN_HANDLER = "wz_job_handler_running"
_URL_PASSWORD = re.compile(r"(\w+://[^:/@\s]*:)[^@\s]*@")


class UnknownTask(LookupError):
    """A job names a task no imported module registers: retrying cannot help, so it goes dead."""


class HandlerEndedTransaction(RuntimeError):
    """A handler committed or rolled back the job's transaction, which would break exactly-once."""


def default_worker_name() -> str:
    """``host:pid``, recorded in ``jobs.finished_by``."""
    return f"{socket.gethostname()}:{os.getpid()}"


def run_next(session_factory: SessionFactory, worker_name: str, *, now: dt.datetime | None = None) -> bool:
    """Claim the next due job and run it in one transaction; False when no job is due."""
    return _run_one(session_factory, worker_name, now, job_id=None)


def run_job(session_factory: SessionFactory, job_id: int, worker_name: str, *, now: dt.datetime | None = None) -> bool:
    """Run one particular job if it is queued, due and not claimed elsewhere (inline mode uses this)."""
    return _run_one(session_factory, worker_name, now, job_id=job_id)


def run_until_idle(
    session_factory: SessionFactory,
    worker_name: str,
    *,
    now: dt.datetime | None = None,
    limit: int | None = None,
) -> int:
    """Run due jobs until none is left (or ``limit`` have run); returns how many ran.

    A failed job is not due again before its backoff, so this always ends.
    """
    count = 0
    while (limit is None or count < limit) and run_next(session_factory, worker_name, now=now):
        count += 1
    return count


def _run_one(session_factory: SessionFactory, worker_name: str, now: dt.datetime | None, job_id: int | None) -> bool:
    with session_factory() as session:
        job = _claim(session, now or utcnow(), job_id)
        if job is None:
            return False
        leased = get_leased_task(job.task)
        if leased is not None:
            _run_leased(session, session_factory, job, worker_name, now, *leased)
            return True
        claimed_id = job.id
        error = _execute(session, job)
        if not session.in_transaction():
            # The handler ended the transaction, and the claim with it: claim the row again to record that.
            job = _claim(session, now or utcnow(), claimed_id)
            if job is None:
                return True  # another worker has it now
        _record_outcome(job, worker_name, now or utcnow(), error)
        if job.state == JobState.DEAD.value:
            _after_death(session, job)
        session.commit()  # the effects, and the job done (or its failure recorded), at once
    return True


def _run_leased(
    session: Session,
    session_factory: SessionFactory,
    job: Job,
    worker_name: str,
    now: dt.datetime | None,
    handler: LeasedHandler,
    lease_seconds: float,
) -> None:
    """Claim by lease (the job is not due again until the lease is over), run outside a transaction, record."""
    job.run_after = (now or utcnow()) + dt.timedelta(seconds=lease_seconds)
    session.commit()
    session.expunge(job)
    error: Exception | None = None
    try:
        handler(session_factory, job)
    except Exception as exc:
        error = exc
    session.rollback()
    current = session.get(Job, job.id, with_for_update=True)
    if current is None or current.state != JobState.QUEUED.value:
        session.rollback()
        return
    _record_outcome(current, worker_name, now or utcnow(), error)
    session.commit()


def _claim(session: Session, now: dt.datetime, job_id: int | None) -> Job | None:
    query = (
        select(Job)
        .where(Job.state == JobState.QUEUED.value, Job.run_after <= now)
        .order_by(Job.run_after, Job.id)
        .limit(1)
        # PostgreSQL: lock the row, and let other workers pass over it. SQLAlchemy leaves the clause
        # out on SQLite, where BEGIN IMMEDIATE has already made this transaction the only writer.
        .with_for_update(skip_locked=True)
    )
    if job_id is not None:
        query = query.where(Job.id == job_id)
    return session.scalars(query).first()


def _execute(session: Session, job: Job) -> Exception | None:
    """Run the job's handler inside a SAVEPOINT; the exception it raised, or None."""
    handler = get_task(job.task)
    if handler is None:
        return UnknownTask(
            f"no handler is registered for task {job.task!r} in this worker "
            "(was it renamed, or is the module that defines it not imported?)"
        )
    _install_commit_guard()
    savepoint = session.begin_nested()
    session.info[_IN_HANDLER] = True
    try:
        handler(session, job)
        if not savepoint.is_active:
            raise HandlerEndedTransaction(
                "the job's savepoint is gone: a task handler must not commit, roll back, "
                "or carry on after a database error"
            )
        savepoint.commit()
    except Exception as error:
        _undo_handler(session, savepoint)
        return error
    finally:
        session.info.pop(_IN_HANDLER, None)
    return None


def _undo_handler(session: Session, savepoint: SessionTransaction) -> None:
    if savepoint.is_active or session.get_nested_transaction() is savepoint:
        savepoint.rollback()
    else:
        # The handler got past the savepoint (it committed or rolled back): undo the whole transaction.
        session.rollback()


def _refuse_commit_in_handler(session: Session) -> None:
    if session.info.get(_IN_HANDLER) and not session.in_nested_transaction():
        raise HandlerEndedTransaction("a task handler must not commit the job's transaction")


def _install_commit_guard() -> None:
    if not event.contains(Session, "before_commit", _refuse_commit_in_handler):
        event.listen(Session, "before_commit", _refuse_commit_in_handler)


def _after_death(session: Session, job: Job) -> None:
    """The task's hook for a dead job, in a SAVEPOINT: if the hook itself fails, the job is still recorded dead."""
    hook = dead_hook(job.task)
    if hook is None:
        return
    savepoint = session.begin_nested()
    try:
        hook(session, job)
        savepoint.commit()
    except Exception:
        savepoint.rollback()
        logger.exception("job %s (%s): its task's hook for a dead job failed", job.id, job.task)


def _record_outcome(job: Job, worker_name: str, now: dt.datetime, error: Exception | None) -> None:
    if error is None:
        _finish(job, JobState.DONE, worker_name, now)
        return
    job.attempts += 1
    job.last_error = describe_failure(error)
    if isinstance(error, UnknownTask) or job.attempts >= job.max_attempts:
        _finish(job, JobState.DEAD, worker_name, now)
        logger.error("job %s (%s) is dead after %s attempts: %s", job.id, job.task, job.attempts, _first(job))
    else:
        job.run_after = now + backoff_delay(job.attempts)
        logger.warning(
            "job %s (%s) failed, attempt %s of %s, retry after %s: %s",
            job.id,
            job.task,
            job.attempts,
            job.max_attempts,
            job.run_after.isoformat(timespec="seconds"),
            _first(job),
        )


def _finish(job: Job, state: JobState, worker_name: str, now: dt.datetime) -> None:
    job.state = state.value
    job.finished_at = now
    job.finished_by = worker_name


def _first(job: Job) -> str:
    return (job.last_error or "").partition("\n")[0]


def backoff_delay(attempts: int, settings: Settings | None = None) -> dt.timedelta:
    """How long to wait after the ``attempts``-th failure: base * 2**(attempts-1), capped, plus jitter."""
    base = (settings or get_settings()).job_backoff_seconds
    seconds = min(base * 2.0 ** min(attempts - 1, 40), MAX_BACKOFF_SECONDS)
    jitter = 1 + JITTER * random.random()  # noqa: S311 - spreading retries, not a secret
    return dt.timedelta(seconds=seconds * jitter)


def describe_failure(error: BaseException) -> str:
    """One summary line, then where it was raised: no locals, payloads or passwords in URLs."""
    message = str(error).strip().splitlines()
    summary = f"{type(error).__name__}: {message[0] if message else ''}"[:500]
    frames = traceback.extract_tb(error.__traceback__)[-TRACEBACK_FRAMES:]
    where = [f"  at {frame.filename}:{frame.lineno} in {frame.name}" for frame in frames]
    return _URL_PASSWORD.sub(r"\1***@", "\n".join([summary, *where]))[:ERROR_TEXT_LIMIT]


class Worker:
    """Runs due jobs one at a time until stopped; waits ``poll_seconds`` whenever none is due."""

    def __init__(
        self,
        session_factory: SessionFactory,
        *,
        name: str | None = None,
        poll_seconds: float = 1.0,
        stop_event: threading.Event | None = None,
    ) -> None:
        self.session_factory = session_factory
        self.name = name or default_worker_name()
        self.poll_seconds = poll_seconds
        self.stop_event = stop_event or threading.Event()
        self._next_schedule_check = 0.0

    def run(self, *, once: bool = False) -> int:
        """Run jobs until stopped (with ``once``: until none is due); returns how many ran.

        The stop is checked between jobs, so the job in hand always finishes.
        """
        count = 0
        while not self.stop_event.is_set():
            if self._step(once):
                count += 1
            elif once:
                break
            else:
                self._schedule_periodic()
                self.stop_event.wait(self.poll_seconds)
        logger.info("worker %s stopped after %s jobs", self.name, count)
        return count

    def stop(self) -> None:
        """Stop after the current job (safe to call from a signal handler or another thread)."""
        self.stop_event.set()

    def _schedule_periodic(self) -> None:
        """When idle, at most once a minute, put due housekeeping tasks in the queue."""
        if time.monotonic() < self._next_schedule_check:
            return
        self._next_schedule_check = time.monotonic() + SCHEDULE_CHECK_SECONDS
        from wenzheng.jobs.schedule import enqueue_due_periodic  # the queue imports this module

        try:
            with self.session_factory() as session:
                enqueue_due_periodic(session)
        except OperationalError as error:
            logger.warning("worker %s cannot schedule periodic tasks: %s", self.name, _first_line(error))

    def _step(self, once: bool) -> bool:
        try:
            return run_next(self.session_factory, self.name)
        except OperationalError as error:
            if once:
                raise
            # The database is down or restarting: wait and try again rather than exit.
            logger.warning("worker %s cannot reach the database: %s", self.name, _first_line(error))
            return False


def _first_line(error: BaseException) -> str:
    return describe_failure(error).splitlines()[0]


def run_worker(
    settings: Settings,
    *,
    once: bool = False,
    stop_event: threading.Event | None = None,
    imports: Iterable[str] = (),
    name: str | None = None,
) -> int:
    """Run a worker until SIGTERM or SIGINT (with ``once``: until no job is due); returns jobs run.

    ``imports`` names extra modules whose tasks to register. Raises Conflict when another worker
    already runs on the same SQLite database.
    """
    import_task_modules(imports)
    install_audit_guard()
    with single_worker_lock(settings):
        engine = make_engine(settings)
        try:
            worker = Worker(
                sessionmaker(bind=engine, expire_on_commit=False),
                name=name,
                poll_seconds=settings.worker_poll_seconds,
                stop_event=stop_event,
            )
            logger.info("worker %s started on %s", worker.name, engine.url.render_as_string(hide_password=True))
            with _stop_on_signals(worker):
                return worker.run(once=once)
        finally:
            engine.dispose()


def import_task_modules(imports: Iterable[str] = ()) -> None:
    """Register the project's tasks and those of ``imports`` (module names)."""
    for module in ("wenzheng.jobs.tasks", *imports):
        importlib.import_module(module)


@contextmanager
def single_worker_lock(settings: Settings) -> Iterator[None]:
    """On SQLite, make this the only worker of the database file; nothing to do on PostgreSQL."""
    database = settings.sqlite_path()
    if database is None:
        yield
        return
    lock_path = database.with_name(database.name + ".worker.lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    # The lock goes with the open file: closing it, or the process dying, releases it.
    with lock_path.open("a") as lock_file:
        try:
            fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise Conflict(
                f"Another worker is already running on the SQLite database {database}. SQLite allows "
                "one worker at a time: stop the other one, or use PostgreSQL (WENZHENG_DATABASE_URL="
                "postgresql+psycopg://...) to run several workers.",
                code="worker_already_running",
            ) from None
        yield


@contextmanager
def _stop_on_signals(worker: Worker) -> Iterator[None]:
    """SIGTERM and SIGINT stop the loop after the current job instead of interrupting it."""
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may set signal handlers; the caller stops us via stop_event
        return

    def stop(_signum: int, _frame: FrameType | None) -> None:
        worker.stop()

    previous = {signum: signal.signal(signum, stop) for signum in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m wenzheng.jobs.worker``: a worker without the CLI (tests start it as a subprocess)."""
    parser = argparse.ArgumentParser(prog="python -m wenzheng.jobs.worker", description=__doc__)
    parser.add_argument("--once", action="store_true", help="run the jobs that are due, then exit")
    parser.add_argument("--import", dest="imports", action="append", default=[], metavar="MODULE")
    parser.add_argument("--name", default=None, help="recorded as finished_by (default host:pid)")
    args = parser.parse_args(argv)
    settings = get_settings()
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        run_worker(settings, once=args.once, imports=args.imports, name=args.name)
    except WenzhengError as error:
        print(f"error: {error.message}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    # Run the copy imported as wenzheng.jobs.worker, not this __main__ copy, so that there is one
    # module (and one set of listeners) whichever way the worker is started.
    from wenzheng.jobs.worker import main as _main

    sys.exit(_main())
