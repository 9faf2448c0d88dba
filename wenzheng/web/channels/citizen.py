"""/c/{account}: the citizen's light page — write in, follow, and come back through a private status link.

Public by design (citizens have no accounts); protected by rate limits, a honeypot field, and links whose
tokens only the citizen holds. Everything works without JavaScript.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import AsyncIterator, Callable
from functools import partial
from typing import TypeVar

from fastapi import APIRouter, Request
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.responses import RedirectResponse, Response, StreamingResponse

from wenzheng.accounts.models import Account
from wenzheng.attachments.store import get_store
from wenzheng.bulletins.access import published_bulletin, published_bulletins
from wenzheng.bulletins.audience import region_name
from wenzheng.bulletins.languages import version_of
from wenzheng.bulletins.live import as_event, broadcaster
from wenzheng.cases.followup import rating_prompt
from wenzheng.channels.status import message_by_status_token, status_url
from wenzheng.channels.web.status import conversation_of
from wenzheng.channels.web.submit import (
    Submission,
    accept_follow_up,
    accept_web,
    account_by_slug,
    follow_by_phone,
    send_follow_code,
)
from wenzheng.citizens.privacy import mask_handle
from wenzheng.config import get_settings
from wenzheng.db import session_scope
from wenzheng.errors import BadRequest, NotFound
from wenzheng.followers.confirmations import confirm_follow, request_of_link
from wenzheng.followers.links import follower_of_link, unsubscribe_by_link
from wenzheng.followers.models import FollowerState
from wenzheng.intake.writer import intake_writer
from wenzheng.web.deps import client_ip
from wenzheng.web.i18n import language_of
from wenzheng.web.templating import render

router = APIRouter(prefix="/c")
BULLETINS_ON_PAGE = 10
LIVE_STREAM_SECONDS = 600  # then the browser reconnects (EventSource does it by itself)
HEARTBEAT_SECONDS = 15.0
T = TypeVar("T")
BROWSER_COOKIE = "wz_citizen"


@router.get("/{account}")
def citizen_home(request: Request, account: str, followed: str = "") -> Response:
    with session_scope() as session:
        found = account_by_slug(session, account)
        lang = language_of(request)
        listed = published_bulletins(session, found.id, limit=BULLETINS_ON_PAGE)
        bulletins = [as_event(b, found.slug, lang) for b in listed]
    response = render(
        request,
        "citizen/home.html",
        {
            "account": found,
            "form_id": secrets.token_urlsafe(16),
            "followed": bool(followed),
            "bulletins": bulletins,
        },
    )
    if not request.cookies.get(BROWSER_COOKIE):
        response.set_cookie(
            BROWSER_COOKIE,
            secrets.token_urlsafe(16),
            max_age=365 * 86400,
            httponly=True,
            samesite="lax",
            secure=get_settings().cookie_secure,
        )
    return response


@router.get("/{account}/bulletins/events")
async def citizen_bulletin_events(request: Request, account: str) -> Response:
    """Server-Sent Events: each bulletin of the account as it is published, while the page is open."""
    with session_scope() as session:
        found = account_by_slug(session, account)
    return StreamingResponse(
        _bulletin_events(request, found.id, found.slug),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


async def _bulletin_events(request: Request, account_id: int, slug: str) -> AsyncIterator[str]:
    yield "retry: 2000\n\n"
    deadline = time.monotonic() + LIVE_STREAM_SECONDS
    async with broadcaster.listen((account_id, slug)) as queue:
        while time.monotonic() < deadline and not await request.is_disconnected():
            try:
                event = await asyncio.wait_for(queue.get(), timeout=HEARTBEAT_SECONDS)
            except TimeoutError:
                yield ": still here\n\n"
                continue
            yield f"event: bulletin\nid: {event['id']}\ndata: {json.dumps(event, ensure_ascii=False)}\n\n"


@router.get("/{account}/bulletins/{bulletin_id}")
def citizen_bulletin(request: Request, account: str, bulletin_id: int) -> Response:
    with session_scope() as session:
        found = account_by_slug(session, account)
        bulletin = published_bulletin(session, found.id, bulletin_id)
        version = version_of(bulletin, language_of(request))  # the Chinese where it has no version in that language
        context = {"account": found, "bulletin": bulletin, "version": version}
        response = render(request, "citizen/bulletin.html", context)
    response.headers["Cache-Control"] = "public, max-age=30"
    return response


@router.get("/{account}/bulletins/{bulletin_id}/image")
def citizen_bulletin_image(account: str, bulletin_id: int) -> Response:
    with session_scope() as session:
        found = account_by_slug(session, account)
        bulletin = published_bulletin(session, found.id, bulletin_id)
        sha256, content_type = bulletin.image_sha256, bulletin.image_content_type
    if not sha256:
        raise NotFound("This bulletin has no picture.")
    with get_store().open(sha256) as stored:
        data = stored.read()
    return Response(data, media_type=content_type or "image/jpeg", headers={"Cache-Control": "public, max-age=86400"})


@router.post("/{account}/messages")
async def citizen_send(request: Request, account: str) -> Response:
    form = await request.form(max_part_size=get_settings().web_max_body_bytes)
    photo = form.get("photo")
    submission = Submission(
        kind=_field(form, "kind"),
        text=_field(form, "text"),
        phone=_field(form, "phone"),
        address=_field(form, "address"),
        latitude=_field(form, "latitude"),
        longitude=_field(form, "longitude"),
        photo=await photo.read() if isinstance(photo, UploadFile) else b"",
        honeypot=_field(form, "website"),
        browser_token=request.cookies.get(BROWSER_COOKIE, ""),
        ip=client_ip(request),
    )
    key = _form_key(form)
    sent = await _write(partial(accept_web, slug=account, submission=submission, idempotency_key=key))
    return RedirectResponse(f"/c/{account}/s/{sent.status_token}?sent=1", status_code=303)


@router.get("/{account}/s/{token}")
def citizen_status(request: Request, account: str, token: str, sent: str = "") -> Response:
    with session_scope() as session:
        found = account_by_slug(session, account)
        conversation = conversation_of(session, message_by_status_token(session, found.id, token))
        rating = rating_prompt(session, conversation.first)
    response = render(
        request,
        "citizen/status.html",
        {
            "account": found,
            "conversation": conversation,
            "token": token,
            "sent": bool(sent),
            "link": status_url(account, token),
            "form_id": secrets.token_urlsafe(16),
            "rating": rating,
        },
    )
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"  # the link is the citizen's key: never leak it
    return response


@router.post("/{account}/s/{token}/follow-up")
async def citizen_follow_up(request: Request, account: str, token: str) -> Response:
    form = await request.form()
    work = partial(
        accept_follow_up,
        slug=account,
        token=token,
        text=_field(form, "text"),
        idempotency_key=_form_key(form),
        ip=client_ip(request),
    )
    await _write(work)
    return RedirectResponse(f"/c/{account}/s/{token}", status_code=303)


@router.get("/{account}/unsubscribe/{token}")
def citizen_unsubscribe_page(request: Request, account: str, token: str) -> Response:
    """What a bulletin mail's unsubscribe link opens: who will stop getting what, and a button (no change yet:
    mail scanners open links)."""
    with session_scope() as session:
        found = account_by_slug(session, account)
        follower = follower_of_link(session, found, token)
        context = {"account": found, "token": token, "done": follower.state != FollowerState.FOLLOWING}
        context["address"] = mask_handle("email", follower.handle)
    return render(request, "citizen/unsubscribe.html", context)


@router.post("/{account}/unsubscribe/{token}")
async def citizen_unsubscribe(request: Request, account: str, token: str) -> Response:
    """The page's button, or a mail program's RFC 8058 one-click POST (``List-Unsubscribe=One-Click``)."""
    form = await request.form()
    one_click = _field(form, "List-Unsubscribe") == "One-Click"
    found, address = await run_in_threadpool(_unsubscribe, account, token)
    if one_click:
        return Response(status_code=200)
    return render(
        request, "citizen/unsubscribe.html", {"account": found, "token": token, "done": True, "address": address}
    )


def _unsubscribe(account: str, token: str) -> tuple[Account, str]:
    with session_scope() as session:
        found = account_by_slug(session, account)
        follower = unsubscribe_by_link(session, found, token)
        return found, mask_handle("email", follower.handle)


@router.get("/{account}/follow/{token}")
def citizen_confirm_follow_page(request: Request, account: str, token: str) -> Response:
    """What the link in the answer to 关注 by mail opens: which address will follow what, and a button (nothing
    changes yet: mail scanners open links)."""
    with session_scope() as session:
        found = account_by_slug(session, account)
        asked = request_of_link(found, token)
    context = {"account": found, "token": token, "done": False, "address": mask_handle("email", asked.address)}
    return render(request, "citizen/follow_confirm.html", context)


@router.post("/{account}/follow/{token}")
async def citizen_confirm_follow(request: Request, account: str, token: str) -> Response:
    found, address, region = await run_in_threadpool(_confirm_follow, account, token)
    context = {"account": found, "token": token, "done": True, "address": address, "region": region}
    return render(request, "citizen/follow_confirm.html", context)


def _confirm_follow(account: str, token: str) -> tuple[Account, str, str]:
    with session_scope() as session:
        found = account_by_slug(session, account)
        follower = confirm_follow(session, found, token)
        region = region_name(follower.region_code) if follower.region_code else ""
        return found, mask_handle("email", follower.handle), region


@router.post("/{account}/follow")
async def citizen_follow(request: Request, account: str) -> Response:
    """Following by SMS, first step: the number is texted a code, and the page asks for it."""
    form = await request.form()
    phone, place, ip = _field(form, "phone"), _field(form, "place"), client_ip(request)
    found, number = await run_in_threadpool(_send_follow_code, account, phone, place, ip)
    context = {"account": found, "phone": number, "shown": mask_handle("phone", number), "place": place}
    return render(request, "citizen/follow_code.html", context)


def _send_follow_code(account: str, phone: str, place: str, ip: str) -> tuple[Account, str]:
    with session_scope() as session:
        number = send_follow_code(session, account, phone, ip, place)
        return account_by_slug(session, account), number


@router.post("/{account}/confirm-follow")
async def citizen_confirm_follow_by_phone(request: Request, account: str) -> Response:
    """Following by SMS, second step: the code from the SMS."""
    form = await request.form()
    phone, place, code, ip = _field(form, "phone"), _field(form, "place"), _field(form, "code"), client_ip(request)
    await run_in_threadpool(_follow, account, phone, place, code, ip, language_of(request))
    return RedirectResponse(f"/c/{account}?followed=1&lang={language_of(request)}", status_code=303)


def _follow(account: str, phone: str, place: str, code: str, ip: str, language: str) -> None:
    with session_scope() as session:
        follow_by_phone(session, account, phone, ip, place, code, language=language)


async def _write(work: Callable[[Session], T]) -> T:
    try:
        return await asyncio.wrap_future(intake_writer().submit(work))
    except IntegrityError:  # the same form arrived through another process a moment ago
        return await asyncio.wrap_future(intake_writer().submit(work))


def _field(form: object, name: str) -> str:
    value = form.get(name)  # type: ignore[attr-defined]
    return value if isinstance(value, str) else ""


def _form_key(form: object) -> str:
    key = _field(form, "form_id")
    if not 16 <= len(key) <= 64:
        raise BadRequest("The form is incomplete; reload the page and send it again.", code="missing_form_id")
    return f"form:{key}"
