"""One bulletin to a million WeChat followers: every delivery recorded and handed to a loopback WeChat API.

    python -m bench.fanout [--followers 1000000] [--pg URL] [--workers 2] [--skip-sqlite]

The bulletin goes to a tag every follower carries, so WeChat gets the followers' OpenIDs in lists of
10,000 (/cgi-bin/message/mass/send), as it would for any narrowed audience. Measured from the approval
to the bulletin being sent, with the worker(s) in their own process(es); the figure to compare is the
floor: the same rows inserted and updated with bare SQL and the same OpenID lists posted to the same sink,
in the same run. Resident memory is the worker's peak (VmHWM).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from sqlalchemy import text

from bench.__main__ import DEFAULT_PG, database, use_database

ROOT = Path(__file__).resolve().parents[1]
TAG = "qrscene:bench"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_sink() -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    sink = subprocess.Popen([sys.executable, "-m", "bench.wechat_sink", str(port)], cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            httpx.get(f"{base}/counts", timeout=1)
            return sink, base
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def counts(base: str) -> dict[str, int]:
    answer: dict[str, int] = httpx.get(f"{base}/counts", timeout=5).json()
    return answer


def seed(followers: int) -> tuple[int, int]:
    """An agency with a WeChat-bound account and ``followers`` followers; (account id, supervisor id)."""
    from wenzheng.accounts.actions import do_create_account
    from wenzheng.agencies.actions import do_create_agency
    from wenzheng.channels.wechat.actions import do_connect_wechat
    from wenzheng.db import get_engine, session_factory
    from wenzheng.staff.actions import do_create_user
    from wenzheng.staff.actor import Actor

    actor = Actor.system("bench")
    with session_factory()() as session:
        agency = do_create_agency(session, actor, slug="bench", name="基准机构")
        account = do_create_account(session, actor, agency, slug="bench", name="基准公众号")
        do_connect_wechat(
            session,
            actor,
            account,
            app_id="wxbench0000000001",
            token="benchtoken",
            aes_key="A" * 43,
            app_secret="bench-secret",
        )
        supervisor = do_create_user(
            session, actor, username="bench-supervisor", display_name="审批人", password="bench-password-1"
        )
        account_id, supervisor_id = account.id, supervisor.id
    engine = get_engine()
    started = time.perf_counter()
    with engine.begin() as connection:
        agency_id = connection.scalar(text("SELECT agency_id FROM accounts WHERE id = :a"), {"a": account_id})
        citizens = max(1, followers // 1000)
        connection.execute(
            text("INSERT INTO citizens (agency_id, created_at) VALUES (:agency, CURRENT_TIMESTAMP)"),
            [{"agency": agency_id}] * citizens,
        )
        first_citizen = connection.scalar(text("SELECT min(id) FROM citizens"))
        tags = json.dumps([TAG])
        batch = []
        for n in range(followers):
            batch.append(
                {
                    "agency": agency_id,
                    "account": account_id,
                    "citizen": first_citizen + n % citizens,
                    "handle": f"oBENCH{n:09d}",
                    "tags": tags,
                }
            )
            if len(batch) == 50_000:
                _insert_followers(connection, batch)
                batch = []
        if batch:
            _insert_followers(connection, batch)
    print(f"  seeded {followers:,} followers in {time.perf_counter() - started:.1f} s")
    return account_id, supervisor_id


def _insert_followers(connection, batch):  # type: ignore[no-untyped-def]
    connection.execute(
        text(
            "INSERT INTO followers (agency_id, account_id, citizen_id, channel, handle, state, tags, followed_at)"
            " VALUES (:agency, :account, :citizen, 'wechat', :handle, 'following', :tags, CURRENT_TIMESTAMP)"
        ),
        batch,
    )


def floor(followers: int, base: str) -> float:
    """The bare work: insert the delivery rows from followers, post the OpenID lists, mark the rows sent."""
    from wenzheng.db import get_engine

    engine = get_engine()
    with engine.begin() as connection:
        connection.execute(
            text(
                "CREATE TABLE floor_deliveries (id SERIAL PRIMARY KEY, follower_id INTEGER, state VARCHAR(16))"
                if engine.dialect.name == "postgresql"
                else "CREATE TABLE floor_deliveries (id INTEGER PRIMARY KEY, follower_id INTEGER, state VARCHAR(16))"
            )
        )
    started = time.perf_counter()
    with httpx.Client() as client:
        for first in range(0, followers, 10_000):
            with engine.begin() as connection:
                ids = connection.execute(
                    text("SELECT id, handle FROM followers ORDER BY id LIMIT 10000 OFFSET :o"), {"o": first}
                ).all()
                connection.execute(
                    text("INSERT INTO floor_deliveries (follower_id, state) VALUES (:f, 'pending')"),
                    [{"f": i} for i, _ in ids],
                )
            client.post(
                f"{base}/cgi-bin/message/mass/send?access_token=BENCH_TOKEN",
                json={
                    "touser": [h for _, h in ids],
                    "msgtype": "text",
                    "text": {"content": "x"},
                    "clientmsgid": f"floor-{first}",
                },
            )
            with engine.begin() as connection:
                connection.execute(
                    text("UPDATE floor_deliveries SET state = 'sent' WHERE follower_id BETWEEN :a AND :b"),
                    {"a": ids[0][0], "b": ids[-1][0]},
                )
    return time.perf_counter() - started


def run_fanout(account_id: int, supervisor_id: int, workers: int, env: dict[str, str]) -> tuple[float, list[int]]:
    from sqlalchemy import select

    from wenzheng.bulletins.actions import Draft, do_approve_bulletin, do_create_bulletin, do_submit_bulletin
    from wenzheng.bulletins.models import Bulletin
    from wenzheng.db import get_engine, session_factory
    from wenzheng.staff.actor import Actor
    from wenzheng.staff.roles import Role

    with session_factory()() as session:
        from wenzheng.accounts.models import Account

        account = session.get_one(Account, account_id)
        author = Actor(user_id=None, username="bench-author", roles={account.agency_id: Role.ADMIN})
        approver = Actor(user_id=supervisor_id, username="bench-supervisor", roles={account.agency_id: Role.SUPERVISOR})
        draft = Draft(kind="notice", title="余震提醒", body="请勿返回危房，留意官方通知。", audience={"tags": [TAG]})
        bulletin = do_create_bulletin(session, author, account, draft)
        do_submit_bulletin(session, author, bulletin)
        bulletin_id = bulletin.id
    procs = []
    peaks: list[int] = []
    started = time.perf_counter()
    with session_factory()() as session:
        do_approve_bulletin(session, approver, session.get_one(Bulletin, bulletin_id))
    for n in range(workers):
        procs.append(
            subprocess.Popen([sys.executable, "-m", "wenzheng.jobs.worker", "--name", f"bench-{n}"], cwd=ROOT, env=env)
        )
    engine = get_engine()
    try:
        while True:
            with engine.connect() as connection:
                state = connection.scalar(select(Bulletin.state).where(Bulletin.id == bulletin_id))
            if state == "sent":
                break
            if any(p.poll() is not None for p in procs):
                raise RuntimeError("a worker exited")
            time.sleep(0.05)
        elapsed = time.perf_counter() - started
        peaks = [_peak_rss_kb(p.pid) for p in procs]
    finally:
        for p in procs:
            p.terminate()
            p.wait(timeout=30)
    return elapsed, peaks


def _peak_rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def one(kind: str, url: str, followers: int, workers: int) -> None:
    from wenzheng.db import get_engine

    use_database(url)
    sink, base = start_sink()
    try:
        env = {
            **os.environ,
            "WENZHENG_WECHAT_API_BASE": base,
            "WENZHENG_BULLETIN_PAGE_SIZE": "10000",
            "WENZHENG_BULLETIN_WECHAT_CALLS_PER_MINUTE": "600000",
            "WENZHENG_WORKER_POLL_SECONDS": "0.05",
            "WENZHENG_JOBS_INLINE": "false",
        }
        os.environ.update({k: env[k] for k in ("WENZHENG_WECHAT_API_BASE", "WENZHENG_BULLETIN_PAGE_SIZE")})
        account_id, supervisor_id = seed(followers)
        elapsed, peaks = run_fanout(account_id, supervisor_id, workers, env)
        got = counts(base)
        with get_engine().connect() as connection:
            sent = connection.scalar(text("SELECT count(*) FROM bulletin_deliveries WHERE state = 'sent'"))
        floor_s = floor(followers, base)
        rate = followers / elapsed
        print(
            f"  {kind}, {workers} worker(s): {followers:,} deliveries in {elapsed:.1f} s ({rate:,.0f}/s); "
            f"{sent:,} recorded sent; sink got {got['distinct']:,} distinct OpenIDs in {got['calls']} calls "
            f"({got['repeats']} repeats refused); worker peak RSS {', '.join(f'{p / 1024:.0f} MB' for p in peaks)}"
        )
        print(f"    floor (bare SQL + the same posts): {floor_s:.1f} s; fan-out / floor = {elapsed / floor_s:.2f}×")
        assert sent == followers and got["distinct"] == followers, "a delivery is missing"
    finally:
        sink.terminate()
        sink.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--followers", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=2, help="workers on PostgreSQL (SQLite has one)")
    parser.add_argument("--pg", default=DEFAULT_PG)
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--skip-pg", action="store_true")
    args = parser.parse_args()
    print(f"fan-out of one bulletin to {args.followers:,} WeChat followers")
    if not args.skip_sqlite:
        with database("sqlite", args.pg) as url:
            assert url is not None
            one("SQLite", url, args.followers, 1)
    if not args.skip_pg:
        with database("pg", args.pg) as url:
            if url is not None:
                one("PostgreSQL", url, args.followers, args.workers)


if __name__ == "__main__":
    with tempfile.TemporaryDirectory():
        main()
