"""Test-only tasks, the table they write to, and helpers the job tests share.

Worker subprocesses import this module (``--import tests.jobs.taskdefs``) to register the same tasks.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from sqlalchemy import Column, Engine, Integer, MetaData, String, Table, func, insert, select
from sqlalchemy.orm import Session

from wenzheng.config import reset_settings_cache
from wenzheng.jobs.models import Job
from wenzheng.jobs.queue import enqueue
from wenzheng.jobs.registry import task

ROOT = Path(__file__).resolve().parents[2]

# Not in wenzheng's metadata: the conftest's table emptying and the schema checks never see it.
effects = Table(
    "job_test_effects",
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("key", String(100), nullable=False),
)


@task("test.record")
def record(session: Session, job: Job) -> None:
    """Write one effect row; optionally then wait, inside the job's transaction, on an advisory lock."""
    session.execute(insert(effects).values(key=job.payload["key"]))
    lock_id = job.payload.get("wait_for_advisory_lock")
    if lock_id is not None:
        session.execute(select(func.pg_advisory_xact_lock(lock_id)))


@task("test.fail")
def fail(session: Session, job: Job) -> None:
    """Write an effect row, then fail: the row must not survive."""
    session.execute(insert(effects).values(key=job.payload.get("key", "failed")))
    raise RuntimeError(job.payload.get("message", "this task always fails"))


def _note_death(session: Session, job: Job) -> None:
    session.execute(insert(effects).values(key=f"dead:{job.id}:{job.state}"))
    if job.payload.get("hook_fails"):
        raise RuntimeError("the hook fails too")


def _note_retry(session: Session, job: Job) -> None:
    session.execute(insert(effects).values(key=f"retried:{job.id}:{job.state}"))


@task("test.fail_with_hooks", on_dead=_note_death, on_retry=_note_retry)
def fail_with_hooks(session: Session, job: Job) -> None:
    """Fail every time; its hooks record that the job died, and that someone retried it."""
    raise RuntimeError("this task always fails")


@task("test.chain")
def chain(session: Session, job: Job) -> None:
    """Record ``n`` and the stack depth, then enqueue ``n - 1`` until 0 (jobs that enqueue jobs)."""
    n = job.payload["n"]
    session.execute(insert(effects).values(key=f"{n}:{len(traceback.extract_stack())}"))
    if n > 0:
        enqueue(session, "test.chain", {"n": n - 1})


@task("test.end_transaction")
def end_transaction(session: Session, job: Job) -> None:
    """Misbehave: write an effect row, then commit or roll back the job's transaction."""
    session.execute(insert(effects).values(key="ended"))
    if job.payload["how"] == "commit":
        session.commit()
    else:
        session.rollback()
        session.execute(insert(effects).values(key="after-rollback"))


@task("test.block")
def block(session: Session, job: Job) -> None:
    """Say it started (a file), wait until the test creates the release file, then write an effect."""
    Path(job.payload["started"]).touch()
    wait_until(lambda: Path(job.payload["release"]).exists(), timeout=30, what="the release file")
    session.execute(insert(effects).values(key=job.payload["key"]))


def wait_until(condition: Callable[[], object], *, timeout: float, what: str, every: float = 0.01) -> None:
    """Poll ``condition`` until it is true; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up after {timeout}s waiting for {what}")
        time.sleep(every)


def recorded_keys(engine: Engine) -> list[str]:
    """Every key in the effects table, in insertion order."""
    with engine.connect() as connection:
        return list(connection.scalars(select(effects.c.key).order_by(effects.c.id)))


@contextmanager
def effects_table(engine: Engine) -> Iterator[None]:
    """Create the effects table for one test, and drop it afterwards."""
    effects.drop(engine, checkfirst=True)
    effects.create(engine)
    try:
        yield
    finally:
        effects.drop(engine, checkfirst=True)


@contextmanager
def jobs_inline(enabled: bool) -> Iterator[None]:
    """Run the block with WENZHENG_JOBS_INLINE set to ``enabled`` (the suite default is true)."""
    saved = os.environ.get("WENZHENG_JOBS_INLINE")
    os.environ["WENZHENG_JOBS_INLINE"] = "true" if enabled else "false"
    reset_settings_cache()
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("WENZHENG_JOBS_INLINE", None)
        else:
            os.environ["WENZHENG_JOBS_INLINE"] = saved
        reset_settings_cache()


def start_worker(log: IO[bytes], *args: str) -> subprocess.Popen[bytes]:
    """A real worker process on the test database, with this module's tasks and a short poll."""
    env = {
        **os.environ,
        "WENZHENG_JOBS_INLINE": "false",
        "WENZHENG_WORKER_POLL_SECONDS": "0.05",
        "PYTHONPATH": str(ROOT),
    }
    command = [sys.executable, "-m", "wenzheng.jobs.worker", "--import", "tests.jobs.taskdefs", *args]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def stop_processes(processes: list[subprocess.Popen[bytes]]) -> None:
    """Kill whatever is still running (after a failed test) and reap it."""
    for process in processes:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)
