"""Log in, log out and the language switch."""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Depends, Form, Request
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from wenzheng.config import get_settings
from wenzheng.errors import Forbidden, Unauthenticated
from wenzheng.staff.auth import do_login, do_logout
from wenzheng.web.console import safe_next, see_other
from wenzheng.web.deps import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    Authenticated,
    authenticate,
    client_ip,
    get_db,
)
from wenzheng.web.i18n import LANG_COOKIE, LANGUAGES
from wenzheng.web.templating import render

router = APIRouter()


@router.get("/")
def root() -> Response:
    return RedirectResponse("/console", status_code=303)


@router.get("/login")
def login_page(request: Request, next: str = "/console", reason: str = "") -> Response:
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(24)
    response = render(request, "login.html", {"next": safe_next(next), "reason": reason, "login_csrf": token})
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="lax", secure=get_settings().cookie_secure)
    return response


@router.post("/login")
def login(
    request: Request,
    username: str = Form(""),
    password: str = Form(""),
    csrf_token: str = Form(""),
    next: str = Form("/console"),
    db: Session = Depends(get_db),
) -> Response:
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not secrets.compare_digest(expected, csrf_token):
        raise Forbidden("The login form expired. Reload the page and log in again.", code="csrf_failed")
    try:
        _staff_session, raw = do_login(
            db,
            username=username,
            password=password,
            ip=client_ip(request),
            user_agent=request.headers.get("user-agent", ""),
        )
    except Unauthenticated as exc:
        context = {
            "next": safe_next(next),
            "error": exc.message,
            "error_code": exc.code,
            "login_csrf": expected,
            "username": username[:64],
        }
        return render(request, "login.html", context, status_code=exc.status)
    response = RedirectResponse(safe_next(next), status_code=303)
    settings = get_settings()
    response.set_cookie(
        SESSION_COOKIE,
        raw,
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
        max_age=int(settings.session_hours * 3600),
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE)
    return response


@router.post("/logout")
def logout(auth: Authenticated = Depends(authenticate), db: Session = Depends(get_db)) -> Response:
    if auth.staff_session is not None:
        do_logout(db, auth.actor, auth.staff_session)
    response = see_other("/login", reason="logged_out")
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/lang/{code}")
def switch_language(code: str, next: str = "/console") -> Response:
    response = RedirectResponse(safe_next(next), status_code=303)
    if code in LANGUAGES:
        response.set_cookie(LANG_COOKIE, code, max_age=365 * 86400, samesite="lax")
    return response


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}
