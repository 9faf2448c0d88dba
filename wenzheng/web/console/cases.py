"""The case queue (most urgent first) and one case with its messages, assessment and actions."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.responses import Response

from wenzheng.agencies.access import access_agency_by_id
from wenzheng.agencies.models import Agency
from wenzheng.assessments.models import Assessment
from wenzheng.audit.models import AuditEvent
from wenzheng.cases.access import access_case_by_id, messages_of_case, queue_of_agency
from wenzheng.cases.actions import do_assign_case, do_move_case
from wenzheng.cases.states import ALLOWED_MOVES, CaseState
from wenzheng.staff.access import actor_names, staff_of_agency
from wenzheng.staff.actor import Actor
from wenzheng.staff.models import User
from wenzheng.staff.roles import Role
from wenzheng.web.console import see_other
from wenzheng.web.deps import current_actor, get_db
from wenzheng.web.templating import render

router = APIRouter(prefix="/console")


@router.get("/agencies/{agency_id}/cases")
def queue_page(
    request: Request,
    agency_id: int,
    state: str = "open",
    urgency: str = "",
    mine: bool = False,
    actor: Actor = Depends(current_actor),
    db: Session = Depends(get_db),
) -> Response:
    agency = access_agency_by_id(db, actor, agency_id)
    cases = queue_of_agency(db, actor, agency.id, state=state, urgency=urgency, mine=mine)
    assignees = {
        u.id: u.display_name
        for u in db.execute(select(User).where(User.id.in_({c.assignee_id for c in cases if c.assignee_id}))).scalars()
    }
    return render(
        request,
        "console/queue.html",
        {
            "agency": agency,
            "cases": cases,
            "assignees": assignees,
            "state": state,
            "urgency": urgency,
            "mine": mine,
            "states": [s.value for s in CaseState],
        },
    )


@router.get("/cases/{case_id}")
def case_page(
    request: Request, case_id: int, actor: Actor = Depends(current_actor), db: Session = Depends(get_db)
) -> Response:
    case = access_case_by_id(db, actor, case_id)
    messages = messages_of_case(db, case)
    assessment = db.execute(select(Assessment).where(Assessment.message_id == case.first_message_id)).scalar()
    timeline = list(
        db.execute(
            select(AuditEvent)
            .where(
                AuditEvent.agency_id == case.agency_id,
                AuditEvent.subject_type == "case",
                AuditEvent.subject_id == case.id,
            )
            .order_by(AuditEvent.created_at, AuditEvent.id)
        ).scalars()
    )
    role = actor.role_in(case.agency_id)
    return render(
        request,
        "console/case.html",
        {
            "case": case,
            "agency": db.get(Agency, case.agency_id),
            "messages": messages,
            "assessment": assessment,
            "timeline": timeline,
            "names": actor_names(db, timeline),
            "moves": sorted(m.value for m in ALLOWED_MOVES[CaseState(case.state)]),
            "staff": [
                (m, u) for m, u in staff_of_agency(db, actor, case.agency_id) if Role(m.role).at_least(Role.OPERATOR)
            ],
            "can_act": role is not None and role.at_least(Role.OPERATOR),
            "can_dispatch": role is not None and role.at_least(Role.SUPERVISOR),
            "assignee": db.get(User, case.assignee_id) if case.assignee_id else None,
        },
    )


@router.post("/cases/{case_id}/assign")
def assign_case(
    case_id: int, assignee_id: str = Form(""), actor: Actor = Depends(current_actor), db: Session = Depends(get_db)
) -> Response:
    case = access_case_by_id(db, actor, case_id, minimum=Role.OPERATOR)
    target = actor.user_id if assignee_id == "me" else (int(assignee_id) if assignee_id.isdigit() else None)
    do_assign_case(db, actor, case, assignee_id=target)
    return see_other(f"/console/cases/{case.id}", notice="saved")


@router.post("/cases/{case_id}/move")
def move_case(
    case_id: int, to_state: str = Form(""), actor: Actor = Depends(current_actor), db: Session = Depends(get_db)
) -> Response:
    case = access_case_by_id(db, actor, case_id, minimum=Role.OPERATOR)
    do_move_case(db, actor, case, to_state=to_state)
    return see_other(f"/console/cases/{case.id}", notice="saved")
