"""The triage jobs intake queues: one that will see what was just committed, not one per intake commit."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories import triage_jobs
from tests.wechat.callback_helpers import connect, send_text
from wenzheng.assessments import tasks
from wenzheng.assessments.tasks import TASK_APART
from wenzheng.db import utcnow
from wenzheng.jobs.models import Job

ORDINARY = "请问低保怎么申请？"


def test_a_running_triage_job_does_not_stop_intake_from_queueing_the_next(
    client: TestClient, db: Session, is_postgres: bool, with_a_worker: None
) -> None:
    if is_postgres:
        pytest.skip("SQLite's leased triage job")
    connected = connect(db, mode="plaintext")
    running = Job(task=TASK_APART, payload={}, state="queued", attempts=0, max_attempts=5)
    running.run_after = utcnow() + dt.timedelta(minutes=2)  # claimed: its lease is ahead
    db.add(running)
    db.flush()
    send_text(client, connected, ORDINARY)
    due = [job for job in triage_jobs(db) if job.id != running.id]
    assert len(due) == 1 and due[0].run_after <= utcnow()
    send_text(client, connected, ORDINARY + "？")
    assert len(triage_jobs(db)) == 2  # the queued one, not yet started, will see that message too


def test_on_postgresql_a_job_gathers_intake_commits_for_a_moment(
    client: TestClient,
    db: Session,
    is_postgres: bool,
    with_a_worker: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if not is_postgres:
        pytest.skip("PostgreSQL's triage.assess")
    # A moment long enough for three requests on a busy test machine (50 ms in production).
    monkeypatch.setattr(tasks, "GATHER_SECONDS", 2.0)
    connected = connect(db, mode="plaintext")
    for n in range(3):
        send_text(client, connected, f"{ORDINARY}{n}")
    jobs = triage_jobs(db)
    assert len(jobs) == 1 and jobs[0].run_after > utcnow() - dt.timedelta(seconds=1)
