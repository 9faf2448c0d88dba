"""Enqueueing jobs: the job row joins the caller's transaction and commits, or vanishes, with it.

In inline mode (``WENZHENG_JOBS_INLINE``: the tests and the demo) the jobs a session enqueued run in
this process as soon as that session commits, through the worker's own code path, in one new session
(of ``wenzheng.db.session_factory``) per job. Jobs that those jobs enqueue run in the same loop,
after them, not nested inside them.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections import deque
from collections.abc import Mapping
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session, SessionTransaction

import wenzheng.jobs.tasks  # noqa: F401 - registers the project's tasks, so enqueue knows their names
from wenzheng.config import Settings, get_settings
from wenzheng.db import session_factory, utcnow
from wenzheng.jobs.models import Job, JobState
from wenzheng.jobs.registry import get_leased_task, get_task, registered_task_names
from wenzheng.jobs.worker import run_job

INLINE_WORKER_NAME = "inline"
_INLINE_JOBS = "wz_inline_jobs"  # session.info key: the jobs to run once this session commits

_draining = threading.local()  # per thread, the inline jobs still to run while a loop is running


def enqueue(
    session: Session,
    task: str,
    payload: Mapping[str, Any] | None = None,
    *,
    agency_id: int | None = None,
    run_after: dt.datetime | None = None,
    max_attempts: int | None = None,
) -> Job:
    """Add a job for ``task`` to ``session``; it commits with the caller's change, never on its own.

    Raises ValueError for an unknown task, a payload that is not a JSON object, a naive
    ``run_after`` or a ``max_attempts`` below 1.
    """
    settings = get_settings()
    job = Job(
        task=_known_task(task),
        payload=_json_object(payload),
        agency_id=agency_id,
        state=JobState.QUEUED.value,
        attempts=0,
        max_attempts=_attempts_allowed(max_attempts, settings),
        run_after=_aware(run_after) if run_after is not None else utcnow(),
    )
    session.add(job)
    if settings.jobs_inline:
        run_inline_after_commit(session, job)
    return job


def run_inline_after_commit(session: Session, job: Job) -> None:
    """Run ``job`` in this process once ``session`` commits; forget it if the session rolls back."""
    _install_inline_hooks()
    session.info.setdefault(_INLINE_JOBS, []).append(job)


def _known_task(task: str) -> str:
    if get_task(task) is None and get_leased_task(task) is None:
        raise ValueError(f"unknown task {task!r}; registered tasks: {', '.join(registered_task_names())}")
    return task


def _json_object(payload: Mapping[str, Any] | None) -> dict[str, Any]:
    if payload is None:
        return {}
    if not isinstance(payload, Mapping):
        raise ValueError(f"a job payload must be a JSON object (a dict), not {type(payload).__name__}")
    try:
        text = json.dumps(payload, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise ValueError(f"job payload is not JSON-serialisable: {error}") from error
    # Keep what the database will give back, so a handler sees the same payload inline or not.
    decoded: dict[str, Any] = json.loads(text)
    return decoded


def _attempts_allowed(max_attempts: int | None, settings: Settings) -> int:
    if max_attempts is None:
        return settings.job_max_attempts
    if max_attempts < 1:
        raise ValueError(f"max_attempts must be at least 1, not {max_attempts}")
    return max_attempts


def _aware(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None:
        raise ValueError("run_after must be an aware datetime (UTC), not a naive one")
    return moment


def _install_inline_hooks() -> None:
    if not event.contains(Session, "after_commit", _after_commit):
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_soft_rollback", _after_soft_rollback)


def _after_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return  # only a SAVEPOINT was released: nothing is durable until the outer commit
    jobs = session.info.pop(_INLINE_JOBS, None)
    if not jobs:
        return
    _run_inline([job_id for job_id in map(_committed_id, jobs) if job_id is not None])


def _after_soft_rollback(session: Session, _previous: SessionTransaction) -> None:
    # The whole transaction is gone, and its jobs with it. (A rolled-back SAVEPOINT takes only the
    # jobs added inside it; those are transient again, and _committed_id passes over them.)
    if not session.in_transaction():
        session.info.pop(_INLINE_JOBS, None)


def _committed_id(job: Job) -> int | None:
    state = inspect(job)
    if not state.persistent or state.identity is None:
        return None
    job_id: int = state.identity[0]
    return job_id


def _run_inline(job_ids: list[int]) -> None:
    pending: deque[int] | None = getattr(_draining, "pending", None)
    if pending is not None:
        pending.extend(job_ids)  # enqueued by an inline job: the loop already running picks them up
        return
    _draining.pending = pending = deque(job_ids)
    try:
        while pending:
            # The application's own sessions: the committing session may be on an AUTOCOMMIT engine,
            # and a job needs a real transaction.
            run_job(session_factory(), pending.popleft(), INLINE_WORKER_NAME)
    finally:
        _draining.pending = None
