"""The operator console at crisis scale: 1,000,000 messages and 200,000 cases in the database.

    python -m bench.console [--messages 1000000] [--cases 200000] [--pg URL] [--skip-sqlite] [--skip-pg]

Measures, on SQLite and on PostgreSQL, the queue page and its filters through the real app (a logged-in
supervisor, HTML rendered), p50 and p95 over repeated requests, beside the baseline GET /healthz in the same
run; and the live queue: 50 consoles connected to the Server-Sent Events stream, one new case opened, the
time until every console has it.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import random
import statistics
import threading
import time
from collections.abc import Callable

import httpx
from sqlalchemy import insert, select, text

from bench.__main__ import DEFAULT_PG, database, use_database

URGENCIES = ("P0",) * 1 + ("P1",) * 9 + ("P2",) * 60 + ("P3",) * 30
STATES = ("received",) * 25 + ("dispatched",) * 15 + ("in_progress",) * 20 + ("answered",) * 10 + ("resolved",) * 20
STATES += ("closed",) * 10
INTENTS = ("rescue", "help", "consultation", "complaint", "report", "offer", "sympathy", "other")
PLACES = ("芦山县龙门乡", "宝兴县灵关镇", "雨城区", "芦山县太平镇", "天全县", "名山区", "荥经县", "芦山县双石镇")
NEEDS = ("需要帐篷", "缺饮用水", "道路塌方", "老人需要转移", "请问如何捐款", "房屋开裂", "寻找家人", "物资发放")
RARE, RARE_EVERY = "双石镇围塔村有人被埋", 20_000  # ten cases of 200,000: what a search for a rare word finds
PASSWORD = "bench-password-1"  # a throwaway login in a throwaway database
REQUESTS = 40
CONSOLES = 50


def seed(messages: int, cases: int) -> tuple[int, int, str]:
    """An agency at crisis scale: (agency id, account id, supervisor's username)."""
    from wenzheng.accounts.actions import do_create_account
    from wenzheng.agencies.actions import do_create_agency, do_create_department
    from wenzheng.cases.models import Case
    from wenzheng.citizens.models import Citizen
    from wenzheng.db import get_engine, session_factory
    from wenzheng.messages.models import Message
    from wenzheng.staff.actions import do_add_staff
    from wenzheng.staff.actor import Actor
    from wenzheng.staff.roles import Role

    actor = Actor.system("bench")
    with session_factory()() as session:
        agency = do_create_agency(session, actor, slug="bench", name="雅安市应急管理局")
        account = do_create_account(session, actor, agency, slug="bench", name="芦山地震救助")
        departments = [do_create_department(session, actor, agency, name=f"部门{n}").id for n in range(8)]
        do_add_staff(
            session, actor, agency, username="bench-sup", role=Role.SUPERVISOR, display_name="李主管", password=PASSWORD
        )
        operators = [
            do_add_staff(
                session,
                actor,
                agency,
                username=f"op{n}",
                role=Role.OPERATOR,
                display_name=f"值班员{n}",
                password=PASSWORD,
            ).user_id
            for n in range(20)
        ]
        agency_id, account_id = agency.id, account.id
    rng = random.Random(2013)
    started = time.perf_counter()
    now = dt.datetime.now(dt.UTC)
    engine = get_engine()
    with engine.begin() as connection:
        citizens = 50_000
        connection.execute(insert(Citizen.__table__), [{"agency_id": agency_id, "created_at": now}] * citizens)
        first_citizen = connection.scalar(select(Citizen.id).order_by(Citizen.id).limit(1)) or 1
        rows = []
        for n in range(messages):
            rows.append(
                {
                    "agency_id": agency_id,
                    "account_id": account_id,
                    "citizen_id": first_citizen + n % citizens,
                    "direction": "in",
                    "channel": "wechat" if n % 5 else "sms",
                    "channel_message_id": f"m{n}",
                    "kind": "text",
                    "text": f"{PLACES[n % len(PLACES)]}{NEEDS[n % len(NEEDS)]}，约{n % 40 + 1}人",
                    "payload": {},
                    "status": "received",
                    "triage_pending": False,
                    "received_at": now - dt.timedelta(seconds=rng.randrange(7 * 86400)),
                }
            )
            if len(rows) == 20_000:
                connection.execute(insert(Message.__table__), rows)
                rows = []
        if rows:
            connection.execute(insert(Message.__table__), rows)
        first_message = connection.scalar(select(Message.id).order_by(Message.id).limit(1)) or 1
        rows = []
        for n in range(cases):
            state = rng.choice(STATES)
            created = now - dt.timedelta(seconds=rng.randrange(7 * 86400))
            rows.append(
                {
                    "agency_id": agency_id,
                    "account_id": account_id,
                    "ref": f"B{n:08d}",
                    "first_message_id": first_message + n * (messages // cases),
                    "citizen_id": first_citizen + n % citizens,
                    "state": state,
                    "urgency": rng.choice(URGENCIES),
                    "score": rng.random(),
                    "intent": rng.choice(INTENTS),
                    "summary": RARE
                    if n % RARE_EVERY == 7
                    else f"{PLACES[n % len(PLACES)]}{NEEDS[(n * 7) % len(NEEDS)]}，约{n % 40 + 1}人",
                    "department_id": rng.choice(departments),
                    "assignee_id": rng.choice(operators) if state != "received" else None,
                    "message_count": 1 + n % 5,
                    "created_at": created,
                    "updated_at": created,
                    "due_at": created + dt.timedelta(days=3),
                }
            )
            if len(rows) == 20_000:
                connection.execute(insert(Case.__table__), rows)
                rows = []
        if rows:
            connection.execute(insert(Case.__table__), rows)
    if engine.dialect.name == "postgresql":
        # As autovacuum would have by then: a planner without statistics takes fresh tables for empty.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("ANALYZE citizens, messages, cases"))
    print(f"  seeded {messages:,} messages and {cases:,} cases in {time.perf_counter() - started:.0f} s")
    return agency_id, account_id, "bench-sup"


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered) * 1000, ordered[int(len(ordered) * 0.95) - 1] * 1000


def timed(client: httpx.Client, url: str, count: int = REQUESTS) -> list[float]:
    client.get(url).raise_for_status()  # warm
    samples = []
    for _ in range(count):
        start = time.perf_counter()
        response = client.get(url)
        samples.append(time.perf_counter() - start)
        response.raise_for_status()
    return samples


def serve() -> tuple[str, Callable[[], None]]:
    import socket

    import uvicorn

    from wenzheng.app import create_app

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)

    def stop() -> None:
        server.should_exit = True
        thread.join(timeout=10)

    return f"http://127.0.0.1:{port}", stop


