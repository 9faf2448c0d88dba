"""Where cases are, for the map: open cases with a position, scoped by the actor's agencies.

A case's position, in this order:

1. the position a citizen shared in one of the case's messages (a WeChat location message, the web page's
   geolocation, Open311's lat/long) — the latest one, since people in trouble move;
2. else the place its messages name, as triage found it: the finest place with coordinates (a county's or
   city's centre from the gazetteer) that its first message names, unless a later message names a finer one
   (「救命」 first, 「我们在宝兴县…」 after: people in trouble say where they are when asked) — approximate, and
   marked so;
3. else none: the case is counted, but not drawn.

Everything is returned in WGS-84 (``wenzheng.datum``): WeChat's positions and the gazetteer's centres are
GCJ-02 and are converted here. A shared position is personal data: viewers get it rounded to 0.01° (about
1 km), as they get phone numbers masked.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import Select, Text, cast, func, select
from sqlalchemy.orm import Session

from wenzheng.assessments.models import Assessment
from wenzheng.cases.models import Case
from wenzheng.cases.states import OPEN_STATES, URGENCY_ORDER
from wenzheng.citizens.privacy import sees_personal_data
from wenzheng.datum import gcj02_to_wgs84
from wenzheng.messages.models import Direction, Message
from wenzheng.staff.actor import Actor
from wenzheng.staff.roles import Role
from wenzheng.triage import INTENTS

HELP_INTENTS = ("rescue", "help", "missing_person")  # 求助: what the map shows unless asked otherwise
MAP_LIMIT = 50_000  # beyond this the most urgent are drawn, and the map says how many were left out
DETAILS_LIMIT = 100
GCJ02_CHANNELS = frozenset({"wechat"})  # WeChat's location messages come from Tencent's GCJ-02 map
_PHONE = re.compile(r"\+?\d[\d\s-]{5,}\d")


class Position(NamedTuple):  # a tuple: tens of thousands are made per map request
    lat: float
    lon: float
    exact: bool  # shared by the citizen; False: the centre of a place named in the text


class CasePoint(NamedTuple):
    case_id: int
    urgency: str | None
    citizen_id: int | None
    position: Position


@dataclass(frozen=True)
class MapFilter:
    hours: int = 24  # cases opened within this many hours; 0: any time
    urgencies: tuple[str, ...] = ()  # empty: every level
    intents: tuple[str, ...] = HELP_INTENTS  # empty: every intent

    @classmethod
    def parse(cls, hours: int, urgency: str, intent: str) -> MapFilter:
        """From query parameters; unknown values are dropped rather than refused (they come from links)."""
        urgencies = tuple(u for u in URGENCY_ORDER if u in urgency.split(","))
        return cls(
            hours=max(0, min(hours, 24 * 365)),
            urgencies=() if len(urgencies) == len(URGENCY_ORDER) else urgencies,  # all four: no filter
            intents=HELP_INTENTS if intent == "" else tuple(i for i in INTENTS if i in intent.split(",")),
        )


@dataclass(frozen=True)
class LocatedCases:
    points: list[CasePoint]
    without_position: int
    truncated: bool


def located_cases_of_agency(
    session: Session, actor: Actor, agency_id: int, wanted: MapFilter, *, now: dt.datetime
) -> LocatedCases:
    """The agency's open cases that ``wanted`` selects, each with its position (most urgent first)."""
    actor.require_role(agency_id, Role.VIEWER)
    rank = func.coalesce(Case.urgency, "P2")
    # The places as text: most cases share a few places (a county's centre), so each text is read once.
    places = cast(Assessment.places, Text)
    rows = session.execute(
        _open_cases(select(Case.id, Case.urgency, Case.citizen_id, places), agency_id, wanted, now)
        .outerjoin(Assessment, Assessment.message_id == Case.first_message_id)
        .order_by(rank, Case.id.desc())
        .limit(MAP_LIMIT + 1)
    ).all()
    shared = _shared_positions(session, agency_id, wanted, now)
    # Only a case whose first message names no county (none, or only a city) has its later messages read.
    unsure = {row[0] for row in rows[:MAP_LIMIT] if row[0] not in shared and not _names_county(row[3])}
    later = _later_places(session, agency_id, _open_cases(_LATER, agency_id, wanted, now), unsure) if unsure else {}
    points, missing = [], 0
    for case_id, urgency, citizen_id, places_text in rows[:MAP_LIMIT]:
        position = shared.get(case_id) or _place_position_of_texts(places_text, *later.get(case_id, ()))
        if position is None:
            missing += 1
        else:
            points.append(CasePoint(case_id, urgency, citizen_id, position))
    return LocatedCases(points, missing, truncated=len(rows) > MAP_LIMIT)


# The places (as JSON text) of the later inbound messages of cases, oldest first; narrowed by the caller.
_LATER = (
    select(Message.case_id, cast(Assessment.places, Text))
    .join(Case, Case.id == Message.case_id)
    .join(Assessment, Assessment.message_id == Message.id)
    .where(Message.direction == Direction.INBOUND, Message.id != Case.first_message_id)
    .where(cast(Assessment.places, Text) != "[]")  # most messages name no place: they need not come back
    .order_by(Message.received_at, Message.id)
)


def _later_places(session: Session, agency_id: int, query: Select[Any], wanted: set[int]) -> dict[int, list[str]]:
    """What ``query`` (narrowed ``_LATER``) finds for the ``wanted`` cases, by case: one query for a whole map."""
    found: dict[int, list[str]] = {}
    for case_id, places in session.execute(query.where(Message.agency_id == agency_id)):
        if case_id in wanted and places and places != "[]":
            found.setdefault(case_id, []).append(places)
    return found


