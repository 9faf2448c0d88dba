"""The triage contract: what goes in, what comes out, and the agency's routing rules.

``TriageResult.to_dict()`` is the JSON line that ``wenzheng triage classify`` prints; other tools rely on it,
so its keys are fixed (see docs/triage.md).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

Lang = Literal["zh", "en", "other"]
Urgency = Literal["P0", "P1", "P2", "P3"]
INTENTS = (
    "rescue",
    "help",
    "missing_person",
    "consultation",
    "complaint",
    "suggestion",
    "report",
    "offer",
    "sympathy",
    "other",
)
URGENCIES: tuple[Urgency, ...] = ("P0", "P1", "P2", "P3")


@dataclass(frozen=True, slots=True)
class TriageInput:
    """One inbound message. ``received_at`` (aware UTC) lets a cluster index forget old messages."""

    id: str
    text: str
    received_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Place:
    """A place named in a message: the phrase as written, its administrative divisions and coordinates.

    ``admin`` is ``[province, city, county, township]``, ``None`` where unknown. ``lat``/``lon`` come from the
    offline gazetteer (county level at best) and are ``None`` when no gazetteer entry matched unambiguously.
    """

    text: str
    admin: tuple[str | None, str | None, str | None, str | None] = (None, None, None, None)
    lat: float | None = None
    lon: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "admin": list(self.admin), "lat": self.lat, "lon": self.lon}


@dataclass(frozen=True, slots=True)
class People:
    """Who is affected and when: head count, injured, dead, vulnerable groups, and time expressions."""

    count: int | None = None
    injured: int | None = None
    dead: int | None = None
    vulnerable: tuple[str, ...] = ()
    times: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "injured": self.injured,
            "dead": self.dead,
            "vulnerable": list(self.vulnerable),
            "times": list(self.times),
        }


@dataclass(frozen=True, slots=True)
class RoutingRule:
    """An agency's routing rule, passed in as plain data (the library has no database).

    A rule matches when every facet it sets matches: any of ``keywords`` occurs in the normalized text, the
    predicted category (topic label) or intent is one of ``categories``, any of ``regions`` occurs in an
    extracted place. The first matching rule (highest ``priority``, then list order) decides the department.
    """

    department: str
    keywords: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    priority: int = 0
    name: str = ""

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> RoutingRule:
        """Build a rule from a plain mapping such as a JSON object or a database row."""
        return cls(
            department=str(data["department"]),
            keywords=_strings(data.get("keywords")),
            categories=_strings(data.get("categories")),
            regions=_strings(data.get("regions")),
            priority=int(data.get("priority", 0)),
            name=str(data.get("name", "")),
        )


def _strings(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(str(item) for item in value)


@dataclass(frozen=True, slots=True)
class TriageResult:
    """Everything triage decided about one message, with the cues that explain it."""

    id: str
    lang: Lang
    normalized: str
    spam: bool
    intent: str
    urgency: Urgency
    score: float
    cues: tuple[str, ...]
    places: tuple[Place, ...]
    phones: tuple[str, ...]
    people: People
    cluster: str | None
    department: str | None
    department_confidence: float
    model_version: str
    category: str | None = field(default=None, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """The stable JSON contract (the keys and their order are documented in docs/triage.md)."""
        return {
            "id": self.id,
            "lang": self.lang,
            "normalized": self.normalized,
            "spam": self.spam,
            "intent": self.intent,
            "urgency": self.urgency,
            "score": self.score,
            "cues": list(self.cues),
            "places": [place.to_dict() for place in self.places],
            "phones": list(self.phones),
            "people": self.people.to_dict(),
            "cluster": self.cluster,
            "department": self.department,
            "department_confidence": self.department_confidence,
            "model_version": self.model_version,
        }


def as_inputs(messages: Sequence[TriageInput | Mapping[str, Any]]) -> list[TriageInput]:
    """Accept ``TriageInput`` objects or plain ``{"id", "text"}`` mappings (as a worker reads them from rows)."""
    return [m if isinstance(m, TriageInput) else TriageInput(id=str(m["id"]), text=str(m["text"])) for m in messages]
