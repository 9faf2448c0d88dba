"""An agency's staff and API tokens, managed by its admins."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from wenzheng.agencies.access import access_agency_by_id
from wenzheng.audit.access import audit_events_of_agency
from wenzheng.staff.access import (
    access_api_token_by_id,
    access_membership_by_user_id,
    actor_names,
    api_tokens_of_agency,
    staff_of_agency,
)
from wenzheng.staff.actions import (
    do_add_staff,
    do_change_role,
    do_create_api_token,
    do_remove_staff,
    do_revoke_api_token,
    parse_role,
)
from wenzheng.staff.actor import Actor
from wenzheng.staff.roles import Role
from wenzheng.web.console import see_other
from wenzheng.web.deps import current_actor, get_db
from wenzheng.web.templating import render

router = APIRouter(prefix="/console/agencies/{agency_id}")


@router.get("/staff")
def staff_page(
    request: Request, agency_id: int, actor: Actor = Depends(current_actor), db: Session = Depends(get_db)
) -> Response:
    agency = access_agency_by_id(db, actor, agency_id, minimum=Role.ADMIN)
    return render(
        request,
        "console/staff.html",
        {
            "agency": agency,
            "staff": staff_of_agency(db, actor, agency.id),
            "roles": list(Role),
        },
    )


@router.post("/staff")
def add_staff(
    agency_id: int,
    username: str = Form(""),
    role: str = Form("operator"),
    display_name: str = Form(""),
    password: str = Form(""),
    actor: Actor = Depends(current_actor),
    db: Session = Depends(get_db),
) -> Response:
    agency = access_agency_by_id(db, actor, agency_id, minimum=Role.ADMIN)
    do_add_staff(
        db,
        actor,
        agency,
        username=username,
        role=parse_role(role),
        display_name=display_name,
        password=password,
    )
    return see_other(f"/console/agencies/{agency.id}/staff", notice="saved")


@router.post("/staff/{user_id}/role")
def change_role(
    agency_id: int,
    user_id: int,
    role: str = Form(""),
    actor: Actor = Depends(current_actor),
    db: Session = Depends(get_db),
) -> Response:
    membership, _user = access_membership_by_user_id(db, actor, agency_id, user_id)
    do_change_role(db, actor, membership, role=parse_role(role))
    return see_other(f"/console/agencies/{agency_id}/staff", notice="saved")


@router.post("/staff/{user_id}/remove")
def remove_staff(
    agency_id: int, user_id: int, actor: Actor = Depends(current_actor), db: Session = Depends(get_db)
) -> Response:
    membership, _user = access_membership_by_user_id(db, actor, agency_id, user_id)
    do_remove_staff(db, actor, membership)
    return see_other(f"/console/agencies/{agency_id}/staff", notice="removed")


@router.get("/tokens")
def tokens_page(
    request: Request, agency_id: int, actor: Actor = Depends(current_actor), db: Session = Depends(get_db)
) -> Response:
    agency = access_agency_by_id(db, actor, agency_id, minimum=Role.ADMIN)
    return render(
        request,
        "console/tokens.html",
        {
            "agency": agency,
            "tokens": api_tokens_of_agency(db, actor, agency.id),
            "roles": list(Role),
        },
    )


@router.post("/tokens")
def create_token(
    request: Request,
    agency_id: int,
    name: str = Form(""),
    role: str = Form("viewer"),
    actor: Actor = Depends(current_actor),
    db: Session = Depends(get_db),
) -> Response:
    agency = access_agency_by_id(db, actor, agency_id, minimum=Role.ADMIN)
    _token, raw = do_create_api_token(db, actor, agency, name=name, role=parse_role(role))
    # Rendered directly rather than redirected: the plaintext must never sit in a URL or a log.
    return render(
        request,
        "console/tokens.html",
        {
            "agency": agency,
            "tokens": api_tokens_of_agency(db, actor, agency.id),
            "roles": list(Role),
            "new_token": raw,
        },
        status_code=201,
    )


@router.post("/tokens/{token_id}/revoke")
def revoke_token(
    agency_id: int, token_id: int, actor: Actor = Depends(current_actor), db: Session = Depends(get_db)
) -> Response:
    token = access_api_token_by_id(db, actor, agency_id, token_id)
    do_revoke_api_token(db, actor, token)
    return see_other(f"/console/agencies/{agency_id}/tokens", notice="revoked")


@router.get("/audit")
def audit_page(
    request: Request, agency_id: int, actor: Actor = Depends(current_actor), db: Session = Depends(get_db)
) -> Response:
    agency = access_agency_by_id(db, actor, agency_id, minimum=Role.ADMIN)
    events = audit_events_of_agency(db, actor, agency.id, limit=200)
    return render(
        request,
        "console/audit.html",
        {
            "agency": agency,
            "events": events,
            "names": actor_names(db, events),
        },
    )
