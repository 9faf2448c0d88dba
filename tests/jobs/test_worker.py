"""The worker: one job per transaction, retries with backoff, the dead letter, and the console's actions."""

from __future__ import annotations

import datetime as dt
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from tests.jobs import taskdefs
from tests.jobs.taskdefs import recorded_keys, wait_until
from wenzheng.agencies.models import Agency
from wenzheng.audit.actions import install_audit_guard, record_audit
from wenzheng.audit.models import AuditEvent
from wenzheng.config import get_settings
from wenzheng.db import utcnow
from wenzheng.errors import Conflict, Forbidden, NotFound
from wenzheng.jobs.actions import access_job_by_id, dead_jobs, do_retry_job, job_counts_by_state
from wenzheng.jobs.models import Job, JobState
from wenzheng.jobs.queue import enqueue
from wenzheng.jobs.worker import run_next, run_until_idle, run_worker, single_worker_lock
from wenzheng.staff.actor import Actor
from wenzheng.staff.models import LoginAttempt, StaffSession, User
from wenzheng.staff.roles import Role

T0 = dt.datetime(2030, 1, 1, 9, 0, tzinfo=dt.UTC)
ADMIN = Actor.system("test")


@pytest.fixture(autouse=True)
def _queued_mode_with_effects(engine: Engine) -> Iterator[None]:
    with taskdefs.jobs_inline(False), taskdefs.effects_table(engine):
        yield


@pytest.fixture
def factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


def add_job(
    factory: sessionmaker[Session],
    task: str,
    payload: dict[str, object],
    *,
    run_after: dt.datetime = T0,
    max_attempts: int | None = None,
) -> int:
    with factory() as session:
        job = enqueue(session, task, payload, run_after=run_after, max_attempts=max_attempts)
        session.commit()
        return job.id


def load(factory: sessionmaker[Session], job_id: int) -> Job:
    with factory() as session:
        job = session.get(Job, job_id)
        assert job is not None
        return job


# --- running ----------------------------------------------------------------------------------------


def test_a_due_job_runs_once_and_is_marked_done(factory: sessionmaker[Session], engine: Engine) -> None:
    job_id = add_job(factory, "test.record", {"key": "a"})

    assert run_next(factory, "w1", now=T0)
    assert not run_next(factory, "w1", now=T0)

    job = load(factory, job_id)
    assert (job.state, job.attempts, job.finished_at, job.finished_by) == (JobState.DONE, 0, T0, "w1")
    assert recorded_keys(engine) == ["a"]


def test_a_job_waits_for_its_run_after(factory: sessionmaker[Session], engine: Engine) -> None:
    add_job(factory, "test.record", {"key": "later"}, run_after=T0 + dt.timedelta(minutes=5))

    assert not run_next(factory, "w1", now=T0 + dt.timedelta(minutes=4, seconds=59))
    assert run_next(factory, "w1", now=T0 + dt.timedelta(minutes=5))
    assert recorded_keys(engine) == ["later"]


def test_jobs_run_in_order_of_run_after_then_id(factory: sessionmaker[Session], engine: Engine) -> None:
    add_job(factory, "test.record", {"key": "second"}, run_after=T0)
    add_job(factory, "test.record", {"key": "first"}, run_after=T0 - dt.timedelta(seconds=1))
    add_job(factory, "test.record", {"key": "third"}, run_after=T0)

    assert run_until_idle(factory, "w1", now=T0) == 3
    assert recorded_keys(engine) == ["first", "second", "third"]


def test_run_until_idle_stops_at_its_limit(factory: sessionmaker[Session], engine: Engine) -> None:
    for key in "abc":
        add_job(factory, "test.record", {"key": key})

    assert run_until_idle(factory, "w1", now=T0, limit=2) == 2
    assert run_until_idle(factory, "w1", now=T0) == 1


# --- failures ---------------------------------------------------------------------------------------


