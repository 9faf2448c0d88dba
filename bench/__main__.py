"""Run every benchmark on SQLite (a temporary file) and, when reachable, on the local PostgreSQL.

    python -m bench [--jobs N] [--requests N] [--pg URL]

Figures are ratios against a baseline measured in the same run, because the machines are noisy.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
# Each prints its own figures next to its own baseline; `make bench` runs them all.
OTHER_BENCHMARKS = ("bench.wechat_ingest", "bench.triage", "bench.pace", "bench.map")


@contextmanager
def database(kind: str, pg_url: str) -> Iterator[str | None]:
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite:///{folder}/bench.db"
        return
    name = f"wz_bench_{secrets.token_hex(4)}"
    try:
        admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        print(f"  (PostgreSQL not reachable, skipped: {type(exc).__name__})")
        yield None
        return
    try:
        yield make_url(pg_url).set(database=name).render_as_string(hide_password=False)
    finally:
        from wenzheng import db as wz_db

        wz_db.reset_engine()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def use_database(url: str) -> None:
    from wenzheng import db as wz_db
    from wenzheng.config import reset_settings_cache
    from wenzheng.migrate import upgrade

    os.environ["WENZHENG_DATABASE_URL"] = url
    os.environ["WENZHENG_JOBS_INLINE"] = "false"
    reset_settings_cache()
    wz_db.reset_engine()
    upgrade(wz_db.get_engine())


def timed(fn: Callable[[], object], count: int) -> list[float]:
    samples = []
    for _ in range(count):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return samples


def bench_jobs(count: int) -> None:
    """Enqueue-and-run cost of one job against the floor: one durable single-row transaction."""
    from bench.tasks import BENCH_TASK
    from wenzheng.db import get_engine, session_factory
    from wenzheng.jobs.queue import enqueue
    from wenzheng.jobs.worker import run_until_idle

    engine = get_engine()
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE bench_floor (id INTEGER PRIMARY KEY, note VARCHAR(20))"))
    counter = iter(range(10**9))

    def floor() -> None:
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO bench_floor (id, note) VALUES (:i, 'x')"), {"i": next(counter)})

    def one_enqueue() -> None:
        with session_factory()() as session:
            enqueue(session, BENCH_TASK, {"n": 1})
            session.commit()

    floor_s = timed(floor, count)
    enqueue_s = timed(one_enqueue, count)
    start = time.perf_counter()
    ran = run_until_idle(session_factory(), "bench")
    run_s = time.perf_counter() - start
    assert ran == count, f"ran {ran} of {count} jobs"
    floor_ms = statistics.median(floor_s) * 1000
    report("enqueue one job (own transaction), median", statistics.median(enqueue_s) * 1000, floor_ms, "ms")
    report("run one job (claim + handler + done), mean", run_s / count * 1000, floor_ms, "ms")
    print(
        f"    worker throughput: {count / run_s:,.0f} jobs/s over {count} jobs; baseline transaction {floor_ms:.3f} ms"
    )


def bench_api(count: int) -> None:
    """An authenticated, tenant-scoped API read against the framework floor (/healthz)."""
    from fastapi.testclient import TestClient

    from wenzheng.accounts.actions import do_create_account
    from wenzheng.agencies.actions import do_create_agency
    from wenzheng.app import create_app
    from wenzheng.db import session_factory
    from wenzheng.staff.actions import do_create_api_token
    from wenzheng.staff.actor import Actor
    from wenzheng.staff.roles import Role

    actor = Actor.system("bench")
    with session_factory()() as session:
        agency = do_create_agency(session, actor, slug="bench", name="基准机构")
        for n in range(10):
            do_create_account(session, actor, agency, slug=f"bench-{n}", name=f"账号 {n}")
        _token, raw = do_create_api_token(session, actor, agency, name="bench", role=Role.VIEWER)
    with TestClient(create_app()) as client:
        headers = {"Authorization": f"Bearer {raw}"}
        url = f"/api/v1/agencies/{agency.id}/accounts"
        assert client.get(url, headers=headers).status_code == 200
        floor_s = timed(lambda: client.get("/healthz"), count)
        api_s = timed(lambda: client.get(url, headers=headers), count)
    floor_ms = statistics.median(floor_s) * 1000
    report("GET accounts with a bearer token, median", statistics.median(api_s) * 1000, floor_ms, "ms")
    p95 = sorted(api_s)[int(len(api_s) * 0.95)] * 1000
    print(f"    p95 {p95:.2f} ms; baseline GET /healthz {floor_ms:.2f} ms")


def report(label: str, value: float, baseline: float, unit: str) -> None:
    print(f"  {label:<48} {value:8.3f} {unit}   ×{value / baseline:5.1f} baseline")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=500)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--pg", default=os.environ.get("WENZHENG_TEST_DATABASE_URL", DEFAULT_PG))
    args = parser.parse_args()
    print(
        f"wenzheng benchmarks — {time.strftime('%Y-%m-%d %H:%M')} — {platform.node()} "
        f"({os.cpu_count()} CPUs, Python {platform.python_version()})"
    )
    for kind in ("sqlite", "postgresql"):
        print(f"\n[{kind}]")
        with database(kind, args.pg) as url:
            if url is None:
                continue
            use_database(url)
            bench_jobs(args.jobs)
            bench_api(args.requests)
    for module in OTHER_BENCHMARKS:
        if importlib.util.find_spec(module) is not None:
            print()
            subprocess.run([sys.executable, "-m", module], check=True)


if __name__ == "__main__":
    main()