def _open_cases(query: Select[Any], agency_id: int, wanted: MapFilter, now: dt.datetime) -> Select[Any]:
    query = query.where(
        Case.agency_id == agency_id,
        Case.state.in_([s.value for s in OPEN_STATES]),
        Case.merged_into_id.is_(None),
    )
    if wanted.hours:
        query = query.where(Case.created_at >= now - dt.timedelta(hours=wanted.hours))
    if wanted.urgencies:
        query = query.where(Case.urgency.in_(wanted.urgencies))
    if wanted.intents:
        query = query.where(Case.intent.in_(wanted.intents))
    return query


def _shared_positions(session: Session, agency_id: int, wanted: MapFilter, now: dt.datetime) -> dict[int, Position]:
    """Each selected case's latest position shared by a citizen."""
    query = select(Message.case_id, Message.latitude, Message.longitude, Message.channel).join(
        Case, Case.id == Message.case_id
    )
    rows = session.execute(
        _open_cases(query, agency_id, wanted, now)
        .where(
            Message.agency_id == agency_id,
            Message.direction == Direction.INBOUND,
            Message.latitude.is_not(None),
            Message.longitude.is_not(None),
        )
        .order_by(Message.received_at, Message.id)
    ).all()
    return {case_id: shared_position(lat, lon, channel) for case_id, lat, lon, channel in rows}


def shared_position(lat: float, lon: float, channel: str) -> Position:
    """A position a citizen sent, in WGS-84."""
    if channel in GCJ02_CHANNELS:
        lat, lon = gcj02_to_wgs84(lat, lon)
    return Position(lat, lon, exact=True)


COUNTY = 3  # a place's fineness: how many of province, city, county it names (a county's is the finest)


@functools.lru_cache(maxsize=4096)
def _place_position_of_text(places: str | None) -> Position | None:
    return place_position(json.loads(places)) if places and places != "[]" else None


@functools.lru_cache(maxsize=4096)
def _names_county(places: str | None) -> bool:
    """Whether one of these places (JSON text) is a county with coordinates: no later message can be finer."""
    located = _located(json.loads(places)) if places and places != "[]" else []
    return any(len(p.get("admin") or ()) >= COUNTY and p["admin"][COUNTY - 1] for p in located)


def _place_position_of_texts(*texts: str | None) -> Position | None:
    """The finest located place over several messages' places, the earliest message's among equally fine ones."""
    if len(texts) == 1:
        return _place_position_of_text(texts[0])
    return place_position([p for text in texts if text and text != "[]" for p in json.loads(text)])


def place_position(places: list[dict[str, Any]] | None) -> Position | None:
    """The finest place triage found that has coordinates (the gazetteer's GCJ-02 centres), in WGS-84; the first
    of equally fine ones."""
    located = _located(places)
    if not located:
        return None
    finest = max(located, key=_fineness)
    return _centre(float(finest["lat"]), float(finest["lon"]))


@functools.lru_cache(maxsize=4096)
def _centre(lat: float, lon: float) -> Position:
    """A named place's centre (the gazetteer's GCJ-02) in WGS-84: a few thousand centres, each converted once."""
    return Position(*gcj02_to_wgs84(lat, lon), exact=False)


def _located(places: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    return [p for p in places or () if p.get("lat") is not None and p.get("lon") is not None]


def _fineness(place: dict[str, Any]) -> int:
    return sum(1 for name in (place.get("admin") or [])[:COUNTY] if name)


def case_position(session: Session, case: Case) -> Position | None:
    """One case's position, by the same rule as the map (the caller has reached the case through access)."""
    shared = session.execute(
        select(Message.latitude, Message.longitude, Message.channel)
        .where(
            Message.agency_id == case.agency_id,
            Message.case_id == case.id,
            Message.direction == Direction.INBOUND,
            Message.latitude.is_not(None),
            Message.longitude.is_not(None),
        )
        .order_by(Message.received_at.desc(), Message.id.desc())
        .limit(1)
    ).first()
    if shared is not None:
        return shared_position(*shared)
    first = session.execute(
        select(cast(Assessment.places, Text)).where(
            Assessment.agency_id == case.agency_id, Assessment.message_id == case.first_message_id
        )
    ).scalar()
    if _names_county(first):
        return _place_position_of_text(first)
    later = _later_places(session, case.agency_id, _LATER.where(Message.case_id == case.id), {case.id})
    return _place_position_of_texts(first, *later.get(case.id, ()))


def shown_position(actor: Actor, agency_id: int, position: Position) -> Position:
    """What the actor may see of a position: a citizen's own position is rounded to 0.01° for viewers."""
    return position if sees_personal_data(actor, agency_id) else blurred(position)


def blurred(position: Position) -> Position:
    """A citizen's own position rounded to 0.01° (about 1 km); a named place's centre as it is."""
    return Position(round(position.lat, 2), round(position.lon, 2), exact=True) if position.exact else position


def cases_for_map(session: Session, actor: Actor, agency_id: int, case_ids: list[int]) -> list[Case]:
    """The agency's cases among ``case_ids`` (others are left out, never reported), most urgent first."""
    actor.require_role(agency_id, Role.VIEWER)
    if not case_ids:
        return []
    return list(
        session.execute(
            select(Case)
            .where(Case.agency_id == agency_id, Case.id.in_(case_ids[:DETAILS_LIMIT]))
            .order_by(func.coalesce(Case.urgency, "P2"), Case.created_at, Case.id)
        ).scalars()
    )


def map_summary(case: Case) -> str:
    """The case's summary for the map, with anything like a phone number masked: the map needs no contacts."""
    return _PHONE.sub("****", case.summary)
