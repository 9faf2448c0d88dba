"""Request dependencies: the database session and the authenticated actor (cookie or bearer token)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from wenzheng.db import read_scope, session_factory
from wenzheng.errors import Forbidden, Unauthenticated
from wenzheng.staff.actor import Actor
from wenzheng.staff.auth import authenticate_api_token, authenticate_session
from wenzheng.staff.models import StaffSession

SESSION_COOKIE = "wz_session"
LOGIN_CSRF_COOKIE = "wz_login_csrf"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def get_db() -> Iterator[Session]:
    session = session_factory()()
    try:
        yield session
    finally:
        session.rollback()
        session.close()


def client_ip(request: Request) -> str:
    return request.client.host if request.client else ""


async def submitted_csrf_token(request: Request) -> str:
    """The CSRF token a browser sent: the X-CSRF-Token header, else the form's csrf_token field."""
    if request.method not in UNSAFE_METHODS:
        return ""
    header = request.headers.get("x-csrf-token")
    if header:
        return header
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        value = form.get("csrf_token")
        return value if isinstance(value, str) else ""
    return ""


@dataclass(frozen=True)
class Authenticated:
    actor: Actor
    staff_session: StaffSession | None


def authenticate(
    request: Request, db: Session = Depends(get_db), csrf: str = Depends(submitted_csrf_token)
) -> Authenticated:
    """Bearer token for machines, session cookie (with CSRF on writes) for the console."""
    ip = client_ip(request)
    authorization = request.headers.get("authorization", "")
    if authorization.lower().startswith("bearer "):
        return Authenticated(authenticate_api_token(db, authorization[7:].strip(), ip=ip), None)
    raw = request.cookies.get(SESSION_COOKIE)
    if not raw:
        raise Unauthenticated("Please log in.", code="not_authenticated")
    actor, staff_session = authenticate_session(db, raw, ip=ip)
    if request.method in UNSAFE_METHODS and not secrets.compare_digest(csrf, staff_session.csrf_token):
        raise Forbidden(
            "The form expired or did not come from this site (CSRF check failed). Reload the page and try again.",
            code="csrf_failed",
        )
    request.state.actor = actor
    request.state.csrf_token = staff_session.csrf_token
    return Authenticated(actor, staff_session)


def current_actor(auth: Authenticated = Depends(authenticate)) -> Actor:
    return auth.actor


def get_read_db() -> Iterator[Session]:
    """A session that only reads: on SQLite it takes no write lock (live streams, polled progress)."""
    with read_scope() as session:
        yield session


def current_reader(request: Request, db: Session = Depends(get_read_db)) -> Actor:
    """The logged-in staff user, for GET routes that only read: authenticated without writing anything.

    Fifty consoles reconnecting their live queues at once must not queue on SQLite's write lock.
    """
    if request.method != "GET":
        raise Forbidden("This route only reads.", code="read_only_route")
    raw = request.cookies.get(SESSION_COOKIE)
    if not raw:
        raise Unauthenticated("Please log in.", code="not_authenticated")
    actor, _staff_session = authenticate_session(db, raw, ip=client_ip(request), touch=False)
    request.state.actor = actor
    return actor
