"""P0 acknowledgement: a person confirms a life-threatening case within ten minutes, or it escalates."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tests.cases.helpers import LUSHAN, csrf, write_in
from tests.factories import create_tenant, create_user, login
from wenzheng.audit.models import AuditEvent
from wenzheng.cases.actions import escalate_overdue
from wenzheng.cases.limits import P0_ACKNOWLEDGE_WITHIN
from wenzheng.cases.models import Case
from wenzheng.db import utcnow
from wenzheng.staff.roles import Role


def _queue_row(page: str, ref: str) -> str:
    body = page.split("<tbody>")[1]
    start = body.rindex("<tr", 0, body.index(ref))
    return body[start : body.index("</tr>", start)]


def test_an_unacknowledged_p0_is_highlighted_and_escalates_after_ten_minutes(client: TestClient, db: Session) -> None:
    tenant = create_tenant(db, "ack")
    case, _ = write_in(client, db, tenant, LUSHAN)
    assert case.urgency == "P0" and case.acknowledged_at is None
    assert case.due_at is not None and case.due_at - case.created_at <= P0_ACKNOWLEDGE_WITHIN + dt.timedelta(seconds=1)
    login(client, tenant.operator.username)
    row = _queue_row(client.get(f"/console/agencies/{tenant.agency.id}/cases").text, case.ref)
    assert "unacked" in row and "待确认" in row
    assert escalate_overdue(db, now=case.created_at + dt.timedelta(minutes=9)) == []
    db.commit()
    late = escalate_overdue(db, now=case.created_at + dt.timedelta(minutes=11))
    db.commit()
    assert [c.id for c in late] == [case.id]
    client.cookies.clear()
    login(client, tenant.admin.username)
    overdue = client.get(f"/console/agencies/{tenant.agency.id}/overdue").text
    assert case.ref in overdue and "已督办" in overdue and "待确认" in overdue


def test_acknowledging_records_who_and_sets_the_answer_limit(client: TestClient, db: Session) -> None:
    tenant = create_tenant(db, "ack2")
    case, _ = write_in(client, db, tenant, LUSHAN)
    eleven_minutes_ago = utcnow() - dt.timedelta(minutes=11)
    db.execute(
        update(Case)
        .where(Case.id == case.id)
        .values(created_at=eleven_minutes_ago, due_at=eleven_minutes_ago + P0_ACKNOWLEDGE_WITHIN)
    )
    assert [c.id for c in escalate_overdue(db)] == [case.id]  # late, and escalated
    db.commit()
    login(client, tenant.operator.username)
    page = client.get(f"/console/cases/{case.id}").text
    assert 'id="acknowledge"' in page
    done = client.post(f"/console/cases/{case.id}/acknowledge", data={"csrf_token": csrf(page)}, follow_redirects=False)
    assert done.status_code == 303
    db.refresh(case)
    assert case.acknowledged_by_id == tenant.operator.id and case.acknowledged_at is not None
    assert case.escalated_at is None  # the answer's limit may escalate anew
    assert case.due_at is not None and case.due_at - case.created_at > dt.timedelta(days=2)  # 3 working days
    event = db.execute(select(AuditEvent).where(AuditEvent.action == "console:case:acknowledge")).scalar_one()
    assert event.actor_user_id == tenant.operator.id and event.data["late"] is True
    row = _queue_row(client.get(f"/console/agencies/{tenant.agency.id}/cases").text, case.ref)
    assert "unacked" not in row and "待确认" not in row
    again = client.post(
        f"/console/cases/{case.id}/acknowledge", data={"csrf_token": csrf(page)}, follow_redirects=False
    )
    assert again.status_code == 303
    assert len(db.execute(select(AuditEvent).where(AuditEvent.action == "console:case:acknowledge")).all()) == 1
    assert escalate_overdue(db, now=utcnow() + dt.timedelta(hours=1)) == []


def test_only_p0_cases_are_acknowledged_and_not_by_viewers(client: TestClient, db: Session) -> None:
    tenant = create_tenant(db, "ack3")
    calm, _ = write_in(client, db, tenant, "请问低保怎么申请？", kind="consultation")
    urgent, _ = write_in(client, db, tenant, LUSHAN)
    csrf_token = login(client, tenant.operator.username)
    refused = client.post(f"/console/cases/{calm.id}/acknowledge", data={"csrf_token": csrf_token})
    assert refused.status_code == 409 and "not_p0" in refused.text
    viewer = create_user(db, tenant.agency, Role.VIEWER)
    client.cookies.clear()
    csrf_token = login(client, viewer.username)
    assert client.post(f"/console/cases/{urgent.id}/acknowledge", data={"csrf_token": csrf_token}).status_code == 403
    assert db.get_one(Case, urgent.id).acknowledged_at is None
