"""The one way to reach staff objects: scoped by agency, 'not found' rather than 'forbidden'."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from wenzheng.audit.models import AuditEvent
from wenzheng.errors import NotFound
from wenzheng.staff.actor import Actor
from wenzheng.staff.models import ApiToken, Membership, User
from wenzheng.staff.roles import Role


def access_membership_by_user_id(
    session: Session, actor: Actor, agency_id: int, user_id: int, *, minimum: Role = Role.ADMIN
) -> tuple[Membership, User]:
    actor.require_role(agency_id, minimum)
    row = session.execute(
        select(Membership, User)
        .join(User, User.id == Membership.user_id)
        .where(Membership.agency_id == agency_id)
        .where(Membership.user_id == user_id)
    ).one_or_none()
    if row is None:
        raise NotFound("No such staff member in this agency.")
    return row[0], row[1]


def access_api_token_by_id(session: Session, actor: Actor, agency_id: int, token_id: int) -> ApiToken:
    actor.require_role(agency_id, Role.ADMIN)
    token = session.execute(
        select(ApiToken).where(ApiToken.agency_id == agency_id).where(ApiToken.id == token_id)
    ).scalar_one_or_none()
    if token is None:
        raise NotFound("No such API token in this agency.")
    return token


def staff_of_agency(session: Session, actor: Actor, agency_id: int) -> list[tuple[Membership, User]]:
    actor.require_role(agency_id, Role.VIEWER)
    rows = session.execute(
        select(Membership, User)
        .join(User, User.id == Membership.user_id)
        .where(Membership.agency_id == agency_id)
        .order_by(User.username)
    ).all()
    return [(m, u) for m, u in rows]


def api_tokens_of_agency(session: Session, actor: Actor, agency_id: int) -> list[ApiToken]:
    actor.require_role(agency_id, Role.ADMIN)
    return list(
        session.execute(
            select(ApiToken).where(ApiToken.agency_id == agency_id).order_by(ApiToken.created_at.desc())
        ).scalars()
    )


def user_by_username(session: Session, username: str) -> User | None:
    return session.execute(select(User).where(User.username == username)).scalar_one_or_none()


def actor_names(session: Session, events: list[AuditEvent]) -> dict[str, str]:
    """Display names for the users and tokens behind already-scoped audit events, keyed 'user:1' / 'token:2'."""
    user_ids = {e.actor_user_id for e in events if e.actor_user_id}
    token_ids = {e.actor_token_id for e in events if e.actor_token_id}
    names = {
        f"user:{u.id}": u.display_name for u in session.execute(select(User).where(User.id.in_(user_ids))).scalars()
    }
    tokens = session.execute(select(ApiToken).where(ApiToken.id.in_(token_ids))).scalars()
    names.update({f"token:{t.id}": f"{t.name} ({t.prefix}…)" for t in tokens})
    return names
