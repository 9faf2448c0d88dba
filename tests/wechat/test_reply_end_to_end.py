"""End to end: a citizen writes on WeChat, an operator answers from the console, and the answer reaches
WeChat's customer-service API (the local server speaking its contract) within the reply window."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories import Tenant, login
from tests.wechat.fake_api import FakeWeChat
from wenzheng.cases.models import Case
from wenzheng.channels.wechat.simulate import Credentials, signed_push, text_xml
from wenzheng.messages.models import Direction, Message


def test_an_operator_answers_on_wechat(client: TestClient, db: Session, tenant: Tenant, wechat: FakeWeChat) -> None:
    query, body = signed_push(
        Credentials(token="tokentoken"), text_xml("水什么时候恢复？", openid="o_e2e", msg_id=77), encrypt=False
    )
    assert client.post(f"/wechat/{tenant.account.slug}?{query}", content=body).status_code == 200
    message = db.execute(select(Message).where(Message.direction == Direction.INBOUND)).scalar_one()
    login(client, tenant.operator.username)
    page = client.get(f"/console/messages/{message.id}").text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    response = client.post(
        f"/console/messages/{message.id}/reply",
        data={"csrf_token": csrf, "text": "预计今晚八点恢复供水。", "channel": "wechat"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    sent = wechat.calls("/cgi-bin/message/custom/send")
    assert [(c.json["touser"], c.json["text"]["content"]) for c in sent] == [("o_e2e", "预计今晚八点恢复供水。")]
    answer = db.execute(select(Message).where(Message.direction == Direction.OUTBOUND)).scalar_one()
    assert answer.status == "sent" and answer.parent_id == message.id


def test_a_wechat_answer_refused_when_its_job_runs_reopens_the_case(
    client: TestClient, db: Session, tenant: Tenant, wechat: FakeWeChat
) -> None:
    query, body = signed_push(
        Credentials(token="tokentoken"), text_xml("桥被冲断了，村里出不去", openid="o_cut", msg_id=91), encrypt=False
    )
    assert client.post(f"/wechat/{tenant.account.slug}?{query}", content=body).status_code == 200
    message = db.execute(select(Message).where(Message.direction == Direction.INBOUND)).scalar_one()
    assert message.case_id is not None, "triage should have opened a case"
    wechat.fail("/cgi-bin/message/custom/send", 45015)  # the window closed before the job ran (an unfollow, say)
    _answer(client, tenant, message, "救援队正在赶往。")
    answer, copy = _outbound(db)
    assert (answer.status, answer.error_code) == ("failed", "wechat_outside_window")
    assert (copy.channel, copy.status, copy.text) == ("web", "sent", "救援队正在赶往。")  # on the status page
    assert _case_state(db, message) == "in_progress"
    assert 'id="undelivered"' in client.get(f"/console/cases/{message.case_id}").text

    _answer(client, tenant, message, "救援队正在赶往，请保持电话畅通。")
    sent = wechat.calls("/cgi-bin/message/custom/send")
    assert sent[-1].json == {
        "touser": "o_cut",
        "msgtype": "text",
        "text": {"content": "救援队正在赶往，请保持电话畅通。"},
    }
    assert _case_state(db, message) == "answered"
    assert 'id="undelivered"' not in client.get(f"/console/cases/{message.case_id}").text


def _answer(client: TestClient, tenant: Tenant, message: Message, text: str) -> None:
    login(client, tenant.operator.username)
    page = client.get(f"/console/messages/{message.id}").text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    response = client.post(
        f"/console/messages/{message.id}/reply",
        data={"csrf_token": csrf, "text": text, "channel": "wechat"},
        follow_redirects=False,
    )
    assert response.status_code == 303


def _outbound(db: Session) -> list[Message]:
    query = select(Message).where(Message.direction == Direction.OUTBOUND).order_by(Message.id)
    return list(db.execute(query).scalars())


def _case_state(db: Session, message: Message) -> str:
    db.expire_all()
    return db.get_one(Case, message.case_id).state
