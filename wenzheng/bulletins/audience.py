"""Who a bulletin reaches: the account's followers, narrowed by tags, regions, circles and channels, counted
before sending.

An audience is ``{"tags": [...], "regions": [...], "near": [...], "channels": [...]}``; an empty list does not
narrow. A follower matches when it follows now, carries any of the tags, is in any of the regions, was last
within any of the ``near`` circles, and follows on any of the channels. Regions are GB/T 2260 codes at any
level: 510000 (Sichuan) takes every follower whose county code starts with 51, 511800 (Ya'an) those starting
with 5118, 511826 (Lushan) that county only. A follower's county is the one they chose, or the one nearest to
the last position they shared. A circle (``lat,lon,km``: a dam, a landslide, the ring a rescue team works in)
takes the followers whose last shared position lies within it.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, String, and_, cast, func, or_, select
from sqlalchemy.orm import Session

from wenzheng.errors import InvalidInput
from wenzheng.followers.models import Follower, FollowerState

CHANNELS = ("wechat", "sms", "email", "webpush")
# The keys of an audience that narrow it: with any of them set, a bulletin is not for every follower (and WeChat
# gets OpenID lists, never a send to all).
NARROWING = ("tags", "regions", "near", "channels")
REGION_CODE = re.compile(r"^\d{6}$")
MAX_TAGS = 50
MAX_REGIONS = 200
MAX_CIRCLES = 20
CIRCLE_KM = (0.1, 200.0)
KM_PER_DEGREE = 111.32  # of latitude, and of longitude at the equator (times the cosine of the latitude elsewhere)


def clean_audience(raw: Mapping[str, Any]) -> dict[str, list[str]]:
    """The audience as stored: known channels, six-digit region codes, tags; InvalidInput naming the bad part."""
    channels = _strings(raw.get("channels"))
    unknown = [c for c in channels if c not in CHANNELS]
    if unknown:
        raise InvalidInput(
            f"Unknown channel {unknown[0]!r}; a bulletin goes out on {', '.join(CHANNELS)}.",
            code="bulletin_unknown_channel",
        )
    regions = _strings(raw.get("regions"))
    bad = [r for r in regions if not REGION_CODE.match(r)]
    if bad:
        raise InvalidInput(
            f"Region {bad[0]!r} is not a six-digit administrative code such as 511826 (芦山县).",
            code="bulletin_bad_region",
        )
    tags = _strings(raw.get("tags"))
    near = [clean_circle(circle) for circle in _circles(raw.get("near"))]
    if len(tags) > MAX_TAGS or len(regions) > MAX_REGIONS or len(near) > MAX_CIRCLES:
        raise InvalidInput(
            f"An audience takes at most {MAX_TAGS} tags, {MAX_REGIONS} regions and {MAX_CIRCLES} circles.",
            code="bulletin_audience_too_big",
        )
    audience = {"tags": tags, "regions": regions, "channels": channels}
    if near:
        audience["near"] = list(dict.fromkeys(near))
    return audience


def _circles(value: Any) -> list[str]:
    """Circles as typed: one per line or separated by semicolons, each ``lat,lon,km`` (spaces allowed)."""
    if value is None or value == "":
        return []
    items = value.replace("；", ";").replace("\n", ";").split(";") if isinstance(value, str) else list(value)
    return [str(item).strip() for item in items if str(item).strip()]


def clean_circle(text: str) -> str:
    """``lat,lon,km`` — a centre (WGS-84, as CAP's circle) and a radius in kilometres — normalised; InvalidInput
    naming what is wrong."""
    parts = text.replace("，", ",").replace(" ", ",").split(",")
    numbers = [part for part in parts if part]
    low, high = CIRCLE_KM
    try:
        lat, lon, km = (float(n) for n in numbers)
    except ValueError:
        raise InvalidInput(
            f"{text!r} is not a circle: write latitude,longitude,radius in km, such as 30.05,102.95,5.",
            code="bulletin_bad_circle",
        ) from None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180 and low <= km <= high):
        raise InvalidInput(
            f"{text!r} is off: latitude −90…90, then longitude −180…180, then a radius of {low:g} to {high:g} km.",
            code="bulletin_bad_circle",
        )
    return f"{lat:.5f},{lon:.5f},{km:g}"


def circle_of(text: str) -> tuple[float, float, float]:
    """A stored circle's (lat, lon, km)."""
    lat, lon, km = (float(n) for n in text.split(","))
    return lat, lon, km


def _strings(value: Any) -> list[str]:
    if value is None or value == "":
        return []
    items = value.replace(",", " ").replace("，", " ").split() if isinstance(value, str) else list(value)
    return list(dict.fromkeys(str(item).strip() for item in items if str(item).strip()))


def audience_filter(account_id: int, audience: Mapping[str, Sequence[str]]) -> list[ColumnElement[bool]]:
    """The WHERE conditions on ``followers`` that select the audience (used by the count and the fan-out)."""
    conditions: list[ColumnElement[bool]] = [
        Follower.account_id == account_id,
        Follower.state == FollowerState.FOLLOWING,
    ]
    if audience.get("channels"):
        conditions.append(Follower.channel.in_(list(audience["channels"])))
    if audience.get("regions"):
        conditions.append(or_(*(Follower.region_code.like(f"{region_prefix(r)}%") for r in audience["regions"])))
    if audience.get("tags"):
        conditions.append(or_(*(_has_tag(tag) for tag in audience["tags"])))
    if audience.get("near"):
        conditions.append(or_(*(_within(*circle_of(circle)) for circle in audience["near"])))
    return conditions


def _within(lat: float, lon: float, km: float) -> ColumnElement[bool]:
    """Followers whose last shared position lies in the circle: a box first (two range tests), then the distance on
    a flat projection around the centre (good to well under 1 % at these radii), in plain arithmetic that SQLite
    and PostgreSQL both do. Positions are compared as they were sent (WeChat's are GCJ-02, up to ~0.5 km off)."""
    dlat = km / KM_PER_DEGREE
    scale = max(math.cos(math.radians(lat)), 0.01)
    dlon = dlat / scale
    north, east = Follower.last_latitude - lat, (Follower.last_longitude - lon) * scale
    return and_(
        Follower.last_latitude.between(lat - dlat, lat + dlat),
        Follower.last_longitude.between(lon - dlon, lon + dlon),
        north * north + east * east <= dlat * dlat,
    )


def _has_tag(tag: str) -> ColumnElement[bool]:
    # Tags are a JSON list; its text holds each tag as json.dumps writes it (how SQLAlchemy stores JSON on
    # both engines), so a LIKE on the quoted tag is exact and works on SQLite and PostgreSQL alike.
    quoted = json.dumps(tag).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return cast(Follower.tags, String).like(f"%{quoted}%", escape="\\")


def region_prefix(code: str) -> str:
    """510000 → 51, 511800 → 5118, 511826 → 511826: the part of a county code that lies inside the region."""
    trimmed = code
    while len(trimmed) > 2 and trimmed.endswith("00"):
        trimmed = trimmed[:-2]
    return trimmed


def audience_query(account_id: int, audience: Mapping[str, Sequence[str]]) -> Select[tuple[int]]:
    return select(Follower.id).where(*audience_filter(account_id, audience))


def count_audience(session: Session, account_id: int, audience: Mapping[str, Sequence[str]]) -> dict[str, int]:
    """How many followers the audience reaches, per channel and in all (``"total"``)."""
    rows = session.execute(
        select(Follower.channel, func.count(Follower.id))
        .where(*audience_filter(account_id, audience))
        .group_by(Follower.channel)
    ).all()
    counts = {channel: int(count) for channel, count in rows}
    counts["total"] = sum(counts.values())
    return counts


def count_languages(session: Session, account_id: int, audience: Mapping[str, Sequence[str]]) -> dict[str, int]:
    """How many of the audience asked for each language other than Chinese (followers.languages)."""
    rows = session.execute(
        select(Follower.language, func.count(Follower.id))
        .where(*audience_filter(account_id, audience), Follower.language.is_not(None))
        .group_by(Follower.language)
    ).all()
    return {str(language): int(count) for language, count in rows}


def account_tags(session: Session, account_id: int, *, limit: int = 200) -> list[str]:
    """Tags in use among the account's followers (for the compose form), most common first."""
    counts: dict[str, int] = {}
    rows = session.execute(
        select(Follower.tags)
        .where(Follower.account_id == account_id, Follower.state == FollowerState.FOLLOWING)
        .limit(20000)
    ).scalars()
    for tags in rows:
        for tag in tags or []:
            counts[tag] = counts.get(tag, 0) + 1
    return sorted(counts, key=lambda t: (-counts[t], t))[:limit]


def nearest_county(latitude: float, longitude: float) -> str | None:
    """The GB/T 2260 code of the county seat nearest to a position (within 100 km), from the offline gazetteer."""
    best: tuple[float, str] | None = None
    for code, lat, lon in _county_seats():
        distance = _km(latitude, longitude, lat, lon)
        if best is None or distance < best[0]:
            best = (distance, code)
    return best[1] if best is not None and best[0] <= 100 else None


@functools.cache
def _county_seats() -> tuple[tuple[str, float, float], ...]:
    from wenzheng.triage.gazetteer import load_gazetteer

    gazetteer = load_gazetteer()
    return tuple(
        (d.code[:6], d.lat, d.lon)
        for d in gazetteer.by_code.values()
        if d.level == 2 and d.lat is not None and d.lon is not None
    )


def region_name(code: str) -> str:
    """雅安市 for 511800, 芦山县 for 511826; the code itself when the gazetteer does not know it."""
    from wenzheng.triage.gazetteer import load_gazetteer

    division = load_gazetteer().by_code.get(code + "000000")
    return division.name if division else code


def _km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 6371.0 * 2 * math.asin(math.sqrt(a))
