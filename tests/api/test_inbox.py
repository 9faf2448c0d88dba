"""Staff read what citizens sent: masked contact data for viewers, full for operators, every unmasked view audited."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.citizen.test_web_page import jpeg_with_gps, send
from tests.factories import SYSTEM, create_tenant, create_user, login
from wenzheng.audit.models import AuditEvent
from wenzheng.channels.sms.actions import do_set_sms_number
from wenzheng.channels.sms.gateway import sign
from wenzheng.messages.models import Attachment, Message
from wenzheng.staff.roles import Role


def _arrange(client: TestClient, db: Session):  # type: ignore[no-untyped-def]
    tenant = create_tenant(db, "i")
    do_set_sms_number(db, SYSTEM, tenant.account, number="12345")
    body = urlencode({"From": "13800138000", "To": "12345", "Body": "短信：桥塌了", "MessageId": "i-1"}).encode()
    client.post(
        "/sms/inbound",
        content=body,
        headers={"Content-Type": "application/x-www-form-urlencoded", "X-Wenzheng-Signature": sign(body)},
    )
    send(client, tenant.account.slug, text="网页：附照片", phone="13800138000", photo=jpeg_with_gps())
    return tenant


def _personal_views(db: Session) -> list[AuditEvent]:
    return list(db.execute(select(AuditEvent).where(AuditEvent.action.like("%view_personal_data"))).scalars())


def test_operators_see_numbers_and_their_view_is_audited(client: TestClient, db: Session) -> None:
    tenant = _arrange(client, db)
    login(client, tenant.operator.username)
    page = client.get(f"/console/accounts/{tenant.account.id}/messages")
    assert "短信：桥塌了" in page.text and "网页：附照片" in page.text
    assert "+8613800138000" in page.text
    views = _personal_views(db)
    assert [e.actor_user_id for e in views] == [tenant.operator.id]


def test_viewers_see_masked_numbers_and_nothing_personal_is_audited(client: TestClient, db: Session) -> None:
    tenant = _arrange(client, db)
    viewer = create_user(db, tenant.agency, Role.VIEWER)
    login(client, viewer.username)
    page = client.get(f"/console/accounts/{tenant.account.id}/messages")
    assert "+8613800138000" not in page.text and "+86138****8000" in page.text
    assert _personal_views(db) == []


def test_one_citizen_across_channels_is_shown_together(client: TestClient, db: Session) -> None:
    tenant = _arrange(client, db)
    login(client, tenant.operator.username)
    sms = select(Message.citizen_id).where(Message.channel == "sms", Message.direction == "in")
    citizen_id = db.execute(sms).scalar_one()
    page = client.get(f"/console/citizens/{citizen_id}")
    assert "短信：桥塌了" in page.text and "网页：附照片" in page.text


def test_photos_are_served_to_staff_and_each_view_is_audited(client: TestClient, db: Session) -> None:
    tenant = _arrange(client, db)
    attachment = db.execute(select(Attachment)).scalar_one()
    assert client.get(f"/console/attachments/{attachment.id}", follow_redirects=False).status_code == 303
    login(client, tenant.operator.username)
    message_page = client.get(f"/console/messages/{attachment.message_id}")
    assert f"/console/attachments/{attachment.id}" in message_page.text
    photo = client.get(f"/console/attachments/{attachment.id}")
    assert photo.status_code == 200 and photo.headers["content-type"] == "image/jpeg"
    assert photo.content[:2] == b"\xff\xd8"
    assert db.execute(select(AuditEvent).where(AuditEvent.action == "console:attachment:view")).scalar_one()


def test_search_and_channel_filter(client: TestClient, db: Session) -> None:
    tenant = _arrange(client, db)
    login(client, tenant.operator.username)
    only_sms = client.get(f"/console/accounts/{tenant.account.id}/messages?channel=sms")
    assert "短信：桥塌了" in only_sms.text and "网页：附照片" not in only_sms.text
    searched = client.get(f"/console/accounts/{tenant.account.id}/messages?q=照片")
    assert "网页：附照片" in searched.text and "短信：桥塌了" not in searched.text