def test_failures_back_off_exponentially_then_go_dead(factory: sessionmaker[Session], engine: Engine) -> None:
    base = get_settings().job_backoff_seconds
    job_id = add_job(factory, "test.fail", {"key": "undone", "message": "boom"}, max_attempts=3)

    now = T0
    for attempt in (1, 2):
        assert run_next(factory, "w1", now=now)
        job = load(factory, job_id)
        delay = (job.run_after - now).total_seconds()
        assert (job.state, job.attempts) == (JobState.QUEUED, attempt)
        assert base * 2 ** (attempt - 1) <= delay <= base * 2 ** (attempt - 1) * 1.1
        assert not run_next(factory, "w1", now=job.run_after - dt.timedelta(milliseconds=1))
        now = job.run_after

    assert run_next(factory, "w1", now=now)
    job = load(factory, job_id)
    assert (job.state, job.attempts, job.finished_at, job.finished_by) == (JobState.DEAD, 3, now, "w1")
    assert not run_next(factory, "w1", now=now + dt.timedelta(days=1))
    assert recorded_keys(engine) == []  # every attempt's effect row was rolled back with its failure


def test_a_dead_jobs_hook_runs_once_with_the_death_and_a_retry_runs_the_other(
    factory: sessionmaker[Session], engine: Engine
) -> None:
    job_id = add_job(factory, "test.fail_with_hooks", {}, max_attempts=2)
    assert run_next(factory, "w1", now=T0)
    assert recorded_keys(engine) == []  # not dead yet: one more attempt to go
    assert run_next(factory, "w1", now=T0 + dt.timedelta(days=1))
    assert load(factory, job_id).state == JobState.DEAD
    assert recorded_keys(engine) == [f"dead:{job_id}:dead"]  # in the transaction that recorded the death

    with factory() as session:
        do_retry_job(session, ADMIN, access_job_by_id(session, ADMIN, job_id))
    assert recorded_keys(engine) == [f"dead:{job_id}:dead", f"retried:{job_id}:queued"]


def test_a_failing_hook_does_not_keep_the_job_alive(factory: sessionmaker[Session], engine: Engine) -> None:
    job_id = add_job(factory, "test.fail_with_hooks", {"hook_fails": True}, max_attempts=1)

    assert run_next(factory, "w1", now=T0)

    job = load(factory, job_id)
    assert (job.state, job.attempts) == (JobState.DEAD, 1)
    assert job.last_error is not None and "this task always fails" in job.last_error
    assert recorded_keys(engine) == []  # the hook's own write went with its failure
    assert not run_next(factory, "w1", now=T0 + dt.timedelta(days=1))


def test_the_last_error_is_a_summary_and_where_without_secrets(factory: sessionmaker[Session]) -> None:
    message = "cannot reach postgresql://wz:hunter2@db.internal/wz\nsecond line"
    job_id = add_job(factory, "test.fail", {"message": message})

    run_next(factory, "w1", now=T0)

    error = load(factory, job_id).last_error
    assert error is not None
    lines = error.splitlines()
    assert lines[0] == "RuntimeError: cannot reach postgresql://wz:***@db.internal/wz"
    assert any("taskdefs.py" in line and "in fail" in line for line in lines[1:])
    assert "hunter2" not in error and "second line" not in error


def test_an_unknown_task_goes_dead_at_once(factory: sessionmaker[Session]) -> None:
    with factory() as session:  # enqueue refuses unknown names; this job outlived its task's rename
        job = Job(task="gone.renamed", payload={}, run_after=T0, max_attempts=5)
        session.add(job)
        session.commit()

    assert run_next(factory, "w1", now=T0)

    job = load(factory, job.id)
    assert (job.state, job.attempts) == (JobState.DEAD, 1)
    assert job.last_error is not None and "no handler is registered for task 'gone.renamed'" in job.last_error


@pytest.mark.parametrize("how", ["commit", "rollback"])
def test_a_handler_cannot_end_the_jobs_transaction(factory: sessionmaker[Session], engine: Engine, how: str) -> None:
    job_id = add_job(factory, "test.end_transaction", {"how": how})

    assert run_next(factory, "w1", now=T0)

    job = load(factory, job_id)
    assert (job.state, job.attempts) == (JobState.QUEUED, 1)
    assert job.last_error is not None and "HandlerEndedTransaction" in job.last_error
    assert recorded_keys(engine) == []


# --- the console's actions ------------------------------------------------------------------------------


