"""Logging in and out, console sessions, API-token authentication and login throttling."""

from __future__ import annotations

import datetime as dt
import secrets

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from wenzheng.audit.actions import record_audit
from wenzheng.config import get_settings
from wenzheng.db import utcnow
from wenzheng.errors import RateLimited, Unauthenticated
from wenzheng.staff.access import user_by_username
from wenzheng.staff.actions import API_TOKEN_PREFIX, hash_token
from wenzheng.staff.actor import Actor
from wenzheng.staff.models import ApiToken, LoginAttempt, Membership, StaffSession, User
from wenzheng.staff.passwords import verify_password
from wenzheng.staff.roles import Role

# Touching last_seen_at on every request would make every page view a write.
LAST_SEEN_RESOLUTION = dt.timedelta(minutes=5)


def check_login_allowed(session: Session, *, username: str, ip: str) -> None:
    """Refuse a login when this user or this address failed too often within the window."""
    settings = get_settings()
    since = utcnow() - dt.timedelta(minutes=settings.login_window_minutes)
    failures = (
        select(func.count())
        .select_from(LoginAttempt)
        .where(LoginAttempt.succeeded.is_(False), LoginAttempt.attempted_at >= since)
    )
    by_user = session.execute(failures.where(LoginAttempt.username == username)).scalar_one()
    by_ip = session.execute(failures.where(LoginAttempt.ip == ip)).scalar_one()
    if by_user >= settings.login_max_failures_per_user or by_ip >= settings.login_max_failures_per_address:
        raise RateLimited(
            f"Too many failed logins. Wait {settings.login_window_minutes} minutes and try again, "
            "or ask an agency admin to check your account.",
            retry_after=settings.login_window_minutes * 60,
            code="login_rate_limited",
        )


def do_login(session: Session, *, username: str, password: str, ip: str, user_agent: str) -> tuple[StaffSession, str]:
    """Check the password and open a console session; returns the session and its cookie token."""
    username = username.strip()[:64]
    check_login_allowed(session, username=username, ip=ip)
    user = user_by_username(session, username)
    ok = verify_password(user.password_hash if user else None, password) and user is not None and user.is_active
    session.add(LoginAttempt(username=username, ip=ip[:64], succeeded=ok))
    if not ok or user is None:
        session.commit()
        raise Unauthenticated("Wrong username or password.", code="invalid_credentials")
    raw = secrets.token_urlsafe(32)
    staff_session = StaffSession(
        token_hash=hash_token(raw),
        user_id=user.id,
        csrf_token=secrets.token_urlsafe(32),
        expires_at=utcnow() + dt.timedelta(hours=get_settings().session_hours),
        ip=ip[:64],
        user_agent=user_agent[:300],
    )
    session.add(staff_session)
    user.last_login_at = utcnow()
    record_audit(
        session,
        actor_for_user(session, user, ip=ip),
        "console:session:login",
        agency_id=None,
        subject_type="user",
        subject_id=user.id,
    )
    session.commit()
    return staff_session, raw


def do_logout(session: Session, actor: Actor, staff_session: StaffSession) -> None:
    session.delete(staff_session)
    record_audit(
        session,
        actor,
        "console:session:logout",
        agency_id=None,
        subject_type="user",
        subject_id=actor.user_id,
    )
    session.commit()


def actor_for_user(session: Session, user: User, *, ip: str = "") -> Actor:
    memberships = session.execute(select(Membership).where(Membership.user_id == user.id)).scalars()
    return Actor(
        user_id=user.id,
        username=user.username,
        display_name=user.display_name,
        is_platform_admin=user.is_platform_admin,
        roles={m.agency_id: Role(m.role) for m in memberships},
        ip=ip,
    )


def authenticate_session(session: Session, raw: str, *, ip: str, touch: bool = True) -> tuple[Actor, StaffSession]:
    """The actor behind a session cookie; expired or unknown sessions are refused with distinct codes.

    ``touch=False`` writes nothing (for long-lived streams on a read-only session): an expired session is
    refused and left for housekeeping to delete, and last_seen_at is not moved.
    """
    staff_session = session.execute(
        select(StaffSession).where(StaffSession.token_hash == hash_token(raw))
    ).scalar_one_or_none()
    if staff_session is None:
        raise Unauthenticated("Please log in.", code="not_authenticated")
    now = utcnow()
    if staff_session.expires_at <= now:
        if touch:
            session.delete(staff_session)
            session.commit()
        raise Unauthenticated("Your session has expired. Please log in again.", code="session_expired")
    user = session.get(User, staff_session.user_id)
    if user is None or not user.is_active:
        raise Unauthenticated("This account is disabled.", code="account_disabled")
    if touch and now - staff_session.last_seen_at > LAST_SEEN_RESOLUTION:
        staff_session.last_seen_at = now
        session.commit()
    return actor_for_user(session, user, ip=ip), staff_session


def authenticate_api_token(session: Session, raw: str, *, ip: str) -> Actor:
    """The actor for a bearer token: its agency, with the token's role and nothing more."""
    if not raw.startswith(API_TOKEN_PREFIX):
        raise Unauthenticated("This is not a wenzheng API token.", code="invalid_token")
    token = session.execute(select(ApiToken).where(ApiToken.token_hash == hash_token(raw))).scalar_one_or_none()
    if token is None or token.revoked_at is not None:
        raise Unauthenticated(
            "This API token is unknown or revoked. Ask an agency admin for a new one.", code="invalid_token"
        )
    now = utcnow()
    if token.last_used_at is None or now - token.last_used_at > LAST_SEEN_RESOLUTION:
        # A bookkeeping write, not a change anyone made: kept out of the audit trail on purpose.
        session.execute(update(ApiToken).where(ApiToken.id == token.id).values(last_used_at=now))
        session.commit()
    return Actor(
        token_id=token.id,
        username=f"token:{token.prefix}",
        display_name=token.name,
        roles={token.agency_id: Role(token.role)},
        ip=ip,
    )
