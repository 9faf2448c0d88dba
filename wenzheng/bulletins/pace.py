"""How fast bulletins go out on each channel, whatever the number of worker processes sending.

A provider's limit is the account's, not a process's: WeChat allows the account so many calls a minute, the SMS
gateway and the mail relay so many messages a second. On SQLite one worker sends (the worker's lock file), so a
token bucket in that process keeps the pace (``LocalRateLimiter``). On PostgreSQL several workers send at once,
so the bucket lives in the database (``rate_buckets``, one row per channel): a taker locks the row, refills it
for the time passed, and takes its tokens, in one short transaction of its own.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol

from sqlalchemy import select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from wenzheng.bulletins.models import RateBucket

# Epoch seconds as doubles are exact to about a microsecond: a bucket short by less than that is full enough.
_ROUNDING = 1e-6


class RateLimiter(Protocol):
    per_second: float

    def take(self, count: int = 1) -> None:
        """Wait until ``count`` sends are allowed, then count them as made."""


class LocalRateLimiter:
    """A token bucket shared by the threads of one process: ``take(n)`` waits until n sends are allowed."""

    def __init__(self, per_second: float) -> None:
        self.per_second = per_second
        self.allowance = per_second
        self.checked = time.monotonic()
        self.lock = threading.Lock()

    def take(self, count: int = 1) -> None:
        while True:
            with self.lock:
                now = time.monotonic()
                self.allowance = min(self.per_second, self.allowance + (now - self.checked) * self.per_second)
                self.checked = now
                if self.allowance >= min(count, self.per_second):
                    self.allowance -= count
                    return
                wait = (min(count, self.per_second) - self.allowance) / self.per_second
            time.sleep(wait)  # pacing the channel, as its provider demands


class SharedRateLimiter:
    """A token bucket in the database, shared by every process that sends on the channel ``name``.

    Holds at most one second's worth of sends, as the local bucket does; a take of more than that waits for a
    full bucket and leaves it in debt, which later takers wait out. ``clock`` is wall-clock seconds, the same
    on every worker of one installation (NTP); a worker whose clock is behind never refills the bucket early.
    """

    def __init__(
        self,
        name: str,
        per_second: float,
        factory: Callable[[], sessionmaker[Session]],
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.name = name
        self.per_second = per_second
        self.factory = factory
        self.clock = clock
        # Sends taken from the bucket ahead and not yet made: at most a tenth of a second's worth, so the pace
        # of all processes together stays the bucket's, and a process rarely leaves more than that unused.
        self.chunk = max(1, int(per_second / 10))
        self.held = 0
        self.lock = threading.Lock()

    def take(self, count: int = 1) -> None:
        with self.lock:
            while count > self.held:
                granted, wait = self._take_up_to(count - self.held, self.chunk)
                self.held += granted
                if wait > 0:
                    time.sleep(wait)  # pacing the channel, as its provider demands
            self.held -= count

    def try_take(self, count: int = 1) -> float:
        """Take ``count`` sends if the bucket allows them now: 0.0; otherwise the seconds to wait before asking
        again, and nothing taken."""
        return self._take_up_to(count, count)[1]

    def _take_up_to(self, count: int, want: int) -> tuple[int, float]:
        """Take ``count`` sends, and up to ``want`` if the bucket has them (a process's next few, so that not
        every send is a transaction): how many were taken, and 0.0; or none, and the seconds to wait."""
        need = min(count, self.per_second)
        with self.factory()() as session, session.begin():
            if session.get_bind().dialect.name == "postgresql":
                # The bucket is pacing, not a record: a crash that loses its last takes costs a moment's pace,
                # so its commits need not wait for the disk.
                session.execute(text("SET LOCAL synchronous_commit = off"))
            tokens, refilled_at = self._locked_row(session)
            now = self.clock()
            tokens = min(self.per_second, tokens + max(0.0, now - refilled_at) * self.per_second)
            if tokens < need - _ROUNDING:
                return 0, (need - tokens) / self.per_second
            granted = max(count, min(want, int(tokens + _ROUNDING)))
            session.execute(
                update(RateBucket)
                .where(RateBucket.name == self.name)
                .values(tokens=tokens - granted, refilled_at=max(now, refilled_at))
            )
        return granted, 0.0

    def _locked_row(self, session: Session) -> tuple[float, float]:
        query = select(RateBucket.tokens, RateBucket.refilled_at).where(RateBucket.name == self.name)
        row = session.execute(query.with_for_update()).first()
        if row is None:  # the channel's first send, or the row was cleared: a full bucket, whoever inserts it
            insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
            start = insert(RateBucket).values(name=self.name, tokens=self.per_second, refilled_at=self.clock())
            session.execute(start.on_conflict_do_nothing(index_elements=["name"]))
            row = session.execute(query.with_for_update()).one()
        return float(row.tokens), float(row.refilled_at)
