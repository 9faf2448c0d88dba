"""Open cases with positions, inserted directly and fast (executemany on one connection), for the map's tests.

The rows are what intake, triage and ``cases.actions`` would write for a message and the case it opened;
skipping those paths keeps 30,000 cases to about a second.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import insert, text

from wenzheng import db as wz_db
from wenzheng.accounts.models import Account
from wenzheng.assessments.models import Assessment
from wenzheng.cases.models import Case
from wenzheng.citizens.models import Citizen
from wenzheng.datum import wgs84_to_gcj02
from wenzheng.db import utcnow
from wenzheng.messages.models import Message

SICHUAN = Path(__file__).parent.parent.parent / "wenzheng" / "web" / "static" / "map" / "counties" / "510000.json"


@dataclass(frozen=True)
class Seed:
    """One case to insert: a shared position (lat/lon on ``channel``), a named place (GCJ-02), or neither."""

    urgency: str = "P1"
    intent: str = "help"
    state: str = "received"
    lat: float | None = None
    lon: float | None = None
    channel: str = "web"
    place: dict[str, object] | None = None
    summary: str = "需要帮助"
    age_hours: float = 1.0


def insert_cases(account: Account, seeds: Sequence[Seed], *, first_id: int = 100_000) -> list[int]:
    """Insert one citizen, their message and the case it opened per seed (the same id for all three);
    returns the case ids."""
    now = utcnow()
    citizens, messages, cases, assessments = [], [], [], []
    for n, seed in enumerate(seeds):
        row_id = first_id + n
        at = now - dt.timedelta(hours=seed.age_hours)
        citizens.append({"id": row_id, "agency_id": account.agency_id, "created_at": at})
        messages.append(_message(account, row_id, seed, at))
        cases.append(_case(account, row_id, seed, at))
        if seed.place is not None:
            assessments.append(_assessment(account, row_id, seed))
    with wz_db.get_engine().begin() as connection:
        connection.execute(insert(Citizen), citizens)
        connection.execute(insert(Message), messages)
        connection.execute(insert(Case), cases)
        if assessments:
            connection.execute(insert(Assessment), assessments)
        connection.execute(
            text("UPDATE messages SET case_id = id WHERE id BETWEEN :a AND :b"),
            {"a": first_id, "b": first_id + len(seeds) - 1},
        )
    if wz_db.get_engine().dialect.name == "postgresql":
        # A running PostgreSQL has statistics (autovacuum analyzes); tables filled a moment ago do not yet, and
        # the planner would take them for empty.
        with wz_db.get_engine().connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("ANALYZE citizens, messages, cases, assessments"))
    return [first_id + n for n in range(len(seeds))]


def _message(account: Account, row_id: int, seed: Seed, at: dt.datetime) -> dict[str, object]:
    return {
        "id": row_id,
        "agency_id": account.agency_id,
        "account_id": account.id,
        "citizen_id": row_id,
        "direction": "in",
        "channel": seed.channel,
        "channel_message_id": f"seed-{row_id}",
        "kind": "location" if seed.lat is not None and seed.channel == "wechat" else "text",
        "ref": f"S{row_id}",
        "text": seed.summary,
        "latitude": seed.lat,
        "longitude": seed.lon,
        "payload": {},
        "received_at": at,
    }


def _case(account: Account, row_id: int, seed: Seed, at: dt.datetime) -> dict[str, object]:
    return {
        "id": row_id,
        "agency_id": account.agency_id,
        "account_id": account.id,
        "ref": f"S{row_id}",
        "first_message_id": row_id,
        "citizen_id": row_id,
        "state": seed.state,
        "urgency": seed.urgency,
        "intent": seed.intent,
        "summary": seed.summary,
        "created_at": at,
        "updated_at": at,
    }


def _assessment(account: Account, row_id: int, seed: Seed) -> dict[str, object]:
    return {
        "agency_id": account.agency_id,
        "account_id": account.id,
        "message_id": row_id,
        "lang": "zh",
        "intent": seed.intent,
        "urgency": seed.urgency,
        "score": 0.5,
        "places": [seed.place],
        "model_version": "seed",
    }


def sichuan_seeds(count: int, *, seed: int = 2013) -> list[Seed]:
    """``count`` open help requests spread over Sichuan's counties: two in three with a position the
    citizen shared (WGS-84, near a county's label point), the rest naming the county (its GCJ-02 centre)."""
    rng = random.Random(seed)
    units = json.loads(SICHUAN.read_text(encoding="utf-8"))["units"]
    levels = ("P0", "P1", "P1", "P2", "P2", "P2", "P3", "P3")
    seeds = []
    for n in range(count):
        unit = units[rng.randrange(len(units))]
        lon, lat = unit["label"]
        urgency = levels[rng.randrange(len(levels))]
        if n % 3:
            seeds.append(
                Seed(urgency=urgency, lat=lat + rng.gauss(0, 0.04), lon=lon + rng.gauss(0, 0.04), summary=f"求助 {n}")
            )
        else:
            g_lat, g_lon = wgs84_to_gcj02(lat, lon)  # triage's places carry the gazetteer's GCJ-02 centres
            place = {"text": unit["name"], "admin": ["四川省", None, unit["name"], None], "lat": g_lat, "lon": g_lon}
            seeds.append(Seed(urgency=urgency, place=place, summary=f"{unit['name']}需要帐篷 {n}"))
    return seeds
