"""The case lifecycle beyond the queue: P0 acknowledgement, dispatch, split, transfer between agencies, the
working-day calendar and who is on duty for round-robin assignment."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from wenzheng.agencies.access import access_agency_by_id, access_department_by_id, departments_of
from wenzheng.agencies.models import Department
from wenzheng.cases.access import access_case_by_id
from wenzheng.cases.acknowledge import awaits_acknowledgement, do_acknowledge_case
from wenzheng.cases.assign import do_dispatch_case, do_set_on_duty, do_set_staffing, duty_roster
from wenzheng.cases.calendar import (
    do_remove_calendar_day,
    do_set_calendar_days,
    exceptions_of_agency,
    parse_day,
    parse_days,
)
from wenzheng.cases.models import Case
from wenzheng.cases.split import do_split_case
from wenzheng.cases.transfer import (
    access_transfer_by_id,
    arrival_of,
    do_accept_transfer,
    do_decline_transfer,
    do_propose_transfer,
    do_withdraw_transfer,
    pending_transfer_of,
    transfer_targets,
    transfers_of_agency,
)
from wenzheng.errors import InvalidInput
from wenzheng.staff.access import access_membership_by_user_id
from wenzheng.staff.actor import Actor
from wenzheng.staff.roles import Role
from wenzheng.web.console import see_other
from wenzheng.web.deps import current_actor, get_db
from wenzheng.web.templating import render

router = APIRouter(prefix="/console")


def case_flow_context(db: Session, actor: Actor, case: Case) -> dict[str, Any]:
    """What the case page shows and offers of the lifecycle (acknowledge, dispatch, split, transfer)."""
    role = actor.role_in(case.agency_id)
    supervisor = role is not None and role.at_least(Role.SUPERVISOR)
    return {
        "awaits_acknowledgement": awaits_acknowledgement(case),
        "departments": departments_of(db, actor, case.agency_id),
        "transfer_targets": transfer_targets(db, actor, case) if supervisor else [],
        "pending_transfer": pending_transfer_of(db, case),
        "arrival": arrival_of(db, case),
        "split_from": db.get(Case, case.split_from_id) if case.split_from_id else None,
    }


def _number(value: str, field: str) -> int:
    if not value.strip().isdigit():
        raise InvalidInput(f"Choose a {field}.", code="field_required", details={"field": field})
    return int(value)


# -- the case page's actions ---------------------------------------------------------------------------------


@router.post("/cases/{case_id}/acknowledge")
def acknowledge_case(case_id: int, actor: Actor = Depends(current_actor), db: Session = Depends(get_db)) -> Response:
    case = access_case_by_id(db, actor, case_id, minimum=Role.OPERATOR)
    do_acknowledge_case(db, actor, case)
    return see_other(f"/console/cases/{case.id}", notice="acknowledged")


@router.post("/cases/{case_id}/dispatch")
def dispatch_case(
    case_id: int, department_id: str = Form(""), actor: Actor = Depends(current_actor), db: Session = Depends(get_db)
) -> Response:
    case = access_case_by_id(db, actor, case_id, minimum=Role.SUPERVISOR)
    department = access_department_by_id(db, actor, _number(department_id, "department"))
    do_dispatch_case(db, actor, case, department)
    return see_other(f"/console/cases/{case.id}", notice="dispatched")


@router.post("/cases/{case_id}/split")
def split_case(
    case_id: int,
    message_id: list[str] = Form([]),
    actor: Actor = Depends(current_actor),
    db: Session = Depends(get_db),
) -> Response:
    case = access_case_by_id(db, actor, case_id, minimum=Role.OPERATOR)
    new = do_split_case(db, actor, case, [int(m) for m in message_id if m.isdigit()])
    return see_other(f"/console/cases/{new.id}", notice="split")


@router.post("/cases/{case_id}/transfer")
def propose_transfer(
    case_id: int,
    to_agency_id: str = Form(""),
    reason: str = Form(""),
    actor: Actor = Depends(current_actor),
    db: Session = Depends(get_db),
) -> Response:
    case = access_case_by_id(db, actor, case_id, minimum=Role.SUPERVISOR)
    do_propose_transfer(db, actor, case, to_agency_id=_number(to_agency_id, "agency"), reason=reason)
    return see_other(f"/console/cases/{case.id}", notice="transfer_proposed")


# -- transfers between agencies ------------------------------------------------------------------------------


@router.get("/agencies/{agency_id}/transfers")
def transfers_page(
    request: Request, agency_id: int, actor: Actor = Depends(current_actor), db: Session = Depends(get_db)
) -> Response:
    agency = access_agency_by_id(db, actor, agency_id, minimum=Role.SUPERVISOR)
    rows = transfers_of_agency(db, actor, agency.id)
    return render(request, "console/transfers.html", {"agency": agency, "rows": rows})


@router.post("/transfers/{transfer_id}/accept")
def accept_transfer(transfer_id: int, actor: Actor = Depends(current_actor), db: Session = Depends(get_db)) -> Response:
    transfer = access_transfer_by_id(db, actor, transfer_id)
    case = do_accept_transfer(db, actor, transfer)
    return see_other(f"/console/cases/{case.id}", notice="transfer_accepted")


@router.post("/transfers/{transfer_id}/decline")
def decline_transfer(
    transfer_id: int, reason: str = Form(""), actor: Actor = Depends(current_actor), db: Session = Depends(get_db)
) -> Response:
    transfer = access_transfer_by_id(db, actor, transfer_id)
    do_decline_transfer(db, actor, transfer, reason=reason)
    return see_other(f"/console/agencies/{transfer.to_agency_id}/transfers", notice="transfer_declined")


@router.post("/transfers/{transfer_id}/withdraw")
def withdraw_transfer(
    transfer_id: int, actor: Actor = Depends(current_actor), db: Session = Depends(get_db)
) -> Response:
    transfer = access_transfer_by_id(db, actor, transfer_id)
    do_withdraw_transfer(db, actor, transfer)
    return see_other(f"/console/cases/{transfer.case_id}", notice="transfer_withdrawn")


# -- the working-day calendar --------------------------------------------------------------------------------


@router.get("/agencies/{agency_id}/calendar")
def calendar_page(
    request: Request, agency_id: int, actor: Actor = Depends(current_actor), db: Session = Depends(get_db)
) -> Response:
    agency = access_agency_by_id(db, actor, agency_id)
    role = actor.role_in(agency.id)
    context = {
        "agency": agency,
        "days": exceptions_of_agency(db, actor, agency.id),
        "can_edit": role is not None and role.at_least(Role.ADMIN),
    }
    return render(request, "console/calendar.html", context)


@router.post("/agencies/{agency_id}/calendar")
def add_calendar_days(
    agency_id: int,
    days: str = Form(""),
    kind: str = Form("holiday"),
    actor: Actor = Depends(current_actor),
    db: Session = Depends(get_db),
) -> Response:
    agency = access_agency_by_id(db, actor, agency_id, minimum=Role.ADMIN)
    if kind not in ("holiday", "working"):
        raise InvalidInput("Choose holiday or make-up working day.", code="invalid_kind")
    count = do_set_calendar_days(db, actor, agency.id, parse_days(days), working=kind == "working")
    return see_other(f"/console/agencies/{agency.id}/calendar", notice="calendar_saved", count=str(count))


@router.post("/agencies/{agency_id}/calendar/remove")
def remove_calendar_day(
    agency_id: int, day: str = Form(""), actor: Actor = Depends(current_actor), db: Session = Depends(get_db)
) -> Response:
    agency = access_agency_by_id(db, actor, agency_id, minimum=Role.ADMIN)
    do_remove_calendar_day(db, actor, agency.id, parse_day(day))
    return see_other(f"/console/agencies/{agency.id}/calendar", notice="removed")


# -- who is on duty ------------------------------------------------------------------------------------------


@router.get("/agencies/{agency_id}/duty")
def duty_page(
    request: Request, agency_id: int, actor: Actor = Depends(current_actor), db: Session = Depends(get_db)
) -> Response:
    agency = access_agency_by_id(db, actor, agency_id)
    roster = duty_roster(db, actor, agency.id)
    role = actor.role_in(agency.id)
    context = {
        "agency": agency,
        "roster": roster,
        "me": next((row for row in roster if row.user.id == actor.user_id), None),
        "departments": {d.id: d for d in departments_of(db, actor, agency.id)},
        "is_admin": role is not None and role.at_least(Role.ADMIN),
    }
    return render(request, "console/duty.html", context)


@router.post("/agencies/{agency_id}/duty")
def set_own_duty(
    agency_id: int, on_duty: str = Form(""), actor: Actor = Depends(current_actor), db: Session = Depends(get_db)
) -> Response:
    membership, _user = access_membership_by_user_id(db, actor, agency_id, actor.user_id or 0, minimum=Role.OPERATOR)
    do_set_on_duty(db, actor, membership, on_duty=on_duty == "1")
    return see_other(f"/console/agencies/{agency_id}/duty", notice="saved")


@router.post("/agencies/{agency_id}/staff/{user_id}/duty")
def set_duty_of(
    agency_id: int,
    user_id: int,
    on_duty: str = Form(""),
    actor: Actor = Depends(current_actor),
    db: Session = Depends(get_db),
) -> Response:
    membership, _user = access_membership_by_user_id(db, actor, agency_id, user_id)
    do_set_on_duty(db, actor, membership, on_duty=on_duty == "1")
    return see_other(f"/console/agencies/{agency_id}/duty", notice="saved")


@router.post("/agencies/{agency_id}/staff/{user_id}/staffing")
def set_staffing(
    agency_id: int,
    user_id: int,
    department_id: str = Form(""),
    capacity: str = Form(""),
    actor: Actor = Depends(current_actor),
    db: Session = Depends(get_db),
) -> Response:
    membership, _user = access_membership_by_user_id(db, actor, agency_id, user_id)
    department: Department | None = None
    if department_id.strip() not in ("", "0"):
        department = access_department_by_id(db, actor, _number(department_id, "department"))
    do_set_staffing(db, actor, membership, department=department, capacity=_number(capacity, "capacity"))
    return see_other(f"/console/agencies/{agency_id}/duty", notice="saved")
