"""Bulletins as they are published, pushed to every open citizen page of the account (Server-Sent Events).

In a crisis thousands of citizens keep the page open: each process polls the database once per account per
second, whatever the number of pages open (``wenzheng.live.Broadcaster``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from wenzheng.bulletins.languages import version_of
from wenzheng.bulletins.models import Bulletin, BulletinState
from wenzheng.db import read_scope
from wenzheng.live import Broadcaster

POLL_SECONDS = 1.0
BEIJING = ZoneInfo("Asia/Shanghai")


def as_event(bulletin: Bulletin, slug: str, language: str | None = None) -> dict[str, Any]:
    """A bulletin as the citizen page lists it, in ``language`` where it has that version; ``titles`` gives the
    live page every version's title and text (its readers differ)."""
    version = version_of(bulletin, language)
    return {
        "id": bulletin.id,
        "kind": bulletin.kind,
        "title": version.title,
        "versions": {
            code: {"title": fields["title"], "body": fields.get("body", "")[:500]}
            for code, fields in (bulletin.translations or {}).items()
        },
        "body": version.body[:500],
        "colour": bulletin.warning_colour,
        "started_at": bulletin.started_at.isoformat() if bulletin.started_at else None,
        "when": bulletin.started_at.astimezone(BEIJING).strftime("%m-%d %H:%M") if bulletin.started_at else "",
        "url": f"/c/{slug}/bulletins/{bulletin.id}",
    }


def published_since(key: tuple[int, str], since: dt.datetime) -> tuple[list[dict[str, Any]], dt.datetime]:
    """Bulletins of the account (``key`` = (account id, slug)) that started going out after ``since``."""
    account_id, slug = key
    with read_scope() as session:
        rows = list(
            session.execute(
                select(Bulletin)
                .where(Bulletin.account_id == account_id)
                .where(Bulletin.state.in_(BulletinState.PUBLISHED))
                .where(Bulletin.started_at > since)
                .order_by(Bulletin.started_at)
            ).scalars()
        )
        latest = max((b.started_at for b in rows if b.started_at), default=since)
        return [as_event(b, slug) for b in rows], latest


broadcaster: Broadcaster[tuple[int, str]] = Broadcaster(published_since, POLL_SECONDS)
