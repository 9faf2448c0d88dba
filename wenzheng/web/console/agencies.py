"""The console home and an agency's home page: its accounts and departments."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from wenzheng.accounts.access import accounts_of
from wenzheng.accounts.actions import do_create_account
from wenzheng.agencies.access import access_agency_by_id, access_department_by_id, departments_of, visible_agencies
from wenzheng.agencies.actions import (
    do_create_department,
    do_set_english_name,
    do_set_issuing_unit_code,
    do_set_place_countries,
    do_set_retention_days,
)
from wenzheng.cases.canned import (
    access_canned_reply_by_id,
    canned_replies_of,
    do_create_canned_reply,
    do_delete_canned_reply,
)
from wenzheng.errors import NotFound
from wenzheng.routing.actions import (
    access_routing_rule_by_id,
    do_create_routing_rule,
    do_delete_routing_rule,
    rules_of_agency,
)
from wenzheng.staff.actor import Actor
from wenzheng.staff.roles import Role
from wenzheng.triage import known_countries
from wenzheng.web.console import see_other
from wenzheng.web.deps import current_actor, get_db
from wenzheng.web.templating import render

router = APIRouter(prefix="/console")


@router.get("")
def console_home(request: Request, actor: Actor = Depends(current_actor), db: Session = Depends(get_db)) -> Response:
    agencies = visible_agencies(db, actor)
    if len(agencies) == 1 and not actor.is_platform_admin:
        return see_other(f"/console/agencies/{agencies[0].id}")
    return render(request, "console/home.html", {"agencies": agencies})


@router.get("/agencies/{agency_id}")
def agency_home(
    request: Request, agency_id: int, actor: Actor = Depends(current_actor), db: Session = Depends(get_db)
) -> Response:
    agency = access_agency_by_id(db, actor, agency_id)
    return render(
        request,
        "console/agency.html",
        {
            "agency": agency,
            "accounts": accounts_of(db, actor, agency.id),
            "departments": departments_of(db, actor, agency.id),
            "routing_rules": rules_of_agency(db, agency.id),
            "place_countries": [(code, known_countries().get(code, code)) for code in agency.place_countries or []],
            "canned": canned_replies_of(db, agency.id),
            "is_supervisor": role_at_least(actor, agency.id, Role.SUPERVISOR),
            "role": actor.role_in(agency.id),
            "is_admin": actor.role_in(agency.id) is Role.ADMIN,
        },
    )


@router.post("/agencies/{agency_id}/routing-rules")
def create_routing_rule(
    agency_id: int,
    department_id: int = Form(0),
    name: str = Form(""),
    keywords: str = Form(""),
    categories: str = Form(""),
    regions: str = Form(""),
    priority: int = Form(0),
    actor: Actor = Depends(current_actor),
    db: Session = Depends(get_db),
) -> Response:
    agency = access_agency_by_id(db, actor, agency_id, minimum=Role.ADMIN)
    department = access_department_by_id(db, actor, department_id, minimum=Role.ADMIN)
    if department.agency_id != agency.id:
        raise NotFound("No such department in this agency.")
    do_create_routing_rule(
        db, actor, department, name=name, keywords=keywords, categories=categories, regions=regions, priority=priority
    )
    return see_other(f"/console/agencies/{agency.id}", notice="created")


@router.post("/agencies/{agency_id}/place-countries")
def set_place_countries(
    agency_id: int,
    countries: str = Form(""),
    actor: Actor = Depends(current_actor),
    db: Session = Depends(get_db),
) -> Response:
    agency = access_agency_by_id(db, actor, agency_id, minimum=Role.ADMIN)
    do_set_place_countries(db, actor, agency, countries)
    return see_other(f"/console/agencies/{agency.id}", notice="saved")


@router.post("/agencies/{agency_id}/issuing-unit-code")
def set_issuing_unit_code(
    agency_id: int,
    code: str = Form(""),
    actor: Actor = Depends(current_actor),
    db: Session = Depends(get_db),
) -> Response:
    agency = access_agency_by_id(db, actor, agency_id, minimum=Role.ADMIN)
    do_set_issuing_unit_code(db, actor, agency, code)
    return see_other(f"/console/agencies/{agency.id}", notice="saved")


@router.post("/agencies/{agency_id}/english-name")
def set_english_name(
    agency_id: int,
    name_en: str = Form(""),
    actor: Actor = Depends(current_actor),
    db: Session = Depends(get_db),
) -> Response:
    agency = access_agency_by_id(db, actor, agency_id, minimum=Role.ADMIN)
    do_set_english_name(db, actor, agency, name_en)
    return see_other(f"/console/agencies/{agency.id}", notice="saved")


@router.post("/agencies/{agency_id}/retention")
def set_retention(
    agency_id: int,
    days: str = Form(""),
    actor: Actor = Depends(current_actor),
    db: Session = Depends(get_db),
) -> Response:
    agency = access_agency_by_id(db, actor, agency_id, minimum=Role.ADMIN)
    do_set_retention_days(db, actor, agency, days)
    return see_other(f"/console/agencies/{agency.id}", notice="saved")


@router.post("/agencies/{agency_id}/routing-rules/{routing_rule_id}/delete")
def delete_routing_rule(
    agency_id: int, routing_rule_id: int, actor: Actor = Depends(current_actor), db: Session = Depends(get_db)
) -> Response:
    rule = access_routing_rule_by_id(db, actor, agency_id, routing_rule_id)
    do_delete_routing_rule(db, actor, rule)
    return see_other(f"/console/agencies/{agency_id}", notice="removed")


@router.post("/agencies/{agency_id}/canned-replies")
def create_canned_reply(
    agency_id: int,
    title: str = Form(""),
    text: str = Form(""),
    actor: Actor = Depends(current_actor),
    db: Session = Depends(get_db),
) -> Response:
    agency = access_agency_by_id(db, actor, agency_id, minimum=Role.SUPERVISOR)
    do_create_canned_reply(db, actor, agency.id, title=title, text=text)
    return see_other(f"/console/agencies/{agency.id}", notice="created")


@router.post("/agencies/{agency_id}/canned-replies/{canned_reply_id}/delete")
def delete_canned_reply(
    agency_id: int, canned_reply_id: int, actor: Actor = Depends(current_actor), db: Session = Depends(get_db)
) -> Response:
    reply = access_canned_reply_by_id(db, actor, agency_id, canned_reply_id)
    do_delete_canned_reply(db, actor, reply)
    return see_other(f"/console/agencies/{agency_id}", notice="removed")


@router.post("/agencies/{agency_id}/departments")
def create_department(
    agency_id: int,
    name: str = Form(""),
    description: str = Form(""),
    actor: Actor = Depends(current_actor),
    db: Session = Depends(get_db),
) -> Response:
    agency = access_agency_by_id(db, actor, agency_id, minimum=Role.ADMIN)
    do_create_department(db, actor, agency, name=name, description=description)
    return see_other(f"/console/agencies/{agency.id}", notice="created")


@router.post("/agencies/{agency_id}/accounts")
def create_account(
    agency_id: int,
    slug: str = Form(""),
    name: str = Form(""),
    description: str = Form(""),
    actor: Actor = Depends(current_actor),
    db: Session = Depends(get_db),
) -> Response:
    agency = access_agency_by_id(db, actor, agency_id, minimum=Role.ADMIN)
    account = do_create_account(db, actor, agency, slug=slug, name=name, description=description)
    return see_other(f"/console/accounts/{account.id}", notice="created")


def role_at_least(actor: Actor, agency_id: int, minimum: Role) -> bool:
    role = actor.role_in(agency_id)
    return role is not None and role.at_least(minimum)
