"""/c/{account}: the citizen's light page — write in, follow, and come back through a private status link.

Public by design (citizens have no accounts); protected by rate limits, a honeypot field, and links whose
tokens only the citizen holds. Everything works without JavaScript.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from functools import partial
from typing import TypeVar

from fastapi import APIRouter, Request
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.responses import RedirectResponse, Response

from wenzheng.channels.status import message_by_status_token, status_url
from wenzheng.channels.web.status import conversation_of
from wenzheng.channels.web.submit import Submission, accept_follow_up, accept_web, account_by_slug, follow_by_phone
from wenzheng.config import get_settings
from wenzheng.db import session_scope
from wenzheng.errors import BadRequest
from wenzheng.intake.writer import intake_writer
from wenzheng.web.deps import client_ip
from wenzheng.web.templating import render

router = APIRouter(prefix="/c")
T = TypeVar("T")
BROWSER_COOKIE = "wz_citizen"


@router.get("/{account}")
def citizen_home(request: Request, account: str, followed: str = "") -> Response:
    with session_scope() as session:
        found = account_by_slug(session, account)
    response = render(
        request,
        "citizen/home.html",
        {
            "account": found,
            "form_id": secrets.token_urlsafe(16),
            "followed": bool(followed),
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


@router.post("/{account}/follow")
async def citizen_follow(request: Request, account: str) -> Response:
    form = await request.form()
    phone, ip = _field(form, "phone"), client_ip(request)
    await run_in_threadpool(_follow, account, phone, ip)
    return RedirectResponse(f"/c/{account}?followed=1", status_code=303)


def _follow(account: str, phone: str, ip: str) -> None:
    with session_scope() as session:
        follow_by_phone(session, account, phone, ip)


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
