"""WeChat ingest: the callback under many concurrent clients on SQLite, next to the floor (bench/floor_app.py).

    python -m bench.wechat_ingest [--messages N] [--connections C] [--steady-rate R] [--steady-seconds S]

Prints messages per second and p50 / p99 latency for wenzheng and for the floor, their ratio, the latency at
a steady rate, and checks that no message was lost or doubled although a share was deliberately re-sent
(WeChat's retries). Loopback only; every run is bounded in count and time.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.loadgen import Request, Result, run

RETRY_SHARE = 0.1


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cores() -> tuple[set[int], set[int]] | None:
    """Two disjoint sets of CPUs, one for the server and one for the load generator, so that neither steals the
    other's core (the closest this one machine comes to a load generator on another box); None on one CPU."""
    available = sorted(os.sched_getaffinity(0))
    if len(available) < 2:
        return None
    half = len(available) // 2
    return set(available[half:]), set(available[:half])


PINNING = cores()


@contextmanager
def server(
    target: str, env: dict[str, str], *, factory: bool, workers: int = 1, cpus: set[int] | None = None
) -> Iterator[int]:
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        target,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
        "--workers",
        str(workers),
        *(["--factory"] if factory else []),
    ]
    pin = (lambda: os.sched_setaffinity(0, cpus)) if cpus else None
    process = subprocess.Popen(command, env={**os.environ, **env}, preexec_fn=pin)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError(f"{target} did not start") from None
                time.sleep(0.1)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=30)


def prepare_wenzheng(folder: Path, database_url: str | None = None) -> tuple[dict[str, str], str]:
    """A migrated database (SQLite in ``folder`` unless ``database_url`` is given) with one agency, one account
    connected to WeChat in plaintext mode (token ``benchtoken``); returns the environment and the account slug."""
    env = {
        "WENZHENG_DATABASE_URL": database_url or f"sqlite:///{folder}/bench.db",
        "WENZHENG_JOBS_INLINE": "false",
        "WENZHENG_LOG_LEVEL": "WARNING",
    }
    os.environ.update(env)
    from wenzheng import db as wz_db
    from wenzheng.accounts.actions import do_create_account
    from wenzheng.agencies.actions import do_create_agency
    from wenzheng.channels.wechat.actions import do_connect_wechat
    from wenzheng.config import reset_settings_cache
    from wenzheng.migrate import upgrade
    from wenzheng.staff.actor import Actor

    reset_settings_cache()
    wz_db.reset_engine()
    upgrade(wz_db.get_engine())
    actor = Actor.system("bench")
    with wz_db.session_factory()() as session:
        agency = do_create_agency(session, actor, slug="bench", name="基准机构")
        account = do_create_account(session, actor, agency, slug="bench", name="基准账号")
        do_connect_wechat(
            session,
            actor,
            account,
            app_id="wx0123456789abcdef",
            token="benchtoken",
            aes_key="",
            encryption_mode="plaintext",
        )
    wz_db.reset_engine()
    return env, "bench"


def workload(count: int, *, token: str, seed: int, first_id: int) -> tuple[list[Request], set[int]]:
    """``count`` pushes from 2,000 citizens; a share re-sends an earlier MsgId, as WeChat's retries do."""
    from wenzheng.channels.wechat.simulate import Credentials, signed_push, text_xml

    rng = random.Random(seed)
    credentials = Credentials(token=token)
    requests, sent = [], []
    for n in range(count):
        msg_id = rng.choice(sent) if sent and rng.random() < RETRY_SHARE else first_id + n
        sent.append(msg_id)
        xml = text_xml(f"第{msg_id}条：路面塌陷，请派人查看", openid=f"o_citizen_{msg_id % 2000}", msg_id=msg_id)
        query, body = signed_push(credentials, xml, encrypt=False)
        requests.append(Request(f"/wechat/bench?{query}", body))
    return requests, set(sent)


def count_rows(path: Path, sql: str) -> int:
    with sqlite3.connect(path) as connection:
        return int(connection.execute(sql).fetchone()[0])


def measure(port: int, requests: list[Request], connections: int, rate: float | None = None) -> Result:
    return asyncio.run(run("127.0.0.1", port, requests, connections=connections, rate=rate))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=6000)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--steady-rate", type=float, default=1000.0)
    parser.add_argument("--steady-seconds", type=float, default=5.0)
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes for wenzheng")
    args = parser.parse_args()
    if PINNING:
        os.sched_setaffinity(0, PINNING[1])
    print(
        f"WeChat ingest — {time.strftime('%Y-%m-%d %H:%M')} — {os.cpu_count()} CPUs, plaintext mode, SQLite, "
        f"{args.connections} connections, {RETRY_SHARE:.0%} deliberate retries, {args.workers} wenzheng process(es)"
        + (f", server on CPUs {sorted(PINNING[0])}, load generator on {sorted(PINNING[1])}" if PINNING else "")
    )
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        env, slug = prepare_wenzheng(folder)
        burst, burst_ids = workload(args.messages, token="benchtoken", seed=1, first_id=10**15)
        steady_count = int(args.steady_rate * args.steady_seconds)
        steady, steady_ids = workload(steady_count, token="benchtoken", seed=2, first_id=2 * 10**15)
        floor_env = {"FLOOR_DB": str(folder / "floor.db")}
        server_cpus = PINNING[0] if PINNING else None
        with server("bench.floor_app:app", floor_env, factory=False, cpus=server_cpus) as port:
            measure(port, burst[:200], args.connections)  # warm up
            floor = measure(port, burst, args.connections)
        with server("wenzheng.app:create_app", env, factory=True, workers=args.workers, cpus=server_cpus) as port:
            warm, warm_ids = workload(200, token="benchtoken", seed=3, first_id=3 * 10**15)
            measure(port, warm, 8)
            ours = measure(port, burst, args.connections)
            paced = measure(port, steady, args.connections, rate=args.steady_rate)
        stored = count_rows(
            folder / "bench.db", f"SELECT count(*) FROM messages WHERE channel_message_id >= '{10**15}'"
        )
        floor_rows = count_rows(folder / "floor.db", "SELECT count(*) FROM messages")
    print(f"  floor    (parse + insert)   {floor.summary()}")
    print(f"  wenzheng (/wechat/{slug})     {ours.summary()}")
    print(f"  ratio to floor: {ours.rate / floor.rate:.2f}  (goal ≥ 0.50; absolute goal ≥ 4,000 msg/s)")
    print(
        f"  steady {args.steady_rate:,.0f} msg/s for {args.steady_seconds:.0f} s: {paced.summary()}  (goal p99 ≤ 50 ms)"
    )
    expected = len(burst_ids) + len(steady_ids) + len(warm_ids)
    print(
        f"  distinct messages sent {expected:,}, stored {stored:,} "
        f"({'none lost or doubled' if stored == expected else 'MISMATCH'}); floor stored {floor_rows:,} of "
        f"{len(burst_ids):,}"
    )


if __name__ == "__main__":
    main()
