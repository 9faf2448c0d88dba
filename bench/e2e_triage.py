"""End to end: a P0 message posted to the WeChat callback while 1,000 other messages a second arrive —
how long until it is stored as a P0 case (intake, the triage job in a worker process, case placement)?

    python -m bench.e2e_triage [--rate 1000] [--seconds 10] [--probes 20]

Prints the P0-to-case latency (p50 / p99 / max) and, as the baseline measured in the same run, the same
latency with no background load. Loopback only; bounded in count and time. Goal: p99 ≤ 1 s under load.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench.loadgen import run
from bench.wechat_ingest import prepare_wenzheng, server, workload

PLEA = "第{n}号求救：我们{n}个人被困在倒塌的教学楼下面，有人受伤，快来救我们！"


def start_worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    worker_env = {**os.environ, **env, "WENZHENG_WORKER_POLL_SECONDS": "0.05"}
    return subprocess.Popen([sys.executable, "-m", "wenzheng.cli", "worker"], env=worker_env)


def case_exists(db: Path, msg_id: int) -> bool:
    with sqlite3.connect(db, timeout=5) as connection:
        row = connection.execute(
            "SELECT cases.urgency FROM messages JOIN cases ON cases.id = messages.case_id "
            "WHERE messages.channel_message_id = ?",
            (str(msg_id),),
        ).fetchone()
    return bool(row) and row[0] == "P0"


def probe(port: int, db: Path, msg_id: int, n: int) -> float:
    """Post one plea and return the seconds until its P0 case exists (or inf after 10 s)."""
    from bench.loadgen import Request
    from wenzheng.channels.wechat.simulate import Credentials, signed_push, text_xml

    query, body = signed_push(
        Credentials(token="benchtoken"), text_xml(PLEA.format(n=n), openid=f"o_probe_{n}", msg_id=msg_id), encrypt=False
    )
    start = time.perf_counter()
    asyncio.run(run("127.0.0.1", port, [Request(f"/wechat/bench?{query}", body)], connections=1))
    while time.perf_counter() - start < 10:
        if case_exists(db, msg_id):
            return time.perf_counter() - start
        time.sleep(0.01)
    return float("inf")


def probes(port: int, db: Path, count: int, first_id: int, pause: float) -> list[float]:
    latencies = []
    for n in range(count):
        latencies.append(probe(port, db, first_id + n, n))
        time.sleep(pause)
    return latencies


def summary(latencies: list[float]) -> str:
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return (
        f"p50 {statistics.median(ordered) * 1000:7.0f} ms   p99 {p99 * 1000:7.0f} ms   "
        f"max {ordered[-1] * 1000:7.0f} ms   ({len(ordered)} pleas)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--probes", type=int, default=20)
    args = parser.parse_args()
    print(
        f"E2E triage — {time.strftime('%Y-%m-%d %H:%M')} — {os.cpu_count()} CPUs, SQLite, one server and one "
        f"worker process, background {args.rate:,.0f} msg/s"
    )
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        env, _slug = prepare_wenzheng(folder)
        db = folder / "bench.db"
        background, _ids = workload(int(args.rate * args.seconds), token="benchtoken", seed=7, first_id=4 * 10**15)
        worker = start_worker(env)
        try:
            with server("wenzheng.app:create_app", env, factory=True) as port:
                idle = probes(port, db, max(5, args.probes // 2), 5 * 10**15, 0.1)
                load = threading.Thread(
                    target=lambda: asyncio.run(run("127.0.0.1", port, background, connections=32, rate=args.rate))
                )
                load.start()
                time.sleep(1.0)  # let the load settle
                loaded = probes(port, db, args.probes, 6 * 10**15, max(0.0, args.seconds - 2) / args.probes)
                load.join(timeout=args.seconds + 60)
        finally:
            worker.terminate()
            worker.wait(timeout=30)
        with sqlite3.connect(db) as connection:
            stored = connection.execute("SELECT count(*) FROM messages").fetchone()[0]
            assessed = connection.execute("SELECT count(*) FROM assessments").fetchone()[0]
    print(f"  baseline, no load:   {summary(idle)}")
    print(f"  under load:          {summary(loaded)}   (goal p99 ≤ 1,000 ms)")
    print(f"  messages stored {stored:,}; assessed by the worker {assessed:,}")


if __name__ == "__main__":
    main()
