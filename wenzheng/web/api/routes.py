"""JSON API v1: agencies, departments, accounts, staff and audit events — each reached through access helpers."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from wenzheng.accounts.access import access_account_by_id, accounts_of, name_history
from wenzheng.accounts.actions import (
    do_create_account,
    do_rename_account,
    do_set_account_verified,
    do_update_account_description,
)
from wenzheng.agencies.access import (
    access_agency_by_id,
    access_department_by_id,
    departments_of,
    visible_agencies,
)
from wenzheng.agencies.actions import (
    do_create_agency,
    do_create_department,
    do_set_english_name,
    do_set_issuing_unit_code,
    do_set_place_countries,
    do_set_retention_days,
    do_update_department,
)
from wenzheng.audit.access import audit_events_of_agency
from wenzheng.staff.access import staff_of_agency
from wenzheng.staff.actor import Actor
from wenzheng.staff.roles import Role
from wenzheng.web.api.schemas import (
    AccountIn,
    AccountOut,
    AccountPatch,
    AgencyIn,
    AgencyOut,
    AuditEventOut,
    DepartmentIn,
    DepartmentOut,
    DepartmentPatch,
    EnglishNameIn,
    IssuingUnitCodeIn,
    MeOut,
    NameChangeOut,
    PlaceCountriesIn,
    RetentionIn,
    StaffOut,
    VerificationIn,
)
from wenzheng.web.deps import current_actor, get_db

router = APIRouter(prefix="/api/v1", tags=["v1"])


@router.get("/me", response_model=MeOut)
def me(actor: Actor = Depends(current_actor)) -> MeOut:
    return MeOut(
        user_id=actor.user_id,
        token_id=actor.token_id,
        username=actor.username,
        display_name=actor.display_name,
        is_platform_admin=actor.is_platform_admin,
        roles={k: v.value for k, v in actor.roles.items()},
    )


@router.get("/agencies", response_model=list[AgencyOut])
def list_agencies(actor: Actor = Depends(current_actor), db: Session = Depends(get_db)) -> list[AgencyOut]:
    return [AgencyOut.model_validate(a) for a in visible_agencies(db, actor)]


@router.post("/agencies", response_model=AgencyOut, status_code=201)
def create_agency(body: AgencyIn, actor: Actor = Depends(current_actor), db: Session = Depends(get_db)) -> AgencyOut:
    agency = do_create_agency(db, actor, slug=body.slug, name=body.name, timezone=body.timezone)
    return AgencyOut.model_validate(agency)


@router.get("/agencies/{agency_id}", response_model=AgencyOut)
def get_agency(agency_id: int, actor: Actor = Depends(current_actor), db: Session = Depends(get_db)) -> AgencyOut:
    return AgencyOut.model_validate(access_agency_by_id(db, actor, agency_id))


@router.put("/agencies/{agency_id}/place-countries", response_model=AgencyOut)
def set_place_countries(
    agency_id: int, body: PlaceCountriesIn, actor: Actor = Depends(current_actor), db: Session = Depends(get_db)
) -> AgencyOut:
    """The countries whose towns English place names are looked up in (an admin's setting)."""
    agency = access_agency_by_id(db, actor, agency_id, minimum=Role.ADMIN)
    return AgencyOut.model_validate(do_set_place_countries(db, actor, agency, body.place_countries))


@router.put("/agencies/{agency_id}/issuing-unit-code", response_model=AgencyOut)
def set_issuing_unit_code(
    agency_id: int, body: IssuingUnitCodeIn, actor: Actor = Depends(current_actor), db: Session = Depends(get_db)
) -> AgencyOut:
    """The agency's 发布单位代码, from which its alerts get national identifiers (an admin's setting)."""
    agency = access_agency_by_id(db, actor, agency_id, minimum=Role.ADMIN)
    return AgencyOut.model_validate(do_set_issuing_unit_code(db, actor, agency, body.issuing_unit_code))


@router.put("/agencies/{agency_id}/english-name", response_model=AgencyOut)
def set_english_name(
    agency_id: int, body: EnglishNameIn, actor: Actor = Depends(current_actor), db: Session = Depends(get_db)
) -> AgencyOut:
    """The agency's English name, the sender of its alerts' English CAP info (an admin's setting)."""
    agency = access_agency_by_id(db, actor, agency_id, minimum=Role.ADMIN)
    return AgencyOut.model_validate(do_set_english_name(db, actor, agency, body.name_en))


@router.put("/agencies/{agency_id}/retention", response_model=AgencyOut)
def set_retention(
    agency_id: int, body: RetentionIn, actor: Actor = Depends(current_actor), db: Session = Depends(get_db)
) -> AgencyOut:
    """How many days citizens' personal data is kept after their case ends (an admin's setting)."""
    agency = access_agency_by_id(db, actor, agency_id, minimum=Role.ADMIN)
    return AgencyOut.model_validate(do_set_retention_days(db, actor, agency, body.retention_days))


@router.get("/agencies/{agency_id}/departments", response_model=list[DepartmentOut])
def list_departments(
    agency_id: int, actor: Actor = Depends(current_actor), db: Session = Depends(get_db)
) -> list[DepartmentOut]:
    agency = access_agency_by_id(db, actor, agency_id)
    return [DepartmentOut.model_validate(d) for d in departments_of(db, actor, agency.id)]


@router.post("/agencies/{agency_id}/departments", response_model=DepartmentOut, status_code=201)
def create_department(
    agency_id: int, body: DepartmentIn, actor: Actor = Depends(current_actor), db: Session = Depends(get_db)
) -> DepartmentOut:
    agency = access_agency_by_id(db, actor, agency_id, minimum=Role.ADMIN)
    return DepartmentOut.model_validate(
        do_create_department(db, actor, agency, name=body.name, description=body.description)
    )


@router.get("/departments/{department_id}", response_model=DepartmentOut)
def get_department(
    department_id: int, actor: Actor = Depends(current_actor), db: Session = Depends(get_db)
) -> DepartmentOut:
    return DepartmentOut.model_validate(access_department_by_id(db, actor, department_id))


@router.patch("/departments/{department_id}", response_model=DepartmentOut)
def update_department(
    department_id: int,
    body: DepartmentPatch,
    actor: Actor = Depends(current_actor),
    db: Session = Depends(get_db),
) -> DepartmentOut:
    department = access_department_by_id(db, actor, department_id, minimum=Role.ADMIN)
    return DepartmentOut.model_validate(
        do_update_department(db, actor, department, name=body.name, description=body.description)
    )


@router.get("/agencies/{agency_id}/accounts", response_model=list[AccountOut])
def list_accounts(
    agency_id: int, actor: Actor = Depends(current_actor), db: Session = Depends(get_db)
) -> list[AccountOut]:
    agency = access_agency_by_id(db, actor, agency_id)
    return [AccountOut.model_validate(a) for a in accounts_of(db, actor, agency.id)]


@router.post("/agencies/{agency_id}/accounts", response_model=AccountOut, status_code=201)
def create_account(
    agency_id: int, body: AccountIn, actor: Actor = Depends(current_actor), db: Session = Depends(get_db)
) -> AccountOut:
    agency = access_agency_by_id(db, actor, agency_id, minimum=Role.ADMIN)
    account = do_create_account(db, actor, agency, slug=body.slug, name=body.name, description=body.description)
    return AccountOut.model_validate(account)


@router.get("/accounts/{account_id}", response_model=AccountOut)
def get_account(account_id: int, actor: Actor = Depends(current_actor), db: Session = Depends(get_db)) -> AccountOut:
    return AccountOut.model_validate(access_account_by_id(db, actor, account_id))


@router.patch("/accounts/{account_id}", response_model=AccountOut)
def update_account(
    account_id: int, body: AccountPatch, actor: Actor = Depends(current_actor), db: Session = Depends(get_db)
) -> AccountOut:
    account = access_account_by_id(db, actor, account_id, minimum=Role.ADMIN)
    if body.name is not None and body.name != account.name:
        account = do_rename_account(db, actor, account, new_name=body.name)
    if body.description is not None:
        account = do_update_account_description(db, actor, account, description=body.description)
    return AccountOut.model_validate(account)


@router.get("/accounts/{account_id}/name-history", response_model=list[NameChangeOut])
def get_name_history(
    account_id: int, actor: Actor = Depends(current_actor), db: Session = Depends(get_db)
) -> list[NameChangeOut]:
    account = access_account_by_id(db, actor, account_id)
    return [NameChangeOut.model_validate(c) for c in name_history(db, account)]


@router.put("/accounts/{account_id}/verification", response_model=AccountOut)
def set_verification(
    account_id: int,
    body: VerificationIn,
    actor: Actor = Depends(current_actor),
    db: Session = Depends(get_db),
) -> AccountOut:
    account = access_account_by_id(db, actor, account_id)
    return AccountOut.model_validate(do_set_account_verified(db, actor, account, verified=body.verified))


@router.get("/agencies/{agency_id}/staff", response_model=list[StaffOut])
def list_staff(agency_id: int, actor: Actor = Depends(current_actor), db: Session = Depends(get_db)) -> list[StaffOut]:
    agency = access_agency_by_id(db, actor, agency_id)
    return [
        StaffOut(user_id=u.id, username=u.username, display_name=u.display_name, role=m.role)
        for m, u in staff_of_agency(db, actor, agency.id)
    ]


@router.get("/agencies/{agency_id}/audit-events", response_model=list[AuditEventOut])
def list_audit_events(
    agency_id: int,
    limit: int = Query(default=50, ge=1, le=500),
    actor: Actor = Depends(current_actor),
    db: Session = Depends(get_db),
) -> list[AuditEventOut]:
    agency = access_agency_by_id(db, actor, agency_id, minimum=Role.ADMIN)
    return [AuditEventOut.model_validate(e) for e in audit_events_of_agency(db, actor, agency.id, limit=limit)]
