"""What a bulletin channel's shared pace costs: transactions per second of the database bucket, next to the
in-process bucket, and sends per second through ``take`` at a pace no bucket holds back.

    python -m bench.pace [--database-url URL] [--takes 2000]

Without ``--database-url`` a fresh SQLite file is used; give a PostgreSQL URL (an empty database) to measure
the bucket where it is used. ``take`` asks the database once per tenth of a second's worth of sends, so the
sends it allows per second are about ten times the pace's bucket size per transaction.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--takes", type=int, default=2000)
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="wenzheng-pace-")
    os.environ["WENZHENG_DATABASE_URL"] = args.database_url or f"sqlite:///{folder}/pace.db"

    from wenzheng import db
    from wenzheng.bulletins.pace import LocalRateLimiter, SharedRateLimiter
    from wenzheng.migrate import upgrade

    upgrade(db.get_engine())
    print(f"bulletin pace: {db.get_engine().dialect.name}, {args.takes} takes each")
    unpaced = SharedRateLimiter("bench.transactions", 1e9, db.session_factory)
    unpaced.try_take(0)
    rate = _rate(lambda: unpaced.try_take(), args.takes)
    print(f"  database bucket, one transaction per take   {rate:>10,.0f} takes/s ({1000 / rate:.2f} ms each)")
    for per_second in (50.0, 200.0):
        # A pace the clock never holds back (time frozen at a full bucket would), so the figure is the cost alone.
        name = f"bench.{per_second:.0f}.{os.getpid()}"  # a bucket of its own: an earlier run's clock ran ahead
        shared = SharedRateLimiter(name, per_second, db.session_factory, clock=_Frozen())
        sends = _rate(shared.take, args.takes)
        print(f"  take() at {per_second:>4.0f}/s (a tenth of it per transaction) {sends:>10,.0f} sends/s")
    local = LocalRateLimiter(1e9)
    print(f"  in-process bucket (baseline)                 {_rate(local.take, args.takes):>10,.0f} takes/s")


class _Frozen:
    """A clock that moves a full second on every reading: the bucket is always full, never waited for."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


def _rate(step: object, count: int) -> float:
    assert callable(step)
    started = time.perf_counter()
    for _ in range(count):
        step()
    return count / (time.perf_counter() - started)


if __name__ == "__main__":
    main()
