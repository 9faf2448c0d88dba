"""Where open cases are, for the map: the query behind the console's Map tab at crisis scale.

    python -m bench.map [--cases 30000] [--pg URL] [--skip-sqlite] [--skip-pg]

Seeds an agency whose open help requests are placed three ways — a position the citizen shared (two in five), a
county their first message names (two in five), a county only a later message names (one in five: 「救命」 first,
「我们在宝兴县」 when asked) — and times ``located_cases_of_agency`` (p50 and p95 over repeated calls), beside the
baseline of the same call on an agency whose cases are all placed by their first message, in the same run: the
ratio is what reading later messages costs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import time

from sqlalchemy import insert, select, text

from bench.__main__ import DEFAULT_PG, database, use_database

COUNTIES = (
    ("芦山县", "511826", 30.1523, 102.9334),
    ("宝兴县", "511827", 30.3685, 102.8154),
    ("天全县", "511825", 30.0664, 102.7586),
    ("荥经县", "511822", 29.7933, 102.8465),
    ("雨城区", "511802", 29.9807, 103.0339),
)
CALLS = 15


def place(county: tuple[str, str, float, float]) -> dict[str, object]:
    name, _code, lat, lon = county
    return {"text": name, "admin": ["四川省", "雅安市", name, None], "lat": lat, "lon": lon}


def seed(slug: str, cases: int, *, later_share: int) -> int:
    """An agency with ``cases`` open help requests; every ``later_share``-th (0: none) names its county only in a
    second message. The agency's id."""
    from wenzheng.accounts.actions import do_create_account
    from wenzheng.agencies.actions import do_create_agency
    from wenzheng.assessments.models import Assessment
    from wenzheng.cases.models import Case
    from wenzheng.citizens.models import Citizen
    from wenzheng.db import get_engine, session_factory
    from wenzheng.messages.models import Message
    from wenzheng.staff.actor import Actor

    actor = Actor.system("bench")
    with session_factory()() as session:
        agency = do_create_agency(session, actor, slug=slug, name=f"{slug} 应急管理局")
        account = do_create_account(session, actor, agency, slug=slug, name=f"{slug} 救助")
        agency_id, account_id = agency.id, account.id
    engine = get_engine()
    rng = random.Random(2013)
    now = dt.datetime.now(dt.UTC)
    with engine.begin() as connection:
        base = (connection.scalar(select(Message.id).order_by(Message.id.desc()).limit(1)) or 0) + 1
        citizens, messages, case_rows, assessments = [], [], [], []
        for n in range(cases):
            row_id = base + 2 * n
            county = COUNTIES[n % len(COUNTIES)]
            shared = n % 5 in (1, 3)
            later = later_share and n % later_share == 0 and not shared
            at = now - dt.timedelta(minutes=rng.randrange(24 * 60))
            citizens.append({"id": row_id, "agency_id": agency_id, "created_at": at})
            for offset, text_ in ((0, "救命" if later else f"{county[0]}需要帐篷"), (1, f"我们在{county[0]}")):
                messages.append(
                    {
                        "id": row_id + offset,
                        "agency_id": agency_id,
                        "account_id": account_id,
                        "citizen_id": row_id,
                        "case_id": None,
                        "direction": "in",
                        "channel": "web",
                        "channel_message_id": f"{slug}-{row_id + offset}",
                        "kind": "text",
                        "text": text_,
                        "latitude": county[2] + rng.gauss(0, 0.03) if shared and offset == 0 else None,
                        "longitude": county[3] + rng.gauss(0, 0.03) if shared and offset == 0 else None,
                        "payload": {},
                        "received_at": at + dt.timedelta(minutes=offset),
                    }
                )
                named = (offset == 1) if later else (offset == 0)
                assessments.append(
                    {
                        "agency_id": agency_id,
                        "account_id": account_id,
                        "message_id": row_id + offset,
                        "lang": "zh",
                        "intent": "rescue",
                        "urgency": "P1",
                        "score": 0.5,
                        "places": [place(county)] if named and not shared else [],
                        "model_version": "bench",
                    }
                )
            case_rows.append(
                {
                    "id": row_id,
                    "agency_id": agency_id,
                    "account_id": account_id,
                    "ref": f"{slug}-{n:07d}",
                    "first_message_id": row_id,
                    "citizen_id": row_id,
                    "state": "received",
                    "urgency": "P1",
                    "intent": "rescue",
                    "summary": "救命",
                    "message_count": 2,
                    "created_at": at,
                    "updated_at": at,
                }
            )
        connection.execute(insert(Citizen.__table__), citizens)
        connection.execute(insert(Message.__table__), messages)
        connection.execute(insert(Case.__table__), case_rows)
        connection.execute(insert(Assessment.__table__), assessments)
        connection.execute(
            text("UPDATE messages SET case_id = id - ((id - :b) % 2) WHERE agency_id = :a"), {"a": agency_id, "b": base}
        )
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("ANALYZE citizens, messages, cases, assessments"))
    return agency_id


def timed_map(agency_id: int) -> tuple[list[float], int, int]:
    """Seconds per call, and how many cases were drawn and counted without a position."""
    from wenzheng.cases.geo import MapFilter, located_cases_of_agency
    from wenzheng.db import session_factory
    from wenzheng.staff.actor import Actor

    samples, drawn, missing = [], 0, 0
    with session_factory()() as session:
        for _ in range(CALLS + 2):
            started = time.perf_counter()
            located = located_cases_of_agency(
                session, Actor.system(), agency_id, MapFilter(), now=dt.datetime.now(dt.UTC)
            )
            samples.append(time.perf_counter() - started)
            drawn, missing = len(located.points), located.without_position
            session.rollback()
    return sorted(samples[2:]), drawn, missing  # the first two warm the caches


def line(name: str, samples: list[float], drawn: int, missing: int) -> float:
    p50, p95 = statistics.median(samples), samples[int(len(samples) * 0.95) - 1]
    print(f"  {name:<44} p50 {p50 * 1000:7.1f} ms  p95 {p95 * 1000:7.1f} ms  ({drawn:,} drawn, {missing:,} without)")
    return p50


def one(kind: str, url: str, cases: int) -> None:
    use_database(url)
    print(f"{kind}: {cases:,} open help requests per agency")
    baseline = seed("map-first", cases, later_share=0)
    later = seed("map-later", cases, later_share=5)
    base_p50 = line("baseline: every place in the first message", *timed_map(baseline))
    later_p50 = line("one in five named only in a later message", *timed_map(later))
    print(f"  later messages read ÷ baseline (p50): {later_p50 / base_p50:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=30_000)
    parser.add_argument("--pg", default=DEFAULT_PG)
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--skip-pg", action="store_true")
    args = parser.parse_args()
    for kind, skip in (("sqlite", args.skip_sqlite), ("postgresql", args.skip_pg)):
        if skip:
            continue
        with database(kind, args.pg) as url:
            if url is not None:
                one(kind, url, args.cases)


if __name__ == "__main__":
    main()
