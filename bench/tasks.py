"""The task the job benchmark runs: one small write, like a real job's bookkeeping."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from wenzheng.jobs.models import Job
from wenzheng.jobs.registry import task

BENCH_TASK = "bench.write"


@task(BENCH_TASK)
def write(session: Session, job: Job) -> None:
    session.execute(text("INSERT INTO bench_floor (id, note) VALUES (:i, 'job')"), {"i": 10**8 + job.id})