def make_agency(session: Session, slug: str) -> Agency:
    agency = Agency(slug=slug, name=slug)
    session.add(agency)
    session.flush()
    record_audit(session, ADMIN, "cli:agency:create", agency_id=agency.id, subject_type="agency", subject_id=agency.id)
    return agency


def make_dead_job(session: Session, agency_id: int | None, task: str = "test.fail") -> Job:
    job = enqueue(session, task, {}, agency_id=agency_id, max_attempts=1)
    job.state, job.attempts, job.finished_at, job.last_error = JobState.DEAD.value, 1, T0, "RuntimeError: boom"
    session.flush()
    return job


def test_a_platform_admin_retries_a_dead_job(factory: sessionmaker[Session]) -> None:
    install_audit_guard()  # the retry must pass the guard that refuses unaudited changes
    with factory() as session:
        job = make_dead_job(session, None)
        session.commit()

        do_retry_job(session, ADMIN, access_job_by_id(session, ADMIN, job.id))
        session.commit()

        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "console:job:retry")).one()
    assert (event.subject_type, event.subject_id, event.data["previous_attempts"]) == ("job", job.id, 1)
    job = load(factory, job.id)
    assert (job.state, job.attempts, job.finished_at, job.finished_by) == (JobState.QUEUED, 0, None, None)
    assert run_next(factory, "w1")  # due now, and it runs (and fails) again
    assert load(factory, job.id).state == JobState.DEAD


def test_only_platform_admins_retry_and_only_dead_jobs(factory: sessionmaker[Session]) -> None:
    with factory() as session:
        agency = make_agency(session, "a")
        job = make_dead_job(session, agency.id)
        agency_admin = Actor(user_id=1, roles={agency.id: Role.ADMIN})
        with pytest.raises(Forbidden):
            do_retry_job(session, agency_admin, job)
        job.state = JobState.DONE.value
        with pytest.raises(Conflict, match="Only a dead job"):
            do_retry_job(session, ADMIN, job)


def test_a_retried_job_runs_inline_after_commit_in_inline_mode(factory: sessionmaker[Session], engine: Engine) -> None:
    with factory() as session:
        job = make_dead_job(session, None, task="test.record")
        job.payload = {"key": "retried"}
        session.commit()
        with taskdefs.jobs_inline(True):
            do_retry_job(session, ADMIN, job)
            session.commit()
    assert load(factory, job.id).state == JobState.DONE
    assert recorded_keys(engine) == ["retried"]


def test_jobs_are_reached_only_within_the_actors_agencies(factory: sessionmaker[Session]) -> None:
    with factory() as session:
        mine, theirs = make_agency(session, "mine"), make_agency(session, "theirs")
        my_job, their_job = make_dead_job(session, mine.id), make_dead_job(session, theirs.id)
        platform_job = make_dead_job(session, None)
        viewer = Actor(user_id=1, roles={mine.id: Role.VIEWER})

        assert access_job_by_id(session, viewer, my_job.id) is my_job
        for hidden in (their_job.id, platform_job.id, 999_999):
            with pytest.raises(NotFound):
                access_job_by_id(session, viewer, hidden)
        assert access_job_by_id(session, ADMIN, platform_job.id) is platform_job


def test_dead_jobs_lists_what_the_actor_may_see(factory: sessionmaker[Session]) -> None:
    with factory() as session:
        mine, theirs = make_agency(session, "mine"), make_agency(session, "theirs")
        my_job, their_job = make_dead_job(session, mine.id), make_dead_job(session, theirs.id)
        platform_job = make_dead_job(session, None)
        enqueue(session, "test.record", {"key": "queued"}, agency_id=mine.id)
        viewer = Actor(user_id=1, roles={mine.id: Role.VIEWER})

        assert dead_jobs(session, viewer) == [my_job]
        assert dead_jobs(session, viewer, agency_id=mine.id) == [my_job]
        with pytest.raises(NotFound):
            dead_jobs(session, viewer, agency_id=theirs.id)
        assert {job.id for job in dead_jobs(session, ADMIN)} == {my_job.id, their_job.id, platform_job.id}
        assert len(dead_jobs(session, ADMIN, limit=2)) == 2
        assert job_counts_by_state(session) == {"queued": 1, "done": 0, "dead": 3}


