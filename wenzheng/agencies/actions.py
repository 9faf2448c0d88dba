"""Writes on agencies and departments: each validates, changes, audits and commits as one."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from wenzheng.agencies.models import Agency, Department
from wenzheng.audit.actions import record_audit
from wenzheng.errors import Conflict
from wenzheng.staff.actor import Actor
from wenzheng.staff.roles import Role
from wenzheng.validation import (
    clean_countries,
    clean_issuing_unit_code,
    clean_retention_days,
    clean_slug,
    clean_text,
    clean_timezone,
)


def do_create_agency(
    session: Session, actor: Actor, *, slug: str, name: str, timezone: str = "Asia/Shanghai"
) -> Agency:
    """A platform admin adds an agency (a tenant) to the platform."""
    actor.require_platform_admin()
    slug = clean_slug(slug)
    agency = Agency(slug=slug, name=clean_text(name, field="name", max_length=200), timezone=clean_timezone(timezone))
    if session.execute(select(Agency.id).where(Agency.slug == slug)).first():
        raise Conflict(f"An agency with the slug {slug!r} already exists; choose another.", code="slug_taken")
    session.add(agency)
    session.flush()
    record_audit(
        session,
        actor,
        "console:agency:create",
        agency_id=agency.id,
        subject_type="agency",
        subject_id=agency.id,
        data={"slug": slug, "name": agency.name},
    )
    session.commit()
    return agency


def do_set_place_countries(session: Session, actor: Actor, agency: Agency, countries: str | Sequence[str]) -> Agency:
    """An agency admin names the countries the agency works in, where English place names are looked up."""
    actor.require_role(agency.id, Role.ADMIN)
    return _set_setting(session, actor, agency, "place_countries", clean_countries(countries))


def do_set_issuing_unit_code(session: Session, actor: Actor, agency: Agency, code: str | None) -> Agency:
    """An agency admin sets the agency's 发布单位代码, from which its alerts get national identifiers (empty
    clears it: alerts then keep the deployment's own identifiers). Alerts already sent keep theirs."""
    actor.require_role(agency.id, Role.ADMIN)
    return _set_setting(session, actor, agency, "issuing_unit_code", clean_issuing_unit_code(code))


def do_set_retention_days(session: Session, actor: Actor, agency: Agency, days: object) -> Agency:
    """An agency admin sets how many days citizens' personal data is kept after their case ends (empty: kept);
    the daily ``citizens.apply_retention`` job erases what is older."""
    actor.require_role(agency.id, Role.ADMIN)
    return _set_setting(session, actor, agency, "retention_days", clean_retention_days(days))


def do_set_english_name(session: Session, actor: Actor, agency: Agency, name: str | None) -> Agency:
    """An agency admin sets its English name ("Ya'an Emergency Management Bureau"), which an alert's English CAP
    info gives as its sender; empty clears it."""
    actor.require_role(agency.id, Role.ADMIN)
    cleaned = clean_text(name or "", field="name_en", max_length=200, required=False) or None
    return _set_setting(session, actor, agency, "name_en", cleaned)


def _set_setting(session: Session, actor: Actor, agency: Agency, name: str, value: object) -> Agency:
    """Set one checked agency setting, audited as ``console:agency:{name}`` with its value before and after."""
    before = getattr(agency, name)
    setattr(agency, name, value)
    record_audit(
        session,
        actor,
        f"console:agency:{name}",
        agency_id=agency.id,
        subject_type="agency",
        subject_id=agency.id,
        data={"before": before, "after": value},
    )
    session.commit()
    return agency


def do_create_department(
    session: Session, actor: Actor, agency: Agency, *, name: str, description: str = ""
) -> Department:
    actor.require_role(agency.id, Role.ADMIN)
    name = clean_text(name, field="name", max_length=200)
    _check_department_name_free(session, agency.id, name)
    department = Department(
        agency_id=agency.id,
        name=name,
        description=clean_text(description, field="description", max_length=1000, required=False),
    )
    session.add(department)
    session.flush()
    record_audit(
        session,
        actor,
        "console:department:create",
        agency_id=agency.id,
        subject_type="department",
        subject_id=department.id,
        data={"name": name},
    )
    session.commit()
    return department


def do_update_department(
    session: Session,
    actor: Actor,
    department: Department,
    *,
    name: str | None = None,
    description: str | None = None,
) -> Department:
    actor.require_role(department.agency_id, Role.ADMIN)
    changes: dict[str, list[str]] = {}
    if name is not None:
        name = clean_text(name, field="name", max_length=200)
        if name != department.name:
            _check_department_name_free(session, department.agency_id, name)
            changes["name"] = [department.name, name]
            department.name = name
    if description is not None:
        description = clean_text(description, field="description", max_length=1000, required=False)
        changes["description"] = [department.description, description]
        department.description = description
    record_audit(
        session,
        actor,
        "console:department:update",
        agency_id=department.agency_id,
        subject_type="department",
        subject_id=department.id,
        data=changes,
    )
    session.commit()
    return department


def _check_department_name_free(session: Session, agency_id: int, name: str) -> None:
    taken = session.execute(
        select(Department.id).where(Department.agency_id == agency_id).where(Department.name == name)
    ).first()
    if taken:
        raise Conflict(f"This agency already has a department named {name!r}.", code="department_exists")
