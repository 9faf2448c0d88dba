"""Two real worker processes on PostgreSQL: each job's effects happen exactly once, even when a worker is
killed in the middle of a job."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, func, select, text
from sqlalchemy.orm import Session

from tests.jobs import taskdefs
from tests.jobs.taskdefs import effects, wait_until
from wenzheng.jobs.models import Job, JobState
from wenzheng.jobs.queue import enqueue

pytestmark = pytest.mark.postgres

JOBS = 1000
BLOCKING_KEY = "k0500"  # in the middle, so both workers have finished jobs before one is killed
ADVISORY_LOCK = 7_301_001

WAITING_ON_THE_LOCK = text(
    """
    SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
    WHERE l.locktype = 'advisory' AND NOT l.granted AND l.classid = 0 AND l.objid::bigint = :lock
      AND a.datname = current_database()
    """
)


@pytest.fixture(autouse=True)
def _postgres_only(is_postgres: bool) -> None:
    if not is_postgres:
        pytest.skip("several workers need PostgreSQL; set WENZHENG_TEST_DATABASE_URL to run this")


@pytest.fixture
def holder(engine: Engine) -> Iterator[Connection]:
    """The test's own connection, holding the advisory lock that the blocking job waits on."""
    with taskdefs.jobs_inline(False), taskdefs.effects_table(engine), engine.connect() as connection:
        connection.execute(select(func.pg_advisory_lock(ADVISORY_LOCK)))
        connection.commit()
        try:
            yield connection
        finally:
            connection.execute(select(func.pg_advisory_unlock_all()))  # a session lock outlives the pool
            connection.commit()


def test_two_workers_run_every_job_once_even_when_one_is_killed_mid_job(
    engine: Engine, holder: Connection, tmp_path: Path
) -> None:
    logs = [tmp_path / "worker-1.log", tmp_path / "worker-2.log"]
    workers: list[subprocess.Popen[bytes]] = []
    try:
        for path in logs:
            with path.open("wb") as log:
                workers.append(taskdefs.start_worker(log))
        wait_until(lambda: connected(engine, workers), timeout=20, what="both workers to connect")
        blocking_job_id = enqueue_jobs(engine)

        victim = killed_while_blocked(engine, workers, blocking_job_id)
        holder.execute(select(func.pg_advisory_unlock(ADVISORY_LOCK)))
        holder.commit()
        [survivor] = [worker for worker in workers if worker is not victim]
        wait_until(lambda: all_done(engine) or survivor.poll() is not None, timeout=30, what="the jobs")
        assert all_done(engine), read(logs)

        survivor.send_signal(signal.SIGTERM)
        assert survivor.wait(timeout=10) == 0, read(logs)
    finally:
        taskdefs.stop_processes(workers)

    assert_each_job_ran_once(engine)
    assert_both_worked(engine, victim, survivor, blocking_job_id)


def connected(engine: Engine, workers: list[subprocess.Popen[bytes]]) -> bool:
    """Both workers have polled (their engine connects on the first poll)."""
    for worker in workers:
        assert worker.poll() is None, f"worker {worker.pid} exited with {worker.returncode}"
    names = [f"wenzheng:{worker.pid}" for worker in workers]
    query = text("SELECT count(DISTINCT application_name) FROM pg_stat_activity WHERE application_name = ANY(:n)")
    with engine.connect() as connection:
        return connection.scalar(query, {"n": names}) == len(workers)


def enqueue_jobs(engine: Engine) -> int:
    """The jobs, in one transaction; one of them waits on the test's advisory lock. Its id."""
    with Session(engine) as session:
        jobs = [enqueue(session, "test.record", {"key": f"k{n:04d}"}) for n in range(JOBS)]
        [blocking] = [job for job in jobs if job.payload["key"] == BLOCKING_KEY]
        blocking.payload = {"key": BLOCKING_KEY, "wait_for_advisory_lock": ADVISORY_LOCK}
        session.commit()
        return blocking.id


def killed_while_blocked(
    engine: Engine, workers: list[subprocess.Popen[bytes]], blocking_job_id: int
) -> subprocess.Popen[bytes]:
    """Wait until a worker is stuck inside the blocking job, check it holds the job, SIGKILL it."""
    waiting: list[str] = []

    def someone_waits() -> bool:
        with engine.connect() as connection:
            waiting[:] = connection.scalars(WAITING_ON_THE_LOCK, {"lock": ADVISORY_LOCK}).all()
        return bool(waiting)

    wait_until(someone_waits, timeout=20, what="a worker to wait on the advisory lock")
    assert len(waiting) == 1, f"one worker should hold the blocking job, yet these wait for it: {waiting}"
    [victim] = [worker for worker in workers if waiting == [f"wenzheng:{worker.pid}"]]
    assert job_is_locked(engine, blocking_job_id)  # the claim is held, in the transaction that blocks
    os.kill(victim.pid, signal.SIGKILL)
    assert victim.wait(timeout=10) == -signal.SIGKILL
    return victim


def job_is_locked(engine: Engine, job_id: int) -> bool:
    with engine.begin() as connection:
        free = select(Job.id).where(Job.id == job_id).with_for_update(skip_locked=True)
        return connection.scalar(free) is None


def all_done(engine: Engine) -> bool:
    with engine.connect() as connection:
        pending = select(func.count()).where(Job.task == "test.record", Job.state != JobState.DONE.value)
        return connection.scalar(pending) == 0


def assert_each_job_ran_once(engine: Engine) -> None:
    with engine.connect() as connection:
        rows, keys = connection.execute(select(func.count(), func.count(effects.c.key.distinct()))).one()
        # Only the test's own jobs: an idle worker may also have queued (and run) periodic housekeeping.
        own = select(Job.state, func.count()).where(Job.task == "test.record").group_by(Job.state)
        states = dict(connection.execute(own).all())
        blocked = connection.scalar(select(func.count()).where(effects.c.key == BLOCKING_KEY))
    assert (rows, keys) == (JOBS, JOBS)
    assert states == {JobState.DONE.value: JOBS}
    assert blocked == 1


def assert_both_worked(
    engine: Engine, victim: subprocess.Popen[bytes], survivor: subprocess.Popen[bytes], blocking_job_id: int
) -> None:
    victim_name, survivor_name = (f"{socket.gethostname()}:{worker.pid}" for worker in (victim, survivor))
    with engine.connect() as connection:
        finished_by = Counter(connection.scalars(select(Job.finished_by)))
        blocking_done_by = connection.scalar(select(Job.finished_by).where(Job.id == blocking_job_id))
    assert set(finished_by) == {victim_name, survivor_name}
    assert finished_by[victim_name] > 0 and finished_by[survivor_name] > 0
    assert blocking_done_by == survivor_name


def read(logs: list[Path]) -> str:
    return "\n".join(f"--- {path.name}\n{path.read_text(errors='replace')}" for path in logs)
