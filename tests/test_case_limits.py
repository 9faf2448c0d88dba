"""Public time limits: computed when a case opens, highlighted in the queue, escalated when they pass (督办)."""

from __future__ import annotations

import datetime as dt
import re

from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tests.factories import login
from tests.wechat.callback_helpers import connect, send_text
from wenzheng.audit.models import AuditEvent
from wenzheng.cases.actions import escalate_overdue
from wenzheng.cases.limits import add_working_days, deadline_state, due_at
from wenzheng.cases.models import Case
from wenzheng.db import utcnow

SHANGHAI = "Asia/Shanghai"


def test_working_days_skip_the_weekend() -> None:
    friday_noon = dt.datetime(2026, 11, 27, 4, 0, tzinfo=dt.UTC)  # 12:00 in Beijing
    due = add_working_days(friday_noon, 3, SHANGHAI)
    assert due == dt.datetime(2026, 12, 2, 15, 59, 59, tzinfo=dt.UTC)  # Wednesday 23:59:59 Beijing


def test_limits_by_urgency_and_intent() -> None:
    opened = dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.UTC)  # a Monday
    assert due_at(urgency="P0", intent="rescue", opened_at=opened, timezone=SHANGHAI) == opened + dt.timedelta(
        minutes=10
    )
    consultation = due_at(urgency="P2", intent="consultation", opened_at=opened, timezone=SHANGHAI)
    complaint = due_at(urgency="P2", intent="complaint", opened_at=opened, timezone=SHANGHAI)
    assert (consultation.date(), complaint.date()) == (dt.date(2026, 11, 26), dt.date(2026, 12, 14))
    now = opened + dt.timedelta(days=1)
    assert [deadline_state(d, now) for d in (opened, now + dt.timedelta(hours=1), consultation, None)] == [
        "overdue",
        "soon",
        "",
        "",
    ]


def test_a_p0_case_past_ten_minutes_is_escalated_once_and_listed(client: TestClient, db: Session) -> None:
    connected = connect(db, mode="plaintext")
    send_text(client, connected, "我们被困在了倒塌的房子里，求救！")
    case = db.execute(select(Case)).scalar_one()
    assert case.due_at is not None and case.due_at - case.created_at <= dt.timedelta(minutes=10, seconds=1)
    db.execute(update(Case).values(due_at=utcnow() - dt.timedelta(minutes=1)))
    db.commit()
    assert [c.id for c in escalate_overdue(db)] == [case.id]
    db.commit()
    assert escalate_overdue(db) == []  # once
    assert db.execute(select(AuditEvent).where(AuditEvent.action == "worker:case:escalate")).scalar_one()
    tenant = connected.tenant
    login(client, tenant.admin.username)
    page = client.get(f"/console/agencies/{tenant.agency.id}/overdue").text
    assert case.ref in page and "已督办" in page
    assert "人员工作量" in page and "未分派" in page  # the one open case waits for someone
    title = re.search(r"<title>(.*?)</title>", page, re.S)
    assert title is not None and "<" not in title.group(1) and len(title.group(1)) < 80
    queue = client.get(f"/console/agencies/{tenant.agency.id}/cases").text
    assert "已超时" in queue
    client.cookies.clear()
    login(client, tenant.operator.username)
    assert client.get(f"/console/agencies/{tenant.agency.id}/overdue").status_code == 403
