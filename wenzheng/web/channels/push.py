"""/c/{account}/push: browser notifications for the citizen page (Web Push), and the service worker.

Public by design, like the rest of the citizen page: a browser subscribes without an account. Subscribing is
rate-limited per network address; an endpoint is a capability URL only its browser knows, so knowing one is
what it takes to remove it.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, Response

from wenzheng.bulletins.webpush import checked_subscription, subscribe, unsubscribe, vapid_public_key
from wenzheng.channels.web.submit import account_by_slug
from wenzheng.channels.web.throttle import check_and_count
from wenzheng.config import get_settings
from wenzheng.db import session_scope
from wenzheng.errors import BadRequest, PayloadTooLarge
from wenzheng.web.channels.citizen import BROWSER_COOKIE
from wenzheng.web.deps import client_ip
from wenzheng.web.i18n import language_of

router = APIRouter(prefix="/c")

MAX_BODY_BYTES = 4096  # a PushSubscription's JSON is a few hundred bytes
THROTTLE_SCOPE = "push-ip"
SERVICE_WORKER = Path(__file__).parent.parent / "static" / "push-sw.js"


@router.get("/{account}/push/key")
def push_key(account: str) -> Response:
    """The applicationServerKey the page subscribes with."""
    with session_scope() as session:
        account_by_slug(session, account)
        key = vapid_public_key(session)
    return JSONResponse({"public_key": key}, headers={"Cache-Control": "no-cache"})


@router.post("/{account}/push/subscriptions", status_code=201)
async def push_subscribe(request: Request, account: str) -> Response:
    """Follow the account with this browser: the body is ``PushSubscription.toJSON()``."""
    body = await _json_body(request)
    checked_subscription(body)  # junk is refused before anything is looked up or counted
    user_agent = request.headers.get("user-agent", "")
    browser_token = request.cookies.get(BROWSER_COOKIE, "")
    ip = client_ip(request)
    try:
        await run_in_threadpool(_subscribe, account, body, user_agent, browser_token, ip, language_of(request))
    except IntegrityError:  # the same browser's first subscription arrived twice at once: the retry finds it
        await run_in_threadpool(_subscribe, account, body, user_agent, browser_token, ip, language_of(request))
    return JSONResponse({"ok": True}, status_code=201)


@router.post("/{account}/push/subscriptions/delete")
async def push_unsubscribe(request: Request, account: str) -> Response:
    """Stop notifications for this browser: ``{"endpoint": …}``."""
    body = await _json_body(request)
    endpoint = body.get("endpoint") if isinstance(body, dict) else None
    removed = await run_in_threadpool(_unsubscribe, account, endpoint)
    return JSONResponse({"ok": True, "removed": removed})


@router.get("/{account}/sw.js")
def push_service_worker(account: str) -> Response:
    """The service worker, allowed to control the account's pages (its scope is ``/c/{account}/``)."""
    with session_scope() as session:
        found = account_by_slug(session, account)
    headers = {"Service-Worker-Allowed": f"/c/{found.slug}/", "Cache-Control": "no-cache"}
    return Response(_service_worker(), media_type="text/javascript", headers=headers)


def _subscribe(slug: str, body: Any, user_agent: str, browser_token: str, ip: str, language: str) -> None:
    with session_scope() as session:
        account = account_by_slug(session, slug)
        check_and_count(session, THROTTLE_SCOPE, ip, limit=get_settings().web_max_messages_per_address_per_hour)
        subscribe(session, account, body, user_agent=user_agent, browser_token=browser_token, language=language)


def _unsubscribe(slug: str, endpoint: object) -> bool:
    with session_scope() as session:
        return unsubscribe(session, account_by_slug(session, slug), endpoint)


async def _json_body(request: Request) -> Any:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise _too_large()
    raw = await request.body()
    if len(raw) > MAX_BODY_BYTES:
        raise _too_large()
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest("The request body is not valid JSON. Check quotes and commas.", code="malformed_json") from exc


def _too_large() -> PayloadTooLarge:
    return PayloadTooLarge(
        f"A push subscription is a few hundred bytes; at most {MAX_BODY_BYTES} are accepted.",
        code="payload_too_large",
    )


@lru_cache(maxsize=1)
def _service_worker() -> bytes:
    return SERVICE_WORKER.read_bytes()
