"""Managing an account's auto-reply rules (agency admins)."""

from __future__ import annotations

from typing import Any

import regex
from sqlalchemy.orm import Session

from wenzheng.accounts.models import Account
from wenzheng.audit.actions import record_audit
from wenzheng.autoreplies.match import MATCH_TYPES, forget_rules
from wenzheng.autoreplies.models import AutoReplyRule
from wenzheng.errors import InvalidInput
from wenzheng.staff.actor import Actor
from wenzheng.staff.roles import Role
from wenzheng.validation import clean_text

REPLY_TYPES = ("text", "news")


def do_create_auto_reply(
    session: Session,
    actor: Actor,
    account: Account,
    *,
    match_type: str,
    pattern: str,
    reply_text: str = "",
    reply_type: str = "text",
    articles: list[dict[str, Any]] | None = None,
    priority: int = 100,
) -> AutoReplyRule:
    actor.require_role(account.agency_id, Role.ADMIN)
    rule = AutoReplyRule(
        agency_id=account.agency_id,
        account_id=account.id,
        match_type=_match_type(match_type),
        pattern=_pattern(match_type, pattern),
        priority=_priority(priority),
        reply_type=_reply_type(reply_type),
        reply_text=clean_text(reply_text, field="reply_text", max_length=2000, required=reply_type == "text"),
        articles=_articles(articles or [], reply_type),
    )
    session.add(rule)
    session.flush()
    record_audit(
        session,
        actor,
        "console:auto_reply:create",
        agency_id=account.agency_id,
        subject_type="auto_reply",
        subject_id=rule.id,
        data={"pattern": rule.pattern, "type": match_type},
    )
    session.commit()
    forget_rules(account.id)
    return rule


def do_delete_auto_reply(session: Session, actor: Actor, rule: AutoReplyRule) -> None:
    actor.require_role(rule.agency_id, Role.ADMIN)
    record_audit(
        session,
        actor,
        "console:auto_reply:delete",
        agency_id=rule.agency_id,
        subject_type="auto_reply",
        subject_id=rule.id,
        data={"pattern": rule.pattern},
    )
    account_id = rule.account_id
    session.delete(rule)
    session.commit()
    forget_rules(account_id)


def _match_type(value: str) -> str:
    if value not in MATCH_TYPES:
        raise InvalidInput(f"The match type must be one of {', '.join(MATCH_TYPES)}.", code="invalid_match_type")
    return value


def _pattern(match_type: str, pattern: str) -> str:
    pattern = clean_text(pattern, field="pattern", max_length=200)
    if match_type == "regex":
        try:
            regex.compile(pattern)
        except regex.error as exc:
            raise InvalidInput(f"The regular expression does not compile: {exc}.", code="invalid_regex") from exc
    return pattern


def _priority(value: int) -> int:
    if not 0 <= value <= 10_000:
        raise InvalidInput("The priority must be between 0 and 10000 (lower answers first).", code="invalid_priority")
    return value


def _reply_type(value: str) -> str:
    if value not in REPLY_TYPES:
        raise InvalidInput("The reply type must be text or news.", code="invalid_reply_type")
    return value


def _articles(articles: list[dict[str, Any]], reply_type: str) -> list[dict[str, Any]]:
    if reply_type != "news":
        return []
    if not 1 <= len(articles) <= 8:
        raise InvalidInput("A news reply has 1 to 8 articles.", code="invalid_articles")
    cleaned = []
    for article in articles:
        url = clean_text(str(article.get("url", "")), field="url", max_length=500)
        if not url.startswith(("https://", "http://")):
            raise InvalidInput("An article link must start with https:// or http://.", code="invalid_url")
        cleaned.append(
            {
                "title": clean_text(str(article.get("title", "")), field="title", max_length=64),
                "description": clean_text(
                    str(article.get("description", "")), field="description", max_length=120, required=False
                ),
                "url": url,
                "picurl": clean_text(str(article.get("picurl", "")), field="picurl", max_length=500, required=False),
            }
        )
    return cleaned
