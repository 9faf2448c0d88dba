"""Bulletins as they are published, pushed to every open citizen page of the account (Server-Sent Events).

In a crisis thousands of citizens keep the page open. Each process therefore polls the database once per
account per second, whatever the number of pages open, and hands what it found to every listener of that
account through an in-memory queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncIterator
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from wenzheng.bulletins.models import Bulletin, BulletinState
from wenzheng.db import read_scope, utcnow

POLL_SECONDS = 1.0
BEIJING = ZoneInfo("Asia/Shanghai")
QUEUE_LIMIT = 100  # a listener this far behind has gone; it reconnects and reads the page again


def as_event(bulletin: Bulletin, slug: str) -> dict[str, Any]:
    return {
        "id": bulletin.id,
        "kind": bulletin.kind,
        "title": bulletin.title,
        "body": bulletin.body[:500],
        "colour": bulletin.warning_colour,
        "started_at": bulletin.started_at.isoformat() if bulletin.started_at else None,
        "when": bulletin.started_at.astimezone(BEIJING).strftime("%m-%d %H:%M") if bulletin.started_at else "",
        "url": f"/c/{slug}/bulletins/{bulletin.id}",
    }


def published_since(account_id: int, slug: str, since: dt.datetime) -> tuple[list[dict[str, Any]], dt.datetime]:
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


class Broadcaster:
    """One poller per account with listeners, in this process."""

    def __init__(self) -> None:
        self.listeners: dict[int, set[asyncio.Queue[dict[str, Any]]]] = {}
        self.pollers: dict[int, asyncio.Task[None]] = {}

    @contextlib.asynccontextmanager
    async def listen(self, account_id: int, slug: str) -> AsyncIterator[asyncio.Queue[dict[str, Any]]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(QUEUE_LIMIT)
        self.listeners.setdefault(account_id, set()).add(queue)
        if account_id not in self.pollers or self.pollers[account_id].done():
            self.pollers[account_id] = asyncio.create_task(self._poll(account_id, slug))
        try:
            yield queue
        finally:
            listeners = self.listeners.get(account_id, set())
            listeners.discard(queue)
            if not listeners:
                self.listeners.pop(account_id, None)
                poller = self.pollers.pop(account_id, None)
                if poller is not None:
                    poller.cancel()

    async def _poll(self, account_id: int, slug: str) -> None:
        since = utcnow()
        while self.listeners.get(account_id):
            events, since = await run_in_threadpool(published_since, account_id, slug, since)
            for event in events:
                for queue in list(self.listeners.get(account_id, ())):
                    with contextlib.suppress(asyncio.QueueFull):
                        queue.put_nowait(event)
            await asyncio.sleep(POLL_SECONDS)


broadcaster = Broadcaster()
