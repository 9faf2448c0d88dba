"""Leased tasks: claimed by moving run_after a lease ahead, run outside a transaction, then recorded."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session, sessionmaker

from tests.jobs import taskdefs
from wenzheng.jobs.models import Job, JobState
from wenzheng.jobs.queue import enqueue
from wenzheng.jobs.registry import leased_task
from wenzheng.jobs.worker import run_next

T0 = dt.datetime(2030, 1, 1, 9, 0, tzinfo=dt.UTC)
LEASE = 120.0
seen: list[tuple[int, bool, dt.datetime]] = []


@leased_task("test.leased", lease_seconds=LEASE)
def leased(session_factory: Callable[[], Session], job: Job) -> None:
    with session_factory() as session:
        # What other workers see while the handler runs: the job is queued, not due until the lease ends.
        row = session.execute(select(Job.state, Job.run_after).where(Job.id == job.id)).one()
        seen.append((job.id, row.state == JobState.QUEUED.value, row.run_after))
        session.execute(text("INSERT INTO job_test_effects (key) VALUES (:k)"), {"k": job.payload["key"]})
        session.commit()  # a leased handler commits its own work
    if job.payload.get("fail"):
        raise RuntimeError("the channel is down")


@pytest.fixture(autouse=True)
def _queued_mode_with_effects(engine: Engine) -> Iterator[None]:
    seen.clear()
    with taskdefs.jobs_inline(False), taskdefs.effects_table(engine):
        yield


@pytest.fixture
def factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


def _add(factory: sessionmaker[Session], payload: dict[str, object]) -> int:
    with factory() as session:
        job = enqueue(session, "test.leased", payload, run_after=T0)
        session.commit()
        return job.id


def test_a_leased_job_runs_outside_the_claim_and_is_recorded_done(
    factory: sessionmaker[Session], engine: Engine
) -> None:
    job_id = _add(factory, {"key": "a"})

    assert run_next(factory, "w1", now=T0)

    [(seen_id, queued, run_after)] = seen
    assert seen_id == job_id and queued
    assert run_after == T0 + dt.timedelta(seconds=LEASE)  # the claim committed before the handler ran
    with factory() as session:
        job = session.get_one(Job, job_id)
        assert job.state == JobState.DONE.value and job.finished_by == "w1"
    assert taskdefs.recorded_keys(engine) == ["a"]  # its own commit stands


def test_a_claimed_job_is_not_due_again_until_its_lease_ends(factory: sessionmaker[Session]) -> None:
    job_id = _add(factory, {"key": "b"})
    with factory() as session:  # what a worker that died mid-job leaves: the lease taken, nothing recorded
        session.get_one(Job, job_id).run_after = T0 + dt.timedelta(seconds=LEASE)
        session.commit()

    assert not run_next(factory, "w2", now=T0 + dt.timedelta(seconds=LEASE - 1))
    assert run_next(factory, "w2", now=T0 + dt.timedelta(seconds=LEASE))
    assert [s[0] for s in seen] == [job_id]


def test_a_failing_leased_job_backs_off_and_keeps_what_it_committed(
    factory: sessionmaker[Session], engine: Engine
) -> None:
    job_id = _add(factory, {"key": "c", "fail": True})

    assert run_next(factory, "w1", now=T0)

    with factory() as session:
        job = session.get_one(Job, job_id)
        assert job.state == JobState.QUEUED.value and job.attempts == 1
        assert "the channel is down" in (job.last_error or "")
        assert T0 < job.run_after < T0 + dt.timedelta(seconds=LEASE)  # the backoff, not the lease
    assert taskdefs.recorded_keys(engine) == ["c"]
