"""Enqueueing: a job commits with the change that caused it, and in inline mode runs after that commit."""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, func, insert, select
from sqlalchemy.orm import Session

from tests.jobs import taskdefs
from tests.jobs.taskdefs import effects, recorded_keys
from wenzheng.config import get_settings
from wenzheng.db import utcnow
from wenzheng.jobs.models import Job, JobState
from wenzheng.jobs.queue import INLINE_WORKER_NAME, enqueue
from wenzheng.jobs.registry import get_task, registered_task_names, task


@pytest.fixture(autouse=True)
def _effects(engine: Engine) -> Iterator[None]:
    with taskdefs.effects_table(engine):
        yield


@pytest.fixture
def queued_mode() -> Iterator[None]:
    with taskdefs.jobs_inline(False):
        yield


def all_jobs(engine: Engine) -> list[Job]:
    with Session(engine) as session:
        return list(session.scalars(select(Job).order_by(Job.id)))


# --- the registry ---------------------------------------------------------------------------------


def test_project_tasks_are_registered() -> None:
    assert "staff.purge_expired_sessions" in registered_task_names()
    assert get_task("test.record") is taskdefs.record
    assert get_task("no.such_task") is None


@pytest.mark.parametrize("name", ["", "record", "Test.Record", "test..record", "test.record!", "a." + "b" * 100])
def test_task_names_must_be_dotted_lowercase(name: str) -> None:
    with pytest.raises(ValueError, match="task name"):
        task(name)


def test_a_name_cannot_be_taken_by_another_handler() -> None:
    def impostor(session: Session, job: Job) -> None:
        pass

    with pytest.raises(ValueError, match="already registered"):
        task("test.record")(impostor)
    assert get_task("test.record") is taskdefs.record


# --- enqueue ----------------------------------------------------------------------------------------


def test_enqueue_refuses_an_unknown_task(tx_db: Session) -> None:
    with pytest.raises(ValueError, match=re.escape("unknown task 'no.such_task'")):
        enqueue(tx_db, "no.such_task")
    assert not tx_db.new


@pytest.mark.parametrize(
    "payload",
    [{"when": dt.datetime.now(dt.UTC)}, {"items": {1, 2}}, {"x": math.nan}, ["not", "an", "object"], "text"],
)
def test_enqueue_refuses_a_payload_that_is_not_a_json_object(tx_db: Session, payload: Any) -> None:
    with pytest.raises(ValueError, match="payload"):
        enqueue(tx_db, "test.record", payload)
    assert not tx_db.new


def test_enqueue_refuses_naive_times_and_no_attempts(tx_db: Session) -> None:
    with pytest.raises(ValueError, match="aware"):
        enqueue(tx_db, "test.record", {"key": "a"}, run_after=dt.datetime(2030, 1, 1))
    with pytest.raises(ValueError, match="max_attempts"):
        enqueue(tx_db, "test.record", {"key": "a"}, max_attempts=0)


def test_the_payload_is_kept_as_the_database_returns_it(tx_db: Session, queued_mode: None) -> None:
    job = enqueue(tx_db, "test.record", {"key": "a", "ids": (1, 2)})
    assert job.payload == {"key": "a", "ids": [1, 2]}


def test_a_job_commits_with_the_change_that_caused_it(tx_db: Session, engine: Engine, queued_mode: None) -> None:
    tx_db.execute(insert(effects).values(key="the change"))
    job = enqueue(tx_db, "test.record", {"key": "a"}, max_attempts=3)
    tx_db.commit()

    assert recorded_keys(engine) == ["the change"]
    [stored] = all_jobs(engine)
    assert (stored.id, stored.task, stored.payload) == (job.id, "test.record", {"key": "a"})
    assert (stored.state, stored.attempts, stored.max_attempts) == (JobState.QUEUED, 0, 3)
    assert stored.finished_at is None


def test_a_job_vanishes_when_its_change_rolls_back(tx_db: Session, engine: Engine, queued_mode: None) -> None:
    tx_db.execute(insert(effects).values(key="the change"))
    enqueue(tx_db, "test.record", {"key": "a"})
    tx_db.flush()  # the row reached the database; the rollback must still take it away
    tx_db.rollback()

    assert recorded_keys(engine) == []
    assert all_jobs(engine) == []


