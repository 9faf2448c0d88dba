"""Cases from triage: one per duplicate cluster, follow-ups joining; the queue most urgent first; assign,
answer and resolve — each step audited, other agencies' cases not found."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories import create_tenant, create_user, login
from tests.wechat.callback_helpers import connect, send_text
from wenzheng.audit.models import AuditEvent
from wenzheng.cases.models import Case
from wenzheng.messages.models import Message
from wenzheng.staff.roles import Role

LUSHAN = "我们被困在了姚桥镇初级中学附属教师职工宿舍了，目前房子已经全部坍塌了，求大家救救我们！"


def _csrf(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match
    return match.group(1)


def test_forwards_become_one_case_with_a_count(client: TestClient, db: Session) -> None:
    connected = connect(db, mode="plaintext")
    for n in range(3):
        send_text(client, connected, ("转发：" * n) + LUSHAN, openid=f"o_{n}")
    send_text(client, connected, "请问怎么给灾区捐款？", openid="o_donor")
    cases = db.execute(select(Case).order_by(Case.id)).scalars().all()
    assert [(c.urgency, c.message_count) for c in cases] == [("P0", 3), (cases[1].urgency, 1)]
    assert db.execute(select(AuditEvent).where(AuditEvent.action == "worker:case:open")).scalars().all()


def test_a_follow_up_joins_the_senders_open_case(client: TestClient, db: Session) -> None:
    connected = connect(db, mode="plaintext")
    send_text(client, connected, "小区停水三天了", openid="o_same")
    send_text(client, connected, "现在还是没有水，老人孩子很困难", openid="o_same")
    case = db.execute(select(Case)).scalar_one()
    assert case.message_count == 2


def test_the_queue_puts_p0_first_and_the_case_moves_through_its_life(client: TestClient, db: Session) -> None:
    connected = connect(db, mode="plaintext")
    send_text(client, connected, "为雅安祈福", openid="o_a")
    send_text(client, connected, LUSHAN, openid="o_b")
    tenant = connected.tenant
    login(client, tenant.operator.username)
    queue = client.get(f"/console/agencies/{tenant.agency.id}/cases").text.split("<tbody>")[1]
    assert queue.index("姚桥镇") < queue.index("为雅安祈福")
    filtered = client.get(f"/console/agencies/{tenant.agency.id}/cases?urgency=P0").text.split("<tbody>")[1]
    assert "姚桥镇" in filtered and "为雅安祈福" not in filtered
    searched = client.get(f"/console/agencies/{tenant.agency.id}/cases?q=雅安").text.split("<tbody>")[1]
    assert "为雅安祈福" in searched and "姚桥镇" not in searched
    case = db.execute(select(Case).where(Case.urgency == "P0")).scalar_one()
    page = client.get(f"/console/cases/{case.id}").text
    client.post(f"/console/cases/{case.id}/assign", data={"csrf_token": _csrf(page), "assignee_id": "me"})
    db.refresh(case)
    assert (case.state, case.assignee_id) == ("in_progress", tenant.operator.id)
    message = db.execute(select(Message).where(Message.case_id == case.id)).scalars().first()
    assert message is not None
    client.post(
        f"/console/messages/{message.id}/reply",
        data={"csrf_token": _csrf(page), "text": "救援队已出发。", "channel": "web"},
    )
    db.refresh(case)
    assert case.state == "answered" and case.first_answered_at is not None
    client.post(f"/console/cases/{case.id}/move", data={"csrf_token": _csrf(page), "to_state": "resolved"})
    db.refresh(case)
    assert case.state == "resolved" and case.resolved_at is not None
    bad = client.post(f"/console/cases/{case.id}/move", data={"csrf_token": _csrf(page), "to_state": "dispatched"})
    assert bad.status_code == 409 and "invalid_move" in bad.text
    actions = set(db.execute(select(AuditEvent.action).where(AuditEvent.subject_type == "case")).scalars())
    assert {"console:case:assign", "console:case:move", "worker:case:open"} <= actions


def test_operators_take_cases_but_only_supervisors_give_them_away(client: TestClient, db: Session) -> None:
    connected = connect(db, mode="plaintext")
    send_text(client, connected, LUSHAN)
    tenant = connected.tenant
    case = db.execute(select(Case)).scalar_one()
    other = create_user(db, tenant.agency, Role.OPERATOR)
    csrf = login(client, tenant.operator.username)
    refused = client.post(f"/console/cases/{case.id}/assign", data={"csrf_token": csrf, "assignee_id": str(other.id)})
    assert refused.status_code == 403
    viewer = create_user(db, tenant.agency, Role.VIEWER)
    client.cookies.clear()
    csrf = login(client, tenant.admin.username)
    to_viewer = client.post(
        f"/console/cases/{case.id}/assign", data={"csrf_token": csrf, "assignee_id": str(viewer.id)}
    )
    assert to_viewer.status_code == 422


def test_another_agency_gets_404(client: TestClient, db: Session) -> None:
    connected = connect(db, mode="plaintext")
    send_text(client, connected, LUSHAN)
    case = db.execute(select(Case)).scalar_one()
    stranger = create_tenant(db, "z")
    login(client, stranger.admin.username)
    assert client.get(f"/console/cases/{case.id}").status_code == 404
