"""What the console does with jobs: find them (within the actor's agencies), list the dead, retry."""

from __future__ import annotations

from sqlalchemy import ColumnElement, func, select, true
from sqlalchemy.orm import Session

from wenzheng.audit.actions import record_audit
from wenzheng.config import get_settings
from wenzheng.db import utcnow
from wenzheng.errors import Conflict, NotFound
from wenzheng.jobs.models import Job, JobState
from wenzheng.jobs.queue import run_inline_after_commit
from wenzheng.jobs.registry import retry_hook
from wenzheng.staff.actor import Actor

MAX_LISTED = 500


def access_job_by_id(session: Session, actor: Actor, job_id: int) -> Job:
    """The job if the actor may see it; NotFound otherwise, so that ids of other agencies do not leak."""
    job = session.get(Job, job_id)
    if job is None or not can_see_job(actor, job):
        raise NotFound("No such job, or it belongs to an agency you are not a member of.")
    return job


def can_see_job(actor: Actor, job: Job) -> bool:
    """Platform admins see every job; staff see the jobs of their agencies, not platform-level ones."""
    if actor.is_platform_admin:
        return True
    if job.agency_id is None:
        return False
    return actor.can_see(job.agency_id)


def do_retry_job(session: Session, actor: Actor, job: Job) -> Job:
    """Put a dead job back in the queue with a fresh count of attempts; audited.

    Only platform admins may. Like every action, it commits the change with its audit event.
    """
    actor.require_platform_admin()
    if job.state != JobState.DEAD.value:
        raise Conflict(f"Only a dead job can be retried; job {job.id} is {job.state}.", code="job_not_dead")
    previous_attempts = job.attempts
    job.state = JobState.QUEUED.value
    job.attempts = 0
    job.run_after = utcnow()
    job.finished_at = None
    job.finished_by = None  # last_error stays: it is why someone retried
    hook = retry_hook(job.task)
    if hook is not None:
        hook(session, job)
    record_audit(
        session,
        actor,
        "console:job:retry",
        agency_id=job.agency_id,
        subject_type="job",
        subject_id=job.id,
        data={"task": job.task, "previous_attempts": previous_attempts},
    )
    if get_settings().jobs_inline:
        run_inline_after_commit(session, job)
    session.commit()
    return job


def dead_jobs(session: Session, actor: Actor, agency_id: int | None = None, limit: int = 50) -> list[Job]:
    """Dead jobs the actor may see, most recent first: of one agency, or of all the actor's agencies."""
    query = (
        select(Job)
        .where(Job.state == JobState.DEAD.value, _visible_to(actor, agency_id))
        .order_by(Job.finished_at.desc(), Job.id.desc())
        .limit(max(1, min(limit, MAX_LISTED)))
    )
    return list(session.scalars(query))


def _visible_to(actor: Actor, agency_id: int | None) -> ColumnElement[bool]:
    if agency_id is not None:
        if not actor.can_see(agency_id):
            raise NotFound("No such agency, or you are not a member of it.")
        return Job.agency_id == agency_id
    if actor.is_platform_admin:
        return true()
    return Job.agency_id.in_(list(actor.roles))


def job_counts_by_state(session: Session) -> dict[str, int]:
    """How many jobs are in each state, every state present (platform-wide, for the console)."""
    counts = {state.value: 0 for state in JobState}
    rows = session.execute(select(Job.state, func.count()).group_by(Job.state))
    counts.update({state: count for state, count in rows.tuples()})
    return counts
