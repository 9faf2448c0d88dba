"""An answer that does not reach the citizen says so, and does not leave its case counted as answered.

SMS through the local gateway (which can be told to fail); the answers are sent from the console, as an operator
sends them. The WeChat side is in tests/wechat/test_reply_end_to_end.py.
"""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories import SYSTEM, Tenant, create_tenant, login, run_until_dead
from tests.sms.conftest import Gateway
from tests.sms.test_sms import NUMBER, inbound, post_form
from wenzheng import db as wz_db
from wenzheng.audit.models import AuditEvent
from wenzheng.cases.models import Case
from wenzheng.channels.sms.actions import do_set_sms_number
from wenzheng.jobs.actions import do_retry_job
from wenzheng.jobs.models import Job
from wenzheng.messages.delivery import GAVE_UP
from wenzheng.messages.models import Direction, Message


def _sms_tenant(db: Session) -> Tenant:
    tenant = create_tenant(db, "d")
    do_set_sms_number(db, SYSTEM, tenant.account, number=NUMBER)
    return tenant


def _citizen_writes_by_sms(client: TestClient, db: Session, text: str) -> Message:
    assert inbound(client, text).status_code == 200
    message = db.execute(select(Message).where(Message.direction == Direction.INBOUND)).scalar_one()
    assert message.case_id is not None, "triage should have opened a case"
    return message


def _answer(client: TestClient, tenant: Tenant, message: Message, text: str, channel: str) -> None:
    login(client, tenant.operator.username)
    page = client.get(f"/console/messages/{message.id}").text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    response = client.post(
        f"/console/messages/{message.id}/reply",
        data={"csrf_token": csrf, "text": text, "channel": channel},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text


def _answers(db: Session) -> list[Message]:
    query = select(Message).where(Message.direction == Direction.OUTBOUND).order_by(Message.id)
    return [m for m in db.execute(query).scalars() if (m.payload or {}).get("purpose") == "reply"]


def _case(db: Session, message: Message) -> Case:
    db.expire_all()
    return db.get_one(Case, message.case_id)


def _audited(db: Session, action: str) -> list[AuditEvent]:
    return list(db.execute(select(AuditEvent).where(AuditEvent.action == action)).scalars())


def test_an_sms_answer_the_gateway_never_takes_reopens_its_case_until_a_retry_sends_it(
    client: TestClient, db: Session, gateway: Gateway
) -> None:
    tenant = _sms_tenant(db)
    message = _citizen_writes_by_sms(client, db, "小区停水三天了，家里有老人，什么时候来水？")
    gateway.failures_left = 1000
    _answer(client, tenant, message, "已通知水务公司，今晚恢复供水。", "sms")
    (answer,) = _answers(db)
    assert answer.status == "queued" and _case(db, message).state == "answered"
    job = db.execute(select(Job).where(Job.task == "sms.send").order_by(Job.id.desc()).limit(1)).scalar_one()

    run_until_dead(job.id)

    db.expire_all()
    answer = db.get_one(Message, answer.id)
    assert (answer.status, answer.error_code) == ("failed", GAVE_UP)
    assert _case(db, message).state == "in_progress"  # back on the operators' lists, its time limit running
    copies = db.execute(select(Message).where(Message.channel == "web", Message.direction == Direction.OUTBOUND))
    (copy,) = copies.scalars()
    assert (copy.text, copy.status, copy.payload) == (answer.text, "sent", {"purpose": "copy", "copy_of": answer.id})
    (reopened,) = _audited(db, "worker:case:answer_undelivered")
    assert reopened.subject_id == message.case_id and reopened.data["channel"] == "sms"
    case_page = client.get(f"/console/cases/{message.case_id}").text
    assert 'id="undelivered"' in case_page and "答复未送达市民" in case_page
    message_page = client.get(f"/console/messages/{message.id}").text
    assert (
        'data-code="delivery_gave_up"' in message_page
        and "多次重试仍未发出" in message_page
        and "<code>delivery_gave_up</code>" in message_page
    )
    assert 'data-status="failed"' in message_page and "未送达" in message_page

    gateway.failures_left = 0
    with wz_db.session_factory()() as session:
        do_retry_job(session, SYSTEM, session.get_one(Job, job.id))  # runs inline after its commit in tests
    db.expire_all()
    assert db.get_one(Message, answer.id).status == "sent"
    assert gateway.sent[-1]["text"] == "已通知水务公司，今晚恢复供水。"
    assert _case(db, message).state == "answered"
    assert len(_audited(db, "worker:case:answer_delivered")) == 1
    assert 'id="undelivered"' not in client.get(f"/console/cases/{message.case_id}").text


def test_an_undelivered_receipt_reopens_the_case_unless_another_answer_reached_the_citizen(
    client: TestClient, db: Session, gateway: Gateway
) -> None:
    tenant = _sms_tenant(db)
    message = _citizen_writes_by_sms(client, db, "路灯坏了一个月，晚上很危险")
    _answer(client, tenant, message, "已派人维修。", "sms")
    (answer,) = _answers(db)
    receipt = {"id": answer.channel_message_id, "status": "failed", "error_code": "UNDELIV"}
    assert post_form(client, receipt, path="/sms/receipts").status_code == 200
    assert _case(db, message).state == "in_progress"

    _answer(client, tenant, message, "已派人维修，请查看。", "web")  # answered again, on the status page
    assert _case(db, message).state == "answered"
    second = _answers(db)[-1]
    _answer(client, tenant, message, "维修人员明天上午到。", "sms")
    third = _answers(db)[-1]
    assert third.id not in (answer.id, second.id)
    receipt = {"id": third.channel_message_id, "status": "failed"}
    assert post_form(client, receipt, path="/sms/receipts").status_code == 200
    db.expire_all()
    assert db.get_one(Message, third.id).error_code == "undelivered"
    assert _case(db, message).state == "answered"  # the status-page answer still stands
    assert len(_audited(db, "worker:case:answer_undelivered")) == 1


def test_a_failed_notice_that_is_not_an_answer_leaves_the_case_alone(
    client: TestClient, db: Session, gateway: Gateway
) -> None:
    tenant = _sms_tenant(db)
    message = _citizen_writes_by_sms(client, db, "垃圾站臭味很大")
    _answer(client, tenant, message, "已安排清运。", "sms")
    acknowledgement = db.execute(
        select(Message).where(Message.direction == Direction.OUTBOUND).order_by(Message.id).limit(1)
    ).scalar_one()
    assert acknowledgement.payload["purpose"] == "notice"  # the automatic acknowledgement of the SMS
    receipt = {"id": acknowledgement.channel_message_id, "status": "failed", "error_code": "UNDELIV"}
    assert post_form(client, receipt, path="/sms/receipts").status_code == 200
    assert _case(db, message).state == "answered"
    assert _audited(db, "worker:case:answer_undelivered") == []