def test_max_attempts_defaults_to_the_setting(tx_db: Session, queued_mode: None) -> None:
    job = enqueue(tx_db, "test.record", {"key": "a"})
    assert job.max_attempts == get_settings().job_max_attempts


# --- inline mode (the suite's default) ----------------------------------------------------------------


def test_inline_jobs_run_after_commit_not_before(tx_db: Session, engine: Engine) -> None:
    assert get_settings().jobs_inline
    job = enqueue(tx_db, "test.record", {"key": "a"})
    tx_db.flush()
    assert tx_db.scalar(select(func.count()).select_from(effects)) == 0

    tx_db.commit()

    assert recorded_keys(engine) == ["a"]
    [stored] = all_jobs(engine)
    assert stored.id == job.id
    assert (stored.state, stored.finished_by) == (JobState.DONE, INLINE_WORKER_NAME)


def test_inline_jobs_do_not_run_when_the_session_rolls_back(tx_db: Session, engine: Engine) -> None:
    enqueue(tx_db, "test.record", {"key": "rolled back"})
    tx_db.flush()
    tx_db.rollback()
    enqueue(tx_db, "test.record", {"key": "committed"})
    tx_db.commit()  # a later commit of the same session must not run the rolled-back job

    assert recorded_keys(engine) == ["committed"]
    assert [job.payload["key"] for job in all_jobs(engine)] == ["committed"]


def test_inline_jobs_of_a_rolled_back_savepoint_do_not_run(tx_db: Session, engine: Engine) -> None:
    enqueue(tx_db, "test.record", {"key": "outer"})
    with tx_db.begin_nested():
        enqueue(tx_db, "test.record", {"key": "released"})
    savepoint = tx_db.begin_nested()
    enqueue(tx_db, "test.record", {"key": "rolled back"})
    tx_db.flush()
    savepoint.rollback()
    assert recorded_keys_in(tx_db) == []  # releasing a savepoint is not a commit
    tx_db.commit()

    assert sorted(recorded_keys(engine)) == ["outer", "released"]


def recorded_keys_in(session: Session) -> list[str]:
    return list(session.scalars(select(effects.c.key)))


def test_inline_jobs_that_enqueue_jobs_run_in_one_flat_loop(tx_db: Session, engine: Engine) -> None:
    enqueue(tx_db, "test.chain", {"n": 30})
    tx_db.commit()

    keys = recorded_keys(engine)
    assert [int(key.split(":")[0]) for key in keys] == list(range(30, -1, -1))
    # The same stack depth for every job: each ran from the loop, not nested in its parent's commit.
    assert len({key.split(":")[1] for key in keys}) == 1
    assert {job.state for job in all_jobs(engine)} == {JobState.DONE}


def test_an_inline_failure_leaves_the_job_queued_for_a_retry(tx_db: Session, engine: Engine) -> None:
    enqueue(tx_db, "test.fail", {"key": "undone", "message": "boom"})
    tx_db.commit()  # the failure is recorded on the job, not raised at the committer

    [job] = all_jobs(engine)
    assert (job.state, job.attempts) == (JobState.QUEUED, 1)
    assert job.last_error is not None and job.last_error.startswith("RuntimeError: boom")
    assert job.run_after > utcnow()
    assert recorded_keys(engine) == []


def test_an_inline_job_for_later_waits_for_a_worker(tx_db: Session, engine: Engine) -> None:
    enqueue(tx_db, "test.record", {"key": "later"}, run_after=utcnow() + dt.timedelta(hours=1))
    tx_db.commit()

    assert recorded_keys(engine) == []
    assert [job.state for job in all_jobs(engine)] == [JobState.QUEUED]


def test_inline_jobs_from_an_autocommit_session_still_run_in_a_transaction(db: Session, engine: Engine) -> None:
    # The suite's `db` session autocommits each statement; the job must still get its own transaction.
    enqueue(db, "test.record", {"key": "a"})
    db.commit()

    assert recorded_keys(engine) == ["a"]
    assert [(job.state, job.finished_by) for job in all_jobs(engine)] == [(JobState.DONE, INLINE_WORKER_NAME)]
