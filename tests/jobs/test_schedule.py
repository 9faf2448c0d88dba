"""Periodic housekeeping is enqueued when due, once; and every task the code names is registered."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from wenzheng.db import utcnow
from wenzheng.jobs.models import Job, JobState
from wenzheng.jobs.registry import registered_task_names
from wenzheng.jobs.schedule import PERIODIC, enqueue_due_periodic

PACKAGE = Path(__file__).parent.parent.parent / "wenzheng"


def _jobs(db: Session) -> list[Job]:
    return list(db.execute(select(Job).where(Job.task == "staff.purge_expired_sessions")).scalars())


def test_periodic_tasks_are_enqueued_once_until_they_run(tx_db: Session) -> None:
    assert enqueue_due_periodic(tx_db) == list(PERIODIC)
    assert enqueue_due_periodic(tx_db) == []  # one of each is already pending
    assert len(_jobs(tx_db)) == 1


def test_a_recent_run_waits_for_its_interval(tx_db: Session) -> None:
    now = utcnow()
    tx_db.add(Job(task="staff.purge_expired_sessions", state=JobState.DONE.value, finished_at=now))
    tx_db.commit()
    assert "staff.purge_expired_sessions" not in enqueue_due_periodic(tx_db, now=now + dt.timedelta(minutes=30))
    assert "staff.purge_expired_sessions" in enqueue_due_periodic(tx_db, now=now + dt.timedelta(hours=2))


def test_every_task_the_code_names_is_registered() -> None:
    named = set(PERIODIC)
    for path in PACKAGE.rglob("*.py"):
        named |= set(re.findall(r'enqueue\(\s*\w+,\s*"([a-z0-9_.]+)"', path.read_text()))
    assert named, "found no task names"
    assert named <= set(registered_task_names())


def test_housekeeping_forgets_abuse_counters_older_than_their_window(tx_db: Session) -> None:
    from wenzheng.channels.models import IntakeThrottle
    from wenzheng.jobs.queue import enqueue

    now = utcnow()
    tx_db.add_all(
        [
            IntakeThrottle(scope="web-ip", key="1.2.3.4", at=now - dt.timedelta(hours=2)),
            IntakeThrottle(scope="web-ip", key="1.2.3.4", at=now),
        ]
    )
    enqueue(tx_db, "staff.purge_expired_sessions")
    tx_db.commit()  # jobs run inline in tests, right after this commit
    kept = tx_db.execute(select(IntakeThrottle.at)).scalars().all()
    assert len(kept) == 1 and kept[0] > now - dt.timedelta(minutes=1)
