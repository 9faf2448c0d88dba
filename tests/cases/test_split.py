"""Splitting a case: messages that are another request move into a new case, audited on both sides."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.cases.helpers import csrf, follow_up, write_in
from tests.factories import create_tenant, login
from wenzheng.audit.models import AuditEvent
from wenzheng.cases.models import Case
from wenzheng.messages.models import Message


def test_chosen_messages_move_into_a_new_case_named_by_the_first(client: TestClient, db: Session) -> None:
    tenant = create_tenant(db, "split")
    case, status_path = write_in(client, db, tenant, "幸福小区停水三天了")
    follow_up(client, status_path, "另外，小区门口的路灯也坏了一个月了")
    follow_up(client, status_path, "路灯那边晚上很黑，老人摔倒了")
    follow_up(client, status_path, "水还是没来")
    messages = db.execute(select(Message).where(Message.case_id == case.id).order_by(Message.id)).scalars().all()
    assert len(messages) == 4
    lamp_first, lamp_second = messages[1], messages[2]
    login(client, tenant.operator.username)
    page = client.get(f"/console/cases/{case.id}").text
    assert f'name="message_id" value="{lamp_first.id}" form="split"' in page
    assert f'name="message_id" value="{case.first_message_id}"' not in page  # the first message stays
    split = client.post(
        f"/console/cases/{case.id}/split",
        data={"csrf_token": csrf(page), "message_id": [str(lamp_first.id), str(lamp_second.id)]},
        follow_redirects=False,
    )
    assert split.status_code == 303
    new = db.execute(select(Case).where(Case.split_from_id == case.id)).scalar_one()
    assert split.headers["location"].startswith(f"/console/cases/{new.id}")
    db.refresh(case)
    assert (new.ref, new.first_message_id, new.message_count) == (lamp_first.ref, lamp_first.id, 2)
    assert (new.account_id, new.agency_id, new.state) == (case.account_id, case.agency_id, "received")
    assert "路灯" in new.summary and new.due_at is not None
    assert case.message_count == 2
    moved = set(db.execute(select(Message.id).where(Message.case_id == new.id)).scalars())
    assert moved == {lamp_first.id, lamp_second.id}
    events = db.execute(select(AuditEvent).where(AuditEvent.action == "console:case:split")).scalars().all()
    assert {(e.subject_id, e.data.get("into") or e.data.get("from")) for e in events} == {
        (case.id, new.ref),
        (new.id, case.ref),
    }
    new_page = client.get(f"/console/cases/{new.id}").text
    assert "拆分出新案件" in new_page and case.ref in new_page and "老人摔倒" in new_page
    old_page = client.get(f"/console/cases/{case.id}").text
    assert "拆分出新案件" in old_page and "老人摔倒" not in old_page


def test_the_first_message_and_strangers_cannot_be_split_off(client: TestClient, db: Session) -> None:
    tenant = create_tenant(db, "split2")
    case, status_path = write_in(client, db, tenant, "幸福小区停水三天了")
    follow_up(client, status_path, "还是没有水")
    other, _ = write_in(client, db, tenant, "请问低保怎么申请？", kind="consultation")
    csrf_token = login(client, tenant.operator.username)
    url = f"/console/cases/{case.id}/split"
    first = client.post(url, data={"csrf_token": csrf_token, "message_id": [str(case.first_message_id)]})
    assert first.status_code == 422 and "first_message_stays" in first.text
    stranger = client.post(url, data={"csrf_token": csrf_token, "message_id": [str(other.first_message_id)]})
    assert stranger.status_code == 422 and "not_in_case" in stranger.text
    nothing = client.post(url, data={"csrf_token": csrf_token})
    assert nothing.status_code == 422
    assert db.execute(select(Case).where(Case.split_from_id.is_not(None))).first() is None
