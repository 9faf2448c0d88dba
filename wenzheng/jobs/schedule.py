"""Periodic tasks: housekeeping that idle workers put in the queue when it is due.

Several workers may race to enqueue the same periodic job; that costs one redundant run of an
idempotent task, never a missed one.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from wenzheng.db import utcnow
from wenzheng.jobs.models import Job, JobState
from wenzheng.jobs.queue import enqueue

PERIODIC: dict[str, dt.timedelta] = {
    "staff.purge_expired_sessions": dt.timedelta(hours=1),
    # A safety net: anything still waiting for triage (a job that went dead, say) is picked up again.
    "triage.assess": dt.timedelta(minutes=1),
    "cases.escalate_overdue": dt.timedelta(minutes=1),
    # Round-robin assignment fills a department when someone makes room; this catches a case left waiting.
    "cases.assign_waiting": dt.timedelta(minutes=1),
    # Scheduled bulletins queue their own start; this catches one whose job was lost or went dead.
    "bulletins.start_due": dt.timedelta(minutes=1),
    # Retention periods are in days; a few runs a day erase what ran out within hours of it.
    "citizens.apply_retention": dt.timedelta(hours=6),
}


def enqueue_due_periodic(session: Session, *, now: dt.datetime | None = None) -> list[str]:
    """Enqueue each periodic task with no pending job and no run within its interval; commits."""
    now = now or utcnow()
    due = [task for task, every in PERIODIC.items() if not _pending_or_recent(session, task, now - every)]
    for task in due:
        enqueue(session, task, run_after=now)
    session.commit()
    return due


def _pending_or_recent(session: Session, task: str, since: dt.datetime) -> bool:
    query = (
        select(Job.id)
        .where(Job.task == task)
        .where(or_(Job.state == JobState.QUEUED.value, Job.finished_at >= since))
        .limit(1)
    )
    return session.execute(query).first() is not None
