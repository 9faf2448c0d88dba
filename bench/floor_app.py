"""The floor for the WeChat ingest benchmark: a minimal ASGI app that parses the XML and inserts one row.

Anything wenzheng does beyond this (signatures, de-duplication, citizens, replies, jobs) is its overhead.
"""

from __future__ import annotations

import os
import sqlite3
from typing import Any

from defusedxml.ElementTree import fromstring

_db = sqlite3.connect(os.environ.get("FLOOR_DB", "floor.db"), check_same_thread=False, isolation_level=None)
_db.execute("PRAGMA journal_mode=WAL")
_db.execute("PRAGMA synchronous=NORMAL")
_db.execute("CREATE TABLE IF NOT EXISTS messages (msg_id TEXT PRIMARY KEY, sender TEXT, content TEXT)")


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    root = fromstring(body)
    _db.execute(
        "INSERT OR IGNORE INTO messages VALUES (?, ?, ?)",
        (root.findtext("MsgId"), root.findtext("FromUserName"), root.findtext("Content")),
    )
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/plain"), (b"content-length", b"7")],
        }
    )
    await send({"type": "http.response.body", "body": b"success"})
