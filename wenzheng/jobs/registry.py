"""The one registry of tasks: a stable, explicit name for each handler a job can run.

Names are stored in job rows, so they outlive the code: renaming a function is harmless, renaming a
task strands the jobs already queued under the old name (they go dead with a clear error).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from sqlalchemy.orm import Session

from wenzheng.jobs.models import Job

TaskHandler = Callable[[Session, Job], None]
# Run when a job of the task goes dead, in the transaction that records it, so that what the job was for
# (a reply "queued" on screen) says it will not happen by itself; and when someone retries it, to undo that.
DeadHook = Callable[[Session, Job], None]
# A leased task runs outside any transaction and opens its own short ones (see ``leased_task``).
LeasedHandler = Callable[[Callable[[], Session], Job], None]

# Dotted lowercase names such as "staff.purge_expired_sessions": the domain, then what it does.
TASK_NAME = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
MAX_TASK_NAME_LENGTH = 100  # the width of jobs.task

_handlers: dict[str, TaskHandler] = {}
_leased: dict[str, tuple[LeasedHandler, float]] = {}
_on_dead: dict[str, DeadHook] = {}
_on_retry: dict[str, DeadHook] = {}


def task(
    name: str, *, on_dead: DeadHook | None = None, on_retry: DeadHook | None = None
) -> Callable[[TaskHandler], TaskHandler]:
    """Register the decorated ``handler(session, job)`` under ``name``.

    The handler runs inside the job's transaction and must not commit or roll back; an exception
    undoes its database effects and schedules a retry. ``on_dead(session, job)`` runs when the job has
    failed for the last time, in the transaction that marks it dead; ``on_retry(session, job)`` when someone
    puts a dead job back in the queue (``jobs.actions.do_retry_job``), in that action's transaction.
    """
    _check_name(name)

    def register(handler: TaskHandler) -> TaskHandler:
        existing = _handlers.get(name)
        if existing is not None and _qualified(existing) != _qualified(handler):
            raise ValueError(f"task {name!r} is already registered to {_qualified(existing)}")
        _handlers[name] = handler
        for hooks, hook in ((_on_dead, on_dead), (_on_retry, on_retry)):
            if hook is not None:
                hooks[name] = hook
        return handler

    return register


def dead_hook(name: str) -> DeadHook | None:
    """What to do when a job of task ``name`` goes dead, if anything."""
    return _on_dead.get(name)


def retry_hook(name: str) -> DeadHook | None:
    """What to do when a dead job of task ``name`` is retried, if anything."""
    return _on_retry.get(name)


def leased_task(name: str, *, lease_seconds: float) -> Callable[[LeasedHandler], LeasedHandler]:
    """Register ``handler(session_factory, job)`` for work that talks to the outside world at length.

    The worker claims the job by moving its ``run_after`` one lease ahead and committing, then runs the
    handler outside any transaction: the handler opens short transactions of its own (so a slow network
    call never holds the database's write lock) and must be resumable, because a worker that dies
    mid-job leaves the job to be run again once the lease is over. ``job`` is a detached copy.
    """
    _check_name(name)

    def register(handler: LeasedHandler) -> LeasedHandler:
        existing = _leased.get(name)
        if (existing is not None and _qualified(existing[0]) != _qualified(handler)) or name in _handlers:
            raise ValueError(f"task {name!r} is already registered")
        _leased[name] = (handler, lease_seconds)
        return handler

    return register


def get_leased_task(name: str) -> tuple[LeasedHandler, float] | None:
    """The leased handler registered under ``name`` and its lease in seconds, or None."""
    return _leased.get(name)


def get_task(name: str) -> TaskHandler | None:
    """The handler registered under ``name``, or None when no imported module registers it."""
    return _handlers.get(name)


def registered_task_names() -> list[str]:
    """Every registered task name, sorted."""
    return sorted([*_handlers, *_leased])


def _check_name(name: str) -> None:
    if len(name) > MAX_TASK_NAME_LENGTH or not TASK_NAME.match(name):
        raise ValueError(
            f"task name {name!r} must be dotted lowercase words such as 'staff.purge_expired_sessions', "
            f"at most {MAX_TASK_NAME_LENGTH} characters"
        )


def _qualified(handler: TaskHandler | LeasedHandler) -> str:
    # Compared by name, not identity, so that re-importing a module (tests, reloaders) is not a clash.
    return f"{handler.__module__}.{handler.__qualname__}"
