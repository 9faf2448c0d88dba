"""One database poller per key per process, fanned out to every open stream (Server-Sent Events).

Fifty consoles watching one agency's queue, or ten thousand citizens keeping an account's page open, cost
one query per interval in each process, not one per stream. A listener far behind is dropped from (it
reconnects and reads the page again).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncIterator, Callable
from typing import Any, Generic, TypeVar

from starlette.concurrency import run_in_threadpool

from wenzheng.db import utcnow

K = TypeVar("K")
Event = dict[str, Any]
Poll = Callable[[Any, dt.datetime], tuple[list[Event], dt.datetime]]
QUEUE_LIMIT = 100


class Broadcaster(Generic[K]):
    """``poll(key, since) -> (events, new since)`` runs every ``interval`` seconds while ``key`` has listeners."""

    def __init__(self, poll: Poll, interval: float) -> None:
        self.poll = poll
        self.interval = interval
        self.listeners: dict[K, set[asyncio.Queue[Event]]] = {}
        self.pollers: dict[K, asyncio.Task[None]] = {}

    @contextlib.asynccontextmanager
    async def listen(self, key: K) -> AsyncIterator[asyncio.Queue[Event]]:
        queue: asyncio.Queue[Event] = asyncio.Queue(QUEUE_LIMIT)
        self.listeners.setdefault(key, set()).add(queue)
        if key not in self.pollers or self.pollers[key].done():
            self.pollers[key] = asyncio.create_task(self._run(key))
        try:
            yield queue
        finally:
            listeners = self.listeners.get(key, set())
            listeners.discard(queue)
            if not listeners:
                self.listeners.pop(key, None)
                poller = self.pollers.pop(key, None)
                if poller is not None:
                    poller.cancel()

    async def _run(self, key: K) -> None:
        since = utcnow()
        while self.listeners.get(key):
            events, since = await run_in_threadpool(self.poll, key, since)
            for event in events:
                for queue in list(self.listeners.get(key, ())):
                    with contextlib.suppress(asyncio.QueueFull):
                        queue.put_nowait(event)
            await asyncio.sleep(self.interval)
