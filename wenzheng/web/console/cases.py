"""The case queue (most urgent first) and one case with its messages, assessment and actions."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
from collections.abc import AsyncIterator
from functools import partial

from fastapi import APIRouter, Depends, Form, Request
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.responses import Response, StreamingResponse

from wenzheng.agencies.access import access_agency_by_id, departments_of
from wenzheng.agencies.models import Agency
from wenzheng.assessments.models import Assessment
from wenzheng.cases.access import (
    QueueFilter,
    access_case_by_id,
    access_case_by_ref,
    median_minutes,
    messages_of_case,
    overdue_of_agency,
    queue_counts,
    queue_of_agency,
    workload_of_agency,
)
from wenzheng.cases.actions import do_answer_case, do_assign_case, do_merge_cases, do_move_case
from wenzheng.cases.canned import access_canned_reply_by_id, canned_replies_of
from wenzheng.cases.limits import deadline_state
from wenzheng.cases.live import as_event, changed_since
from wenzheng.cases.models import Case
from wenzheng.cases.states import ALLOWED_MOVES, CaseState
from wenzheng.cases.timeline import timeline_of
from wenzheng.db import read_scope, utcnow
from wenzheng.errors import Conflict, Forbidden, InvalidInput
from wenzheng.live import Broadcaster
from wenzheng.messages import delivery
from wenzheng.staff.access import actor_names, staff_of_agency
from wenzheng.staff.actor import Actor
from wenzheng.staff.models import User
from wenzheng.staff.roles import Role
from wenzheng.triage import INTENTS
from wenzheng.web.console import see_other
from wenzheng.web.console.case_flow import case_flow_context
from wenzheng.web.deps import current_actor, current_reader, get_db, get_read_db
from wenzheng.web.i18n import language_of, translate
from wenzheng.web.templating import render

router = APIRouter(prefix="/console")
LIVE_POLL_SECONDS = 0.5
QUEUE_CHANNELS = ("wechat", "sms", "email", "web", "open311")
TIME_WINDOWS = (1, 6, 24, 72, 168)  # hours a case may have been open, offered as a filter
HEARTBEAT_SECONDS = 15.0
LIVE_STREAM_SECONDS = 600


@router.get("/agencies/{agency_id}/cases")
def queue_page(
    request: Request,
    agency_id: int,
    state: str = "open",
    urgency: str = "",
    mine: bool = False,
    department: int = 0,
    intent: str = "",
    q: str = "",
    channel: str = "",
    hours: int = 0,
    assignee: int = 0,
    region: str = "",
    actor: Actor = Depends(current_actor),
    db: Session = Depends(get_db),
) -> Response:
    agency = access_agency_by_id(db, actor, agency_id)
    wanted = QueueFilter(
        state=state,
        urgency=urgency,
        mine=mine,
        department_id=department or None,
        intent=intent[:32],
        text=q[:100],
        channel=channel if channel in QUEUE_CHANNELS else "",
        hours=max(0, min(hours, 24 * 365)),
        assignee_id=assignee or None,
        region=region.strip()[:40],
    )
    cases = queue_of_agency(db, actor, agency.id, wanted)
    assignees = {
        u.id: u.display_name
        for u in db.execute(select(User).where(User.id.in_({c.assignee_id for c in cases if c.assignee_id}))).scalars()
    }
    return render(
        request,
        "console/queue.html",
        {
            "now": utcnow(),
            "deadline_state": deadline_state,
            "agency": agency,
            "cases": cases,
            "assignees": assignees,
            "wanted": wanted,
            "counts": queue_counts(db, actor, agency.id, wanted),
            "states": [s.value for s in CaseState],
            "intents": INTENTS,
            "departments": departments_of(db, actor, agency.id),
            "channels": QUEUE_CHANNELS,
            "windows": TIME_WINDOWS,
            "staff": staff_of_agency(db, actor, agency.id),
        },
    )


@router.post("/agencies/{agency_id}/cases/bulk")
def bulk_cases(
    agency_id: int,
    action: str = Form(""),
    case_ids: list[int] = Form(default=[]),
    assignee_id: int = Form(0),
    actor: Actor = Depends(current_actor),
    db: Session = Depends(get_db),
) -> Response:
    """Assign, close (办结) or merge the cases ticked in the queue; each case its own audited action."""
    agency = access_agency_by_id(db, actor, agency_id, minimum=Role.OPERATOR)
    cases = [access_case_by_id(db, actor, case_id, minimum=Role.OPERATOR) for case_id in dict.fromkeys(case_ids)]
    cases = [c for c in cases if c.agency_id == agency.id]
    if not cases:
        return see_other(f"/console/agencies/{agency.id}/cases", notice="bulk_none")
    done, skipped = _bulk(db, actor, action, cases, assignee_id or None)
    return see_other(f"/console/agencies/{agency.id}/cases", notice="bulk_done", done=str(done), skipped=str(skipped))


def _bulk(session: Session, actor: Actor, action: str, cases: list[Case], assignee_id: int | None) -> tuple[int, int]:
    done = skipped = 0
    if action == "merge":
        target, *duplicates = sorted(cases, key=lambda c: (c.urgency, -c.score, c.created_at, c.id))
        work = [partial(do_merge_cases, session, actor, duplicate, target) for duplicate in duplicates]
    elif action == "assign":
        work = [partial(do_assign_case, session, actor, case, assignee_id=assignee_id) for case in cases]
    elif action == "close":
        work = [partial(do_move_case, session, actor, case, to_state=CaseState.RESOLVED.value) for case in cases]
    else:
        raise InvalidInput("Choose assign, close or merge.", code="bulk_unknown_action")
    for step in work:
        try:
            step()
        except (Conflict, InvalidInput, Forbidden):
            session.rollback()  # this one cannot (a state that does not allow it): the others still go
            skipped += 1
        else:
            done += 1
    return done, skipped


@router.get("/agencies/{agency_id}/overdue")
def overdue_page(
    request: Request, agency_id: int, actor: Actor = Depends(current_actor), db: Session = Depends(get_db)
) -> Response:
    agency = access_agency_by_id(db, actor, agency_id, minimum=Role.SUPERVISOR)
    now = utcnow()
    cases = overdue_of_agency(db, actor, agency.id, now=now)
    assignees = {
        u.id: u.display_name
        for u in db.execute(select(User).where(User.id.in_({c.assignee_id for c in cases if c.assignee_id}))).scalars()
    }
    workload = workload_of_agency(db, actor, agency.id, now=now)
    people = {
        u.id: u.display_name
        for u in db.execute(
            select(User).where(User.id.in_({w.assignee_id for w in workload if w.assignee_id}))
        ).scalars()
    }
    context = {
        "agency": agency,
        "cases": cases,
        "assignees": {**assignees, **people},
        "now": now,
        "deadline_state": deadline_state,
        "workload": workload,
        "medians": median_minutes(db, actor, agency.id, since=now - dt.timedelta(days=30)),
    }
    return render(request, "console/overdue.html", context)


@router.get("/agencies/{agency_id}/cases/events")
def queue_events(
    request: Request, agency_id: int, actor: Actor = Depends(current_reader), db: Session = Depends(get_read_db)
) -> Response:
    """Server-Sent Events: each case of the agency as it is opened or changes, for the live queue.

    Authenticated on a read-only session: a stream takes no write lock, even while fifty reconnect at once.
    """
    agency_id = access_agency_by_id(db, actor, agency_id).id
    db.rollback()  # the stream outlives this request's (read) transaction
    return StreamingResponse(
        _case_events(request, agency_id, language_of(request)),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


async def _case_events(request: Request, agency_id: int, lang: str) -> AsyncIterator[str]:
    deadline = time.monotonic() + LIVE_STREAM_SECONDS  # the browser reconnects, and we check the login again
    yield "retry: 1000\n\n"
    async with case_feed.listen(agency_id) as queue:
        while time.monotonic() < deadline and not await request.is_disconnected():
            try:
                event = await asyncio.wait_for(queue.get(), timeout=HEARTBEAT_SECONDS)
            except TimeoutError:
                yield ": still here\n\n"
                continue
            yield f"event: case\ndata: {json.dumps(_labelled(dict(event), lang), ensure_ascii=False)}\n\n"


def _poll(agency_id: int, since: dt.datetime) -> tuple[list[dict[str, object]], dt.datetime]:
    with read_scope() as session:
        cases = changed_since(session, agency_id, since)
        return [as_event(c) for c in cases], (cases[-1].updated_at if cases else since)


# One poll of each agency's changes per process, however many consoles watch it.
case_feed: Broadcaster[int] = Broadcaster(_poll, LIVE_POLL_SECONDS)


def _labelled(event: dict[str, object], lang: str) -> dict[str, object]:
    """The event with its state and intent in the reader's language, as the page renders them."""
    event["state_label"] = translate(f"case_state.{event['state']}", lang)
    event["intent_label"] = translate(f"intent.{event['intent']}", lang) if event["intent"] else ""
    return event


