"""Which auto-reply answers a text: rules in priority order, the first that matches wins.

Regular expressions run under the ``regex`` package's timeout, so a pathological pattern cannot stall
intake past the channel's reply deadline.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import regex
from sqlalchemy import select
from sqlalchemy.orm import Session

from wenzheng.autoreplies.models import AutoReplyRule

MATCH_TYPES = ("exact", "contains", "regex")
REGEX_TIMEOUT_SECONDS = 0.02


# The rules are read by intake for every text, and change a few times a day: each process keeps them for a few
# seconds. A change made in this process is seen at once (the actions forget the account's entry after their
# commit); one made in another process within TTL_SECONDS.
TTL_SECONDS = 3.0


@dataclass(frozen=True, slots=True)
class Rule:
    """What answering needs of an AutoReplyRule, detached from any session."""

    id: int
    match_type: str
    pattern: str
    reply_type: str
    reply_text: str
    articles: tuple[dict[str, Any], ...]

    @classmethod
    def of(cls, rule: AutoReplyRule) -> Rule:
        articles = tuple(dict(article) for article in rule.articles or ())
        return cls(rule.id, rule.match_type, rule.pattern, rule.reply_type, rule.reply_text, articles)


_cache: dict[int, tuple[float, list[Rule]]] = {}
_lock = threading.Lock()


def rules_of_account(session: Session, account_id: int) -> list[Rule]:
    """The account's enabled rules in answering order (cached for TTL_SECONDS in this process)."""
    now = time.monotonic()
    cached = _cache.get(account_id)
    if cached is not None and now - cached[0] < TTL_SECONDS:
        return cached[1]
    rules = [Rule.of(rule) for rule in _load_rules(session, account_id)]
    with _lock:
        _cache[account_id] = (now, rules)
    return rules


def forget_rules(account_id: int | None = None) -> None:
    """Drop the cached rules of one account (after a change in this process), or of all (between tests)."""
    with _lock:
        if account_id is None:
            _cache.clear()
        else:
            _cache.pop(account_id, None)


def _load_rules(session: Session, account_id: int) -> list[AutoReplyRule]:
    return list(
        session.execute(
            select(AutoReplyRule)
            .where(AutoReplyRule.account_id == account_id)
            .where(AutoReplyRule.enabled.is_(True))
            .order_by(AutoReplyRule.priority, AutoReplyRule.id)
        ).scalars()
    )


def matching_rule(rules: Iterable[Rule], text: str) -> Rule | None:
    text = text.strip()
    if not text:
        return None
    return next((rule for rule in rules if matches(rule.match_type, rule.pattern, text)), None)


def matches(match_type: str, pattern: str, text: str) -> bool:
    if match_type == "exact":
        return text.casefold() == pattern.strip().casefold()
    if match_type == "contains":
        return pattern.casefold() in text.casefold()
    if match_type == "regex":
        try:
            return regex.search(pattern, text, timeout=REGEX_TIMEOUT_SECONDS) is not None
        except (TimeoutError, regex.error):
            return False
    return False
