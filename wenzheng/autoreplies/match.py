"""Which auto-reply answers a text: rules in priority order, the first that matches wins.

Regular expressions run under the ``regex`` package's timeout, so a pathological pattern cannot stall
intake past the channel's reply deadline.
"""

from __future__ import annotations

from collections.abc import Iterable

import regex
from sqlalchemy import select
from sqlalchemy.orm import Session

from wenzheng.autoreplies.models import AutoReplyRule

MATCH_TYPES = ("exact", "contains", "regex")
REGEX_TIMEOUT_SECONDS = 0.02


def rules_of_account(session: Session, account_id: int) -> list[AutoReplyRule]:
    """The account's enabled rules in answering order, read once per session (one intake batch)."""
    cache: dict[int, list[AutoReplyRule]] = session.info.setdefault("wz_auto_reply_rules", {})
    if account_id not in cache:
        cache[account_id] = _load_rules(session, account_id)
    return cache[account_id]


def _load_rules(session: Session, account_id: int) -> list[AutoReplyRule]:
    return list(
        session.execute(
            select(AutoReplyRule)
            .where(AutoReplyRule.account_id == account_id)
            .where(AutoReplyRule.enabled.is_(True))
            .order_by(AutoReplyRule.priority, AutoReplyRule.id)
        ).scalars()
    )


def matching_rule(rules: Iterable[AutoReplyRule], text: str) -> AutoReplyRule | None:
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
