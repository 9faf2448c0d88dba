"""The one way to reach agencies and departments: scoped by the actor's memberships."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from wenzheng.agencies.models import Agency, Department
from wenzheng.errors import NotFound
from wenzheng.staff.actor import Actor
from wenzheng.staff.roles import Role


def access_agency_by_id(session: Session, actor: Actor, agency_id: int, *, minimum: Role = Role.VIEWER) -> Agency:
    """The agency if the actor has at least ``minimum`` in it; 404 when they are not a member at all."""
    agency = session.get(Agency, agency_id)
    if agency is None or not actor.can_see(agency.id):
        raise NotFound("No such agency, or you are not a member of it.")
    actor.require_role(agency.id, minimum)
    return agency


def access_department_by_id(
    session: Session, actor: Actor, department_id: int, *, minimum: Role = Role.VIEWER
) -> Department:
    department = session.get(Department, department_id)
    if department is None or not actor.can_see(department.agency_id):
        raise NotFound("No such department.")
    actor.require_role(department.agency_id, minimum)
    return department


def visible_agencies(session: Session, actor: Actor) -> list[Agency]:
    query = select(Agency).order_by(Agency.name)
    if not actor.is_platform_admin:
        query = query.where(Agency.id.in_(list(actor.roles)))
    return list(session.execute(query).scalars())


def departments_of(session: Session, actor: Actor, agency_id: int) -> list[Department]:
    actor.require_role(agency_id, Role.VIEWER)
    return list(
        session.execute(select(Department).where(Department.agency_id == agency_id).order_by(Department.name)).scalars()
    )