@router.get("/cases/{case_id}")
def case_page(
    request: Request, case_id: int, actor: Actor = Depends(current_actor), db: Session = Depends(get_db)
) -> Response:
    case = access_case_by_id(db, actor, case_id)
    messages = messages_of_case(db, case)
    assessment = db.execute(select(Assessment).where(Assessment.message_id == case.first_message_id)).scalar()
    timeline = timeline_of(db, case, messages)
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
            "canned": canned_replies_of(db, case.agency_id),
            "merged_into": db.get(Case, case.merged_into_id) if case.merged_into_id else None,
            "undelivered": delivery.unanswered_failures(db, case),
            **case_flow_context(db, actor, case),
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


@router.post("/cases/{case_id}/answer-all")
def answer_case(
    case_id: int,
    text: str = Form(""),
    canned_id: str = Form(""),
    actor: Actor = Depends(current_actor),
    db: Session = Depends(get_db),
) -> Response:
    case = access_case_by_id(db, actor, case_id, minimum=Role.OPERATOR)
    if not text.strip() and canned_id.isdigit():
        text = access_canned_reply_by_id(db, actor, case.agency_id, int(canned_id)).text
    result = do_answer_case(db, actor, case, text=text)
    return see_other(
        f"/console/cases/{case_id}", notice="answered_all", sent=str(result.sent), fallback=str(result.on_status_page)
    )


@router.post("/cases/{case_id}/merge")
def merge_case(
    case_id: int, into_ref: str = Form(""), actor: Actor = Depends(current_actor), db: Session = Depends(get_db)
) -> Response:
    source = access_case_by_id(db, actor, case_id, minimum=Role.OPERATOR)
    target = access_case_by_ref(db, actor, source.agency_id, into_ref.strip())
    do_merge_cases(db, actor, source, target)
    return see_other(f"/console/cases/{target.id}", notice="merged")


@router.post("/cases/{case_id}/move")
def move_case(
    case_id: int, to_state: str = Form(""), actor: Actor = Depends(current_actor), db: Session = Depends(get_db)
) -> Response:
    case = access_case_by_id(db, actor, case_id, minimum=Role.OPERATOR)
    do_move_case(db, actor, case, to_state=to_state)
    return see_other(f"/console/cases/{case.id}", notice="saved")
