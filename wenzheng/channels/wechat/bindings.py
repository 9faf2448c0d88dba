"""A short-lived, per-process cache of WeChat bindings: the callback checks every push against its
account's token and key, and should not read them from the database thousands of times a second.

A stale entry can only refuse a push (a changed token or key): the callback then reloads once and tries again.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from wenzheng import db
from wenzheng.accounts.models import Account
from wenzheng.channels.wechat.access import binding_for_callback
from wenzheng.channels.wechat.models import WeChatBinding

TTL_SECONDS = 5.0


@dataclass(frozen=True)
class CachedBinding:
    binding: WeChatBinding
    account: Account
    loaded_at: float


_cache: dict[str, CachedBinding] = {}
_lock = threading.Lock()


def cached_binding(slug: str, *, fresh: bool = False) -> CachedBinding:
    now = time.monotonic()
    entry = _cache.get(slug)
    if entry is not None and not fresh and now - entry.loaded_at < TTL_SECONDS:
        return entry
    # A reader's session: on SQLite it never waits for the write lock that the intake writer holds under load.
    with db.read_scope() as session:
        binding, account = binding_for_callback(session, slug)
        session.expunge_all()
    entry = CachedBinding(binding, account, now)
    with _lock:
        _cache[slug] = entry
    return entry


def forget_bindings() -> None:
    """Drop every cached binding (after a change in this process, and between tests)."""
    with _lock:
        _cache.clear()