def log_in(client: httpx.Client, username: str) -> None:
    import re

    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    data = {"username": username, "password": PASSWORD}
    if token:
        data["csrf_token"] = token.group(1)
    answer = client.post("/login", data=data, follow_redirects=False)
    assert answer.status_code in (302, 303), answer.text[:300]


def bench_queue(base: str, agency_id: int, username: str) -> None:
    with httpx.Client(base_url=base, timeout=30) as client:
        log_in(client, username)
        floor = timed(client, "/healthz")
        floor_p50, floor_p95 = percentiles(floor)
        print(f"    baseline GET /healthz: p50 {floor_p50:.1f} ms, p95 {floor_p95:.1f} ms")
        queue = f"/console/agencies/{agency_id}/cases"
        variants = {
            "open queue (default)": queue,
            "urgency P0": f"{queue}?urgency=P0",
            "department": f"{queue}?department=3",
            "intent complaint": f"{queue}?intent=complaint",
            "state resolved": f"{queue}?state=resolved",
            "search 龙门乡": f"{queue}?q=龙门乡",
            "search, a rare word": f"{queue}?q=围塔村",
            "search, no match": f"{queue}?q=无此地名",
            "all states + P1 + search": f"{queue}?state=&urgency=P1&q=帐篷",
        }
        for label, url in variants.items():
            p50, p95 = percentiles(timed(client, url))
            verdict = "met" if p95 <= 150 else "NOT met"
            ratio = p95 / floor_p95
            print(
                f"    {label:<28} p50 {p50:6.1f} ms  p95 {p95:6.1f} ms  ({ratio:5.1f}× baseline p95; ≤150 ms {verdict})"
            )


