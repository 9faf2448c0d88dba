"""Answer a whole case at once, with canned replies and placeholders; merge duplicate cases."""

from __future__ import annotations

import datetime as dt
import re

from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tests.citizen.test_web_page import send
from tests.factories import login
from tests.wechat.callback_helpers import connect, send_text
from wenzheng.audit.models import AuditEvent
from wenzheng.cases.models import Case
from wenzheng.db import utcnow
from wenzheng.messages.models import Message

QUESTION = "请问怎么给灾区捐款？"


def _csrf(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match
    return match.group(1)


def test_one_answer_reaches_everyone_in_the_case(client: TestClient, db: Session) -> None:
    connected = connect(db, mode="plaintext")
    tenant = connected.tenant
    send_text(client, connected, QUESTION, openid="o_late")
    db.execute(update(Message).values(received_at=utcnow() - dt.timedelta(days=3)))  # the WeChat window closed
    db.commit()
    status_path = (
        send(client, tenant.account.slug, text="怎么给灾区捐款？", form_id="form-donate-000000001")
        .headers["location"]
        .split("?")[0]
    )
    case = db.execute(select(Case)).scalar_one()
    assert case.message_count == 2
    csrf = login(client, tenant.admin.username)
    client.post(
        f"/console/agencies/{tenant.agency.id}/canned-replies",
        data={"csrf_token": csrf, "title": "捐款", "text": "捐款请通过红十字会官方渠道。受理编号 {ref}。"},
    )
    page = client.get(f"/console/cases/{case.id}").text
    canned_id = re.search(r'<option value="(\d+)" data-text=', page).group(1)  # type: ignore[union-attr]
    answered = client.post(
        f"/console/cases/{case.id}/answer-all",
        data={"csrf_token": _csrf(page), "canned_id": canned_id, "text": ""},
        follow_redirects=False,
    )
    assert answered.status_code == 303 and "sent=1" in answered.headers["location"]
    assert "fallback=1" in answered.headers["location"]  # the WeChat citizen, outside the window
    outbound = db.execute(select(Message).where(Message.direction == "out")).scalars().all()
    refused = [m for m in outbound if m.status == "failed"]
    assert [m.error_code for m in refused] == ["wechat_outside_window"]  # recorded, then the fallback went out
    answers = [m for m in outbound if m.status == "sent"]
    refs = {m.ref for m in db.execute(select(Message).where(Message.direction == "in")).scalars()}
    assert len(answers) == 2 and all(any(ref in a.text for ref in refs) for a in answers)
    client.cookies.clear()
    assert "捐款请通过红十字会官方渠道" in client.get(status_path).text
    assert db.execute(select(AuditEvent).where(AuditEvent.action == "console:case:answer_all")).scalar_one()


def test_merging_moves_the_messages_and_closes_the_duplicate(client: TestClient, db: Session) -> None:
    connected = connect(db, mode="plaintext")
    send_text(client, connected, "芦山县龙门乡停电了", openid="o_1")
    send_text(client, connected, "宝兴县的桥被冲断了", openid="o_2")
    first, second = db.execute(select(Case).order_by(Case.id)).scalars().all()
    csrf = login(client, connected.tenant.operator.username)
    merged = client.post(
        f"/console/cases/{second.id}/merge", data={"csrf_token": csrf, "into_ref": first.ref}, follow_redirects=False
    )
    assert merged.status_code == 303
    db.refresh(first)
    db.refresh(second)
    assert (first.message_count, second.state, second.merged_into_id) == (2, "closed", first.id)
    assert set(db.execute(select(Message.case_id).where(Message.direction == "in")).scalars()) == {first.id}
    unknown = client.post(f"/console/cases/{first.id}/merge", data={"csrf_token": csrf, "into_ref": "nope"})
    assert unknown.status_code == 404
