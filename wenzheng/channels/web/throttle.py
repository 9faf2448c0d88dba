"""Abuse limits for the public channels, counted in the database so every process sees the same numbers."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from wenzheng.channels.models import IntakeThrottle
from wenzheng.db import utcnow
from wenzheng.errors import RateLimited

WINDOW = dt.timedelta(hours=1)


def check_and_count(session: Session, scope: str, key: str, *, limit: int) -> None:
    """Refuse when ``key`` was counted ``limit`` times in the last hour; otherwise count this attempt."""
    since = utcnow() - WINDOW
    used = session.execute(
        select(func.count())
        .select_from(IntakeThrottle)
        .where(IntakeThrottle.scope == scope, IntakeThrottle.key == key, IntakeThrottle.at >= since)
    ).scalar_one()
    if used >= limit:
        raise RateLimited(
            f"Too many messages from here in the last hour (limit {limit}). If someone is in danger, call 110 / 119 / "
            "120 now; otherwise please try again later.",
            retry_after=int(WINDOW.total_seconds()),
            code="too_many_messages",
        )
    session.add(IntakeThrottle(scope=scope, key=key))


def forget_old_counts(session: Session) -> None:
    session.execute(delete(IntakeThrottle).where(IntakeThrottle.at < utcnow() - WINDOW))
