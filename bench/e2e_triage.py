"""End to end: a P0 message posted to the WeChat callback while 1,000 other messages a second arrive —
how long until it is stored as a P0 case (intake, triage — the fast lane or the worker —, case placement)?

    python -m bench.e2e_triage [--rate 1000] [--seconds 10] [--probes 20] [--pg postgresql+psycopg://…/postgres]

Prints the P0-to-case latency (p50 / p99 / max) and the time to the plea's acknowledgement and, as the baseline
measured in the same run, the same with no background load. On SQLite by default; ``--pg`` names a PostgreSQL
server database to connect through: a fresh database is created beside it for the run and dropped afterwards.
Loopback only; bounded in count and time. Goal: p99 ≤ 1 s under load.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from bench.loadgen import Request, run
from bench.wechat_ingest import prepare_wenzheng, server, workload

PLEA = "第{n}号求救：我们{n}个人被困在倒塌的教学楼下面，有人受伤，快来救我们！"
CASE_OF = text(
    "SELECT cases.urgency FROM messages JOIN cases ON cases.id = messages.case_id "
    "WHERE messages.account_id = (SELECT id FROM accounts WHERE slug = 'bench') "
    "AND messages.channel = 'wechat' AND messages.channel_message_id = :msg_id"
)


def start_worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    worker_env = {**os.environ, **env, "WENZHENG_WORKER_POLL_SECONDS": "0.05"}
    return subprocess.Popen([sys.executable, "-m", "wenzheng.cli", "worker"], env=worker_env)


@contextmanager
def database(folder: Path, pg_admin_url: str | None) -> Iterator[str | None]:
    """None (SQLite in ``folder``), or the URL of a fresh PostgreSQL database, dropped at the end."""
    if not pg_admin_url:
        yield None
        return
    name = f"wz_bench_{secrets.token_hex(4)}"
    admin = create_engine(pg_admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(pg_admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def probe(port: int, engine: Engine, msg_id: int, n: int) -> tuple[float, float]:
    """Post one plea; the seconds until it was acknowledged, and until its P0 case exists (inf after 10 s)."""
    from wenzheng.channels.wechat.simulate import Credentials, signed_push, text_xml

    query, body = signed_push(
        Credentials(token="benchtoken"), text_xml(PLEA.format(n=n), openid=f"o_probe_{n}", msg_id=msg_id), encrypt=False
    )
    start = time.perf_counter()
    asyncio.run(run("127.0.0.1", port, [Request(f"/wechat/bench?{query}", body)], connections=1))
    acknowledged = time.perf_counter() - start
    while time.perf_counter() - start < 10:
        with engine.connect() as connection:
            if connection.execute(CASE_OF, {"msg_id": str(msg_id)}).scalar() == "P0":
                return acknowledged, time.perf_counter() - start
        time.sleep(0.005)
    return acknowledged, float("inf")


def probes(port: int, engine: Engine, count: int, first_id: int, pause: float) -> list[tuple[float, float]]:
    timings = []
    for n in range(count):
        timings.append(probe(port, engine, first_id + n, n))
        time.sleep(pause)
    return timings


def summary(latencies: list[float]) -> str:
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return (
        f"p50 {statistics.median(ordered) * 1000:6.0f} ms   p99 {p99 * 1000:6.0f} ms   max {ordered[-1] * 1000:6.0f} ms"
    )


def report(label: str, timings: list[tuple[float, float]], goal: str = "") -> None:
    cases = summary([case for _ack, case in timings])
    acks = summary([ack for ack, _case in timings])
    print(f"  {label:<12} P0 case: {cases}   ({len(timings)} pleas){goal}")
    print(f"  {'':<12} answer:  {acks}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--probes", type=int, default=20)
    parser.add_argument("--pg", metavar="URL", default=None, help="a PostgreSQL server database to connect through")
    args = parser.parse_args()
    engine_name = "PostgreSQL" if args.pg else "SQLite"
    print(
        f"E2E triage — {time.strftime('%Y-%m-%d %H:%M')} — {os.cpu_count()} CPUs, {engine_name}, one server and one "
        f"worker process, background {args.rate:,.0f} msg/s"
    )
    with tempfile.TemporaryDirectory() as tmp, database(Path(tmp), args.pg) as url:
        folder = Path(tmp)
        env, _slug = prepare_wenzheng(folder, url)
        engine = create_engine(env["WENZHENG_DATABASE_URL"])
        background, _ids = workload(int(args.rate * args.seconds), token="benchtoken", seed=7, first_id=4 * 10**15)
        worker = start_worker(env)
        try:
            with server("wenzheng.app:create_app", env, factory=True) as port:
                idle = probes(port, engine, max(5, args.probes // 2), 5 * 10**15, 0.1)
                load = threading.Thread(
                    target=lambda: asyncio.run(run("127.0.0.1", port, background, connections=32, rate=args.rate))
                )
                load.start()
                time.sleep(1.0)  # let the load settle
                loaded = probes(port, engine, args.probes, 6 * 10**15, max(0.0, args.seconds - 2) / args.probes)
                load.join(timeout=args.seconds + 60)
        finally:
            worker.terminate()
            worker.wait(timeout=30)
        with engine.connect() as connection:
            stored = connection.execute(text("SELECT count(*) FROM messages")).scalar_one()
            assessed = connection.execute(text("SELECT count(*) FROM assessments")).scalar_one()
        engine.dispose()
    report("no load", idle)
    report("under load", loaded, "   (goal p99 ≤ 1,000 ms)")
    print(f"  messages stored {stored:,}; assessed when the run ended {assessed:,}")


if __name__ == "__main__":
    main()