# --- the project's tasks --------------------------------------------------------------------------------


def test_purge_expired_sessions_deletes_only_what_expired(factory: sessionmaker[Session]) -> None:
    now = utcnow()
    with factory() as session:
        user = User(username="li", display_name="Li", password_hash="x")
        session.add(user)
        session.flush()
        record_audit(session, ADMIN, "cli:user:create", agency_id=None, subject_type="user", subject_id=user.id)
        for token, expires_at in (("old", now - dt.timedelta(seconds=1)), ("live", now + dt.timedelta(hours=1))):
            session.add(StaffSession(token_hash=token, user_id=user.id, csrf_token="c", expires_at=expires_at))
        for name, at in (("old", now - dt.timedelta(days=1, seconds=1)), ("recent", now - dt.timedelta(hours=23))):
            session.add(LoginAttempt(username=name, ip="1.2.3.4", succeeded=False, attempted_at=at))
        enqueue(session, "staff.purge_expired_sessions")
        session.commit()

    assert run_until_idle(factory, "w1") == 1

    with factory() as session:
        assert list(session.scalars(select(StaffSession.token_hash))) == ["live"]
        assert list(session.scalars(select(LoginAttempt.username))) == ["recent"]


# --- worker processes -----------------------------------------------------------------------------------


def test_run_worker_once_runs_the_due_jobs(factory: sessionmaker[Session], engine: Engine) -> None:
    for key in "ab":
        add_job(factory, "test.record", {"key": key}, run_after=utcnow())

    assert run_worker(get_settings(), once=True, imports=["tests.jobs.taskdefs"], name="once") == 2
    assert recorded_keys(engine) == ["a", "b"]


def test_sqlite_allows_one_worker(is_postgres: bool) -> None:
    if is_postgres:
        pytest.skip("PostgreSQL runs any number of workers; the one-worker lock is for SQLite")
    settings = get_settings()
    with single_worker_lock(settings):
        with pytest.raises(Conflict, match="SQLite allows one worker") as refused:
            run_worker(settings, once=True)
        assert refused.value.code == "worker_already_running"
        second = subprocess.run(
            [sys.executable, "-m", "wenzheng.jobs.worker", "--once"],
            cwd=taskdefs.ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert second.returncode == 1
    assert "SQLite allows one worker" in second.stderr
    assert run_worker(settings, once=True) == 0  # the lock went with the first worker


def test_sigterm_stops_a_worker_after_its_current_job(
    factory: sessionmaker[Session], engine: Engine, tmp_path: Path
) -> None:
    started, release = tmp_path / "started", tmp_path / "release"
    payload = {"key": "b", "started": str(started), "release": str(release)}
    job_id = add_job(factory, "test.block", payload, run_after=utcnow() - dt.timedelta(seconds=1))
    add_job(factory, "test.record", {"key": "never"}, run_after=utcnow())
    with (tmp_path / "worker.log").open("wb") as log:
        worker = taskdefs.start_worker(log, "--name", "w-term")
        try:
            wait_until(started.exists, timeout=20, what="the worker to start the blocking job")
            worker.send_signal(signal.SIGTERM)
            release.touch()
            assert worker.wait(timeout=20) == 0, (tmp_path / "worker.log").read_text()
        finally:
            taskdefs.stop_processes([worker])

    job = load(factory, job_id)
    assert (job.state, job.finished_by) == (JobState.DONE, "w-term")
    assert recorded_keys(engine) == ["b"]  # it finished the job in hand and took no other


def test_effects_of_a_job_commit_with_its_completion(factory: sessionmaker[Session], engine: Engine) -> None:
    # A worker that dies mid-job leaves nothing: simulate it by failing the outer commit.
    job_id = add_job(factory, "test.record", {"key": "lost"})

    class DiesAtCommit(Session):
        def commit(self) -> None:
            raise KeyboardInterrupt("killed")

    with pytest.raises(KeyboardInterrupt):
        run_next(sessionmaker(bind=engine, class_=DiesAtCommit), "w1", now=T0)

    assert load(factory, job_id).state == JobState.QUEUED
    assert recorded_keys(engine) == []
    assert run_next(factory, "w2", now=T0)
    assert recorded_keys(engine) == ["lost"]
