"""Routing: the agency's own rules first (a matching rule wins), then the topic model's department."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from wenzheng.triage.models import Place, RoutingRule


@dataclass(frozen=True, slots=True)
class Route:
    department: str | None
    confidence: float
    cue: str | None = None


def as_rules(rules: Sequence[RoutingRule | Mapping[str, Any]]) -> list[RoutingRule]:
    """Rules as given (objects or plain mappings), highest priority first, list order kept among equals."""
    parsed = [rule if isinstance(rule, RoutingRule) else RoutingRule.from_mapping(rule) for rule in rules]
    return sorted(parsed, key=lambda rule: -rule.priority)


def matches(rule: RoutingRule, text: str, category: str | None, intent: str, places: Sequence[Place]) -> bool:
    """Every facet the rule sets must match; a rule that sets none matches nothing."""
    if not (rule.keywords or rule.categories or rule.regions):
        return False
    if rule.keywords and not any(keyword in text for keyword in rule.keywords):
        return False
    if rule.categories and category not in rule.categories and intent not in rule.categories:
        return False
    return not rule.regions or any(_in_place(region, place) for region in rule.regions for place in places)


def _in_place(region: str, place: Place) -> bool:
    return region in place.text or any(name and (region == name or region in name) for name in place.admin)


def route(
    rules: Sequence[RoutingRule],
    *,
    text: str,
    category: str | None,
    category_confidence: float,
    intent: str,
    places: Sequence[Place],
) -> Route:
    """The department for one message: the first matching rule (confidence 1), else the model's category."""
    for rule in rules:
        if matches(rule, text, category, intent, places):
            return Route(rule.department, 1.0, f"rule:{rule.name or rule.department}")
    return Route(category, round(category_confidence, 4) if category else 0.0)
