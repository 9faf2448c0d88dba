"""A channel's pace is the account's, not a process's: worker processes share one bucket in the database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from wenzheng import db as wz_db
from wenzheng.bulletins.models import RateBucket
from wenzheng.bulletins.pace import LocalRateLimiter, SharedRateLimiter
from wenzheng.bulletins.senders import limiter

ROOT = Path(__file__).resolve().parents[2]


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def test_two_holders_of_one_bucket_share_its_tokens(db: Session) -> None:
    clock = Clock()
    first = SharedRateLimiter("test.sms", 5.0, wz_db.session_factory, clock=clock)
    second = SharedRateLimiter("test.sms", 5.0, wz_db.session_factory, clock=clock)  # another process's

    assert [first.try_take() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert [second.try_take() for _ in range(2)] == [0.0, 0.0]
    assert second.try_take() == pytest.approx(0.2)  # the bucket is empty: one token comes in a fifth of a second
    assert first.try_take() == pytest.approx(0.2)
    clock.now += 0.4
    assert [first.try_take(), second.try_take()] == [0.0, 0.0]
    assert first.try_take() > 0
    clock.now += 60  # a long pause fills the bucket to one second's worth, no more
    assert [second.try_take() for _ in range(5)] == [0.0] * 5
    assert first.try_take() > 0
    assert db.execute(select(RateBucket.name)).scalars().all() == ["test.sms"]


def test_a_take_larger_than_the_bucket_waits_for_a_full_one_and_leaves_a_debt(db: Session) -> None:
    clock = Clock()
    pushes = SharedRateLimiter("test.webpush", 10.0, wz_db.session_factory, clock=clock)
    assert pushes.try_take(3) == 0.0
    assert pushes.try_take(25) == pytest.approx(0.3)  # needs a full bucket (10), has 7
    clock.now += 0.3
    assert pushes.try_take(25) == 0.0  # a batch of 25 pushes goes out at once…
    assert pushes.try_take() == pytest.approx(1.6)  # …and the next waits until the 15 owed and one more are back


def test_a_process_takes_a_tenth_of_a_second_ahead_so_that_not_every_send_is_a_transaction(db: Session) -> None:
    clock = Clock()
    sms = SharedRateLimiter("test.sms", 50.0, wz_db.session_factory, clock=clock)
    other = SharedRateLimiter("test.sms", 50.0, wz_db.session_factory, clock=clock)

    def left() -> float:
        db.expire_all()
        return db.execute(select(RateBucket.tokens).where(RateBucket.name == "test.sms")).scalar_one()

    sms.take()
    assert (left(), sms.held) == (45.0, 4)  # five taken from the bucket, one of them used
    for _ in range(4):
        sms.take()
    assert (left(), sms.held) == (45.0, 0)  # the four held ahead, without asking the database
    assert other.try_take(45) == 0.0 and other.try_take() > 0  # what the first took ahead is not there to take
    clock.now += 0.02
    sms.take()  # one token back: less than a tenth of a second's worth is there, and it takes what it needs
    assert sms.held == 0 and left() == pytest.approx(0.0, abs=1e-5)


def test_the_bucket_lives_in_the_database_on_postgresql_and_in_the_process_on_sqlite(is_postgres: bool) -> None:
    kind = SharedRateLimiter if is_postgres else LocalRateLimiter
    assert isinstance(limiter("sms"), kind)


_SENDER = """
import json, sys, time
from wenzheng import db
from wenzheng.bulletins.pace import SharedRateLimiter
pace = SharedRateLimiter("test.pace", float(sys.argv[1]), db.session_factory)
pace.try_take(0)  # connect before the start line, so the timing is of the pacing alone
print("ready", flush=True)
sys.stdin.readline()
times = []
for _ in range(int(sys.argv[2])):
    pace.take()
    times.append(time.time())
print(json.dumps(times), flush=True)
"""


def test_two_worker_processes_together_keep_one_pace(db: Session) -> None:
    rate, each = 20.0, 30
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    senders = [
        subprocess.Popen(
            [sys.executable, "-c", _SENDER, str(rate), str(each)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=environment,
        )
        for _ in range(2)
    ]
    for sender in senders:
        assert sender.stdout is not None and sender.stdout.readline().strip() == "ready"
    started = time.time()
    for sender in senders:
        assert sender.stdin is not None
        sender.stdin.write("go\n")
        sender.stdin.flush()
    times = sorted(t for sender in senders for t in json.loads(sender.communicate(timeout=60)[0]))
    assert all(sender.returncode == 0 for sender in senders)
    # A full bucket (20) at once, then 20 a second for both together: the last of the 60 no sooner than 2 s
    # after the start. Two buckets of their own would have let each finish in half a second.
    assert len(times) == 2 * each
    assert times[-1] - started >= (2 * each - rate) / rate - 0.01
    # And in no second did the two together go over one second's refill plus the bucket they started with.
    for i, first in enumerate(times):
        within = sum(1 for t in times[i:] if t - first < 1.0)
        assert within <= 2 * rate + 1