def bench_live(base: str, agency_id: int, account_id: int, username: str) -> None:
    """50 consoles on the live stream; one new P0 case; the time until each has it."""
    from wenzheng.cases.models import Case
    from wenzheng.db import get_engine
    from wenzheng.messages.models import Message

    with httpx.Client(base_url=base) as login_client:
        log_in(login_client, username)
        cookies = dict(login_client.cookies)
    ref = f"LIVE{random.randrange(10**8):08d}"
    arrived: list[float] = []
    ready = threading.Event()
    opened: list[float] = []

    async def console(client: httpx.AsyncClient, connected: list[int]) -> None:
        async with client.stream("GET", f"/console/agencies/{agency_id}/cases/events") as stream:
            connected.append(1)
            async for line in stream.aiter_lines():
                if ref in line:
                    arrived.append(time.perf_counter())
                    return

    async def run() -> None:
        connected: list[int] = []
        async with httpx.AsyncClient(base_url=base, cookies=cookies, timeout=30) as client:
            tasks = [asyncio.create_task(console(client, connected)) for _ in range(CONSOLES)]
            while len(connected) < CONSOLES:
                await asyncio.sleep(0.01)
            await asyncio.sleep(1.0)  # every stream past its first poll
            ready.set()
            await asyncio.wait_for(asyncio.gather(*tasks), timeout=30)

    def open_case() -> None:
        ready.wait()
        now = dt.datetime.now(dt.UTC)
        with get_engine().begin() as connection:
            message_id = connection.execute(
                insert(Message.__table__).returning(Message.id),
                {
                    "agency_id": agency_id,
                    "account_id": account_id,
                    "direction": "in",
                    "channel": "wechat",
                    "channel_message_id": ref,
                    "kind": "text",
                    "text": "我们被困在姚桥镇初级中学附属教师职工宿舍了，求救！",
                    "payload": {},
                    "received_at": now,
                },
            ).scalar_one()
            opened.append(time.perf_counter())
            connection.execute(
                insert(Case.__table__),
                {
                    "agency_id": agency_id,
                    "account_id": account_id,
                    "ref": ref,
                    "first_message_id": message_id,
                    "state": "received",
                    "urgency": "P0",
                    "score": 9.9,
                    "intent": "rescue",
                    "summary": "姚桥镇初级中学附属教师职工宿舍，被困",
                    "message_count": 1,
                    "created_at": now,
                    "updated_at": now,
                },
            )

    opener = threading.Thread(target=open_case)
    opener.start()
    asyncio.run(run())
    opener.join()
    delays = sorted(t - opened[0] for t in arrived)
    print(
        f"    live queue: {len(arrived)}/{CONSOLES} consoles had the new P0 case; first after "
        f"{delays[0] * 1000:.0f} ms, last after {delays[-1] * 1000:.0f} ms "
        f"(≤ 1 s {'met' if delays[-1] <= 1 else 'NOT met'})"
    )


def one(kind: str, url: str, messages: int, cases: int) -> None:
    use_database(url)
    agency_id, account_id, username = seed(messages, cases)
    base, stop = serve()
    try:
        bench_queue(base, agency_id, username)
        bench_live(base, agency_id, account_id, username)
    finally:
        stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--cases", type=int, default=200_000)
    parser.add_argument("--pg", default=DEFAULT_PG)
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--skip-pg", action="store_true")
    args = parser.parse_args()
    print(f"console at scale: {args.messages:,} messages, {args.cases:,} cases")
    for kind in ("sqlite", "pg"):
        if (kind == "sqlite" and args.skip_sqlite) or (kind == "pg" and args.skip_pg):
            continue
        print(f"\n[{kind}]")
        with database(kind, args.pg) as url:
            if url is not None:
                one(kind, url, args.messages, args.cases)


if __name__ == "__main__":
    main()
