"""SMS through the gateway's signed webhooks: intake, follow keywords, replies by SMS, receipts, bad input."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.factories import SYSTEM, create_tenant
from tests.sms.conftest import Gateway
from wenzheng.channels.sms.actions import do_set_sms_number
from wenzheng.channels.sms.gateway import sign
from wenzheng.channels.sms.segments import measure
from wenzheng.citizens.models import CitizenHandle
from wenzheng.followers.models import Follower
from wenzheng.jobs.models import Job
from wenzheng.messages.models import Message

NUMBER = "12345"


def _setup(db: Session) -> None:
    tenant = create_tenant(db, "s")
    do_set_sms_number(db, SYSTEM, tenant.account, number=NUMBER)


def post_form(client: TestClient, fields: dict[str, str], *, path: str = "/sms/inbound", signature: str | None = None):  # type: ignore[no-untyped-def]
    body = urlencode(fields).encode()
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Wenzheng-Signature": signature if signature is not None else sign(body),
    }
    return client.post(path, content=body, headers=headers)


def inbound(client: TestClient, text: str, *, sender: str = "13800138000", msg_id: str = "m-1"):  # type: ignore[no-untyped-def]
    return post_form(client, {"From": sender, "To": NUMBER, "Body": text, "MessageId": msg_id})


def messages(db: Session, direction: str) -> list[Message]:
    return list(db.execute(select(Message).where(Message.direction == direction).order_by(Message.id)).scalars())


def test_an_sms_is_stored_and_answered_by_sms(client: TestClient, db: Session, gateway: Gateway) -> None:
    _setup(db)
    response = inbound(client, "雅安市石棉县的桥断了，有人受伤")
    assert response.status_code == 200
    ref = response.json()["ref"]
    stored = messages(db, "in")
    assert [m.text for m in stored] == ["雅安市石棉县的桥断了，有人受伤"]
    handle = db.execute(select(CitizenHandle.channel, CitizenHandle.handle)).one()
    assert tuple(handle) == ("phone", "+8613800138000")
    assert gateway.sent[0]["to"] == "+8613800138000" and gateway.sent[0]["from"] == NUMBER
    assert ref in gateway.sent[0]["text"]
    assert gateway.authorizations == ["Bearer gateway-key-for-tests"]
    reply = messages(db, "out")[0]
    assert reply.status == "sent" and reply.channel_message_id.startswith("gw-")
    assert reply.payload["encoding"] == "UCS-2" and reply.payload["segments"] == measure(reply.text).segments


def test_a_retried_webhook_is_stored_and_answered_once(client: TestClient, db: Session, gateway: Gateway) -> None:
    _setup(db)
    first = inbound(client, "路灯不亮", msg_id="m-dup")
    again = inbound(client, "路灯不亮", msg_id="m-dup")
    assert first.json()["ref"] == again.json()["ref"] and again.json()["duplicate"] is True
    assert len(messages(db, "in")) == 1 and len(gateway.sent) == 1


def test_json_webhooks_are_accepted(client: TestClient, db: Session, gateway: Gateway) -> None:
    _setup(db)
    body = json.dumps({"From": "+8613900139000", "To": NUMBER, "Body": "咨询低保", "MessageId": "j-1"}).encode()
    response = client.post(
        "/sms/inbound", content=body, headers={"Content-Type": "application/json", "X-Wenzheng-Signature": sign(body)}
    )
    assert response.status_code == 200 and messages(db, "in")[0].text == "咨询低保"


def test_follow_and_unfollow_keywords(client: TestClient, db: Session, gateway: Gateway) -> None:
    _setup(db)
    inbound(client, "关注", msg_id="f-1")
    follower = db.execute(select(Follower)).scalar_one()
    assert (follower.channel, follower.handle, follower.state) == ("sms", "+8613800138000", "following")
    assert "您已关注" in gateway.sent[-1]["text"]
    inbound(client, "STOP", msg_id="f-2")
    db.refresh(follower)
    assert follower.state == "unfollowed" and "您已退订" in gateway.sent[-1]["text"]


def test_gateway_trouble_is_retried_with_backoff(client: TestClient, db: Session, gateway: Gateway) -> None:
    _setup(db)
    gateway.failures_left = 1
    inbound(client, "水管爆裂")
    reply = messages(db, "out")[0]
    assert reply.status == "queued" and gateway.sent == []
    job = db.execute(select(Job).where(Job.task == "sms.send")).scalar_one()
    assert job.attempts == 1 and job.state == "queued" and "HTTP 503" in (job.last_error or "")


def test_delivery_receipts_are_recorded(client: TestClient, db: Session, gateway: Gateway) -> None:
    _setup(db)
    inbound(client, "测试回执")
    gateway_id = messages(db, "out")[0].channel_message_id
    assert gateway_id.startswith("gw-")
    receipt = post_form(client, {"id": gateway_id, "status": "failed", "error_code": "UNDELIV"}, path="/sms/receipts")
    assert receipt.json() == {"ok": True, "known": True}
    reply = messages(db, "out")[0]
    assert (reply.status, reply.error_code) == ("failed", "UNDELIV")
    assert post_form(client, {"id": "gw-999", "status": "delivered"}, path="/sms/receipts").json()["known"] is False


@pytest.mark.parametrize(
    ("fields", "signature", "status", "code"),
    [
        (
            {"From": "13800138000", "To": NUMBER, "Body": "x", "MessageId": "a"},
            "sha256=" + "0" * 64,
            403,
            "bad_signature",
        ),
        ({"From": "13800138000", "To": NUMBER, "Body": "x", "MessageId": "a"}, "", 403, "bad_signature"),
        ({"From": "not-a-phone", "To": NUMBER, "Body": "x", "MessageId": "a"}, None, 422, "invalid_phone"),
        ({"From": "13800138000", "To": "99999", "Body": "x", "MessageId": "a"}, None, 404, "unknown_number"),
        ({"From": "13800138000", "To": NUMBER, "Body": "x"}, None, 422, "missing_message_id"),
    ],
)
def test_bad_webhooks_store_nothing(
    client: TestClient,
    db: Session,
    gateway: Gateway,
    fields: dict[str, str],
    signature: str | None,
    status: int,
    code: str,
) -> None:
    _setup(db)
    response = post_form(client, fields, signature=signature)
    assert response.status_code == status and response.json()["error"]["code"] == code
    assert db.execute(select(func.count()).select_from(Message)).scalar_one() == 0


def test_invalid_utf8_and_wrong_content_types_are_refused(client: TestClient, db: Session, gateway: Gateway) -> None:
    _setup(db)
    body = b"From=138&Body=\xff\xfe"
    bad = client.post(
        "/sms/inbound",
        content=body,
        headers={"Content-Type": "application/x-www-form-urlencoded", "X-Wenzheng-Signature": sign(body)},
    )
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_utf8"
    xml = b"<sms/>"
    wrong = client.post(
        "/sms/inbound", content=xml, headers={"Content-Type": "text/xml", "X-Wenzheng-Signature": sign(xml)}
    )
    assert wrong.status_code == 400 and wrong.json()["error"]["code"] == "unsupported_media_type"


@pytest.mark.parametrize(
    ("text", "encoding", "segments"),
    [
        ("a" * 160, "GSM-7", 1),
        ("a" * 161, "GSM-7", 2),
        ("€" * 80, "GSM-7", 1),
        ("€" * 81, "GSM-7", 2),
        ("救" * 70, "UCS-2", 1),
        ("救" * 71, "UCS-2", 2),
        ("救" * 134, "UCS-2", 2),
        ("😀" * 35, "UCS-2", 1),
        ("😀" * 36, "UCS-2", 2),
        ("", "GSM-7", 1),
    ],
)
def test_segments_are_counted_as_gateways_bill_them(text: str, encoding: str, segments: int) -> None:
    length = measure(text)
    assert (length.encoding, length.segments) == (encoding, segments)
