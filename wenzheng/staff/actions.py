"""Writes on staff: users, their roles per agency, and per-agency API tokens."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from wenzheng.agencies.models import Agency
from wenzheng.audit.actions import record_audit
from wenzheng.db import utcnow
from wenzheng.errors import Conflict, InvalidInput, NotFound
from wenzheng.staff.access import user_by_username
from wenzheng.staff.actor import Actor
from wenzheng.staff.models import ApiToken, Membership, User
from wenzheng.staff.passwords import hash_password
from wenzheng.staff.roles import Role
from wenzheng.validation import clean_text, clean_username

API_TOKEN_PREFIX = "wzt_"  # noqa: S105 - a public marker, not a secret


def parse_role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError as exc:
        choices = ", ".join(r.value for r in Role)
        raise InvalidInput(f"Unknown role {value!r}; choose one of: {choices}.", code="invalid_role") from exc


def do_create_user(
    session: Session,
    actor: Actor,
    *,
    username: str,
    display_name: str,
    password: str,
    is_platform_admin: bool = False,
) -> User:
    """A new staff identity. Platform admins may only be made by a platform admin."""
    if is_platform_admin:
        actor.require_platform_admin()
    user = _new_user(session, username=username, display_name=display_name, password=password)
    user.is_platform_admin = is_platform_admin
    session.flush()
    record_audit(
        session,
        actor,
        "console:user:create",
        agency_id=None,
        subject_type="user",
        subject_id=user.id,
        data={"username": user.username, "platform_admin": is_platform_admin},
    )
    session.commit()
    return user


def _new_user(session: Session, *, username: str, display_name: str, password: str) -> User:
    username = clean_username(username)
    if user_by_username(session, username) is not None:
        raise Conflict(f"The username {username!r} is taken.", code="username_taken")
    user = User(
        username=username,
        display_name=clean_text(display_name or username, field="display_name", max_length=100),
        password_hash=hash_password(password),
    )
    session.add(user)
    return user


def do_add_staff(
    session: Session,
    actor: Actor,
    agency: Agency,
    *,
    username: str,
    role: Role,
    display_name: str = "",
    password: str = "",
) -> Membership:
    """Give a user a role in the agency, creating the user when a password is given for a new name."""
    actor.require_role(agency.id, Role.ADMIN)
    user = user_by_username(session, username.strip())
    if user is None:
        if not password:
            raise NotFound(f"No user is called {username!r}. Give a password to create them.", code="user_not_found")
        user = _new_user(session, username=username, display_name=display_name, password=password)
        session.flush()
    if session.execute(
        select(Membership.id).where(Membership.agency_id == agency.id).where(Membership.user_id == user.id)
    ).first():
        raise Conflict(f"{user.username} is already on this agency's staff.", code="already_staff")
    membership = Membership(agency_id=agency.id, user_id=user.id, role=role.value)
    session.add(membership)
    record_audit(
        session,
        actor,
        "console:staff:add",
        agency_id=agency.id,
        subject_type="user",
        subject_id=user.id,
        data={"username": user.username, "role": role.value},
    )
    session.commit()
    return membership


def do_change_role(session: Session, actor: Actor, membership: Membership, *, role: Role) -> Membership:
    actor.require_role(membership.agency_id, Role.ADMIN)
    if membership.role == Role.ADMIN.value and role is not Role.ADMIN:
        _keep_one_admin(session, membership)
    record_audit(
        session,
        actor,
        "console:staff:role",
        agency_id=membership.agency_id,
        subject_type="user",
        subject_id=membership.user_id,
        data={"old_role": membership.role, "new_role": role.value},
    )
    membership.role = role.value
    session.commit()
    return membership


def do_remove_staff(session: Session, actor: Actor, membership: Membership) -> None:
    actor.require_role(membership.agency_id, Role.ADMIN)
    if membership.role == Role.ADMIN.value:
        _keep_one_admin(session, membership)
    record_audit(
        session,
        actor,
        "console:staff:remove",
        agency_id=membership.agency_id,
        subject_type="user",
        subject_id=membership.user_id,
        data={"role": membership.role},
    )
    session.delete(membership)
    session.commit()


def _keep_one_admin(session: Session, membership: Membership) -> None:
    admins = session.execute(
        select(func.count())
        .select_from(Membership)
        .where(Membership.agency_id == membership.agency_id)
        .where(Membership.role == Role.ADMIN.value)
    ).scalar_one()
    if admins <= 1:
        raise Conflict("This is the agency's last admin. Make someone else admin first.", code="last_admin")


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def do_create_api_token(
    session: Session, actor: Actor, agency: Agency, *, name: str, role: Role
) -> tuple[ApiToken, str]:
    """A token for a machine client. The plaintext is returned here once and never stored."""
    actor_role = actor.require_role(agency.id, Role.ADMIN)
    if not actor_role.at_least(role):
        raise InvalidInput("A token cannot have more power than its creator.", code="invalid_role")
    raw = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        agency_id=agency.id,
        name=clean_text(name, field="name", max_length=100),
        prefix=raw[:10],
        token_hash=hash_token(raw),
        role=role.value,
        created_by_id=actor.user_id,
    )
    session.add(token)
    session.flush()
    record_audit(
        session,
        actor,
        "console:api_token:create",
        agency_id=agency.id,
        subject_type="api_token",
        subject_id=token.id,
        data={"name": token.name, "role": role.value, "prefix": token.prefix},
    )
    session.commit()
    return token, raw


def do_revoke_api_token(session: Session, actor: Actor, token: ApiToken) -> ApiToken:
    actor.require_role(token.agency_id, Role.ADMIN)
    if token.revoked_at is not None:
        raise Conflict("This token is already revoked.", code="already_revoked")
    token.revoked_at = utcnow()
    record_audit(
        session,
        actor,
        "console:api_token:revoke",
        agency_id=token.agency_id,
        subject_type="api_token",
        subject_id=token.id,
        data={"prefix": token.prefix},
    )
    session.commit()
    return token
