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

# Dotted lowercase names such as "staff.purge_expired_sessions": the domain, then what it does.
TASK_NAME = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
MAX_TASK_NAME_LENGTH = 100  # the width of jobs.task

_handlers: dict[str, TaskHandler] = {}


def task(name: str) -> Callable[[TaskHandler], TaskHandler]:
    """Register the decorated ``handler(session, job)`` under ``name``.

    The handler runs inside the job's transaction and must not commit or roll back; an exception
    undoes its database effects and schedules a retry.
    """
    _check_name(name)

    def register(handler: TaskHandler) -> TaskHandler:
        existing = _handlers.get(name)
        if existing is not None and _qualified(existing) != _qualified(handler):
            raise ValueError(f"task {name!r} is already registered to {_qualified(existing)}")
        _handlers[name] = handler
        return handler

    return register


def get_task(name: str) -> TaskHandler | None:
    """The handler registered under ``name``, or None when no imported module registers it."""
    return _handlers.get(name)


def registered_task_names() -> list[str]:
    """Every registered task name, sorted."""
    return sorted(_handlers)


def _check_name(name: str) -> None:
    if len(name) > MAX_TASK_NAME_LENGTH or not TASK_NAME.match(name):
        raise ValueError(
            f"task name {name!r} must be dotted lowercase words such as 'staff.purge_expired_sessions', "
            f"at most {MAX_TASK_NAME_LENGTH} characters"
        )


def _qualified(handler: TaskHandler) -> str:
    # Compared by name, not identity, so that re-importing a module (tests, reloaders) is not a clash.
    return f"{handler.__module__}.{handler.__qualname__}"
