"""Template messages: sent with a client_msg_id, recorded by WeChat's msgid, TEMPLATESENDJOBFINISH applied."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories import Tenant
from tests.wechat.fake_api import FakeWeChat
from tests.wechat.helpers import citizen
from wenzheng import db as wz_db
from wenzheng.channels.wechat import outbound
from wenzheng.channels.wechat.errors import WeChatApiError
from wenzheng.messages.models import Message

OPENID = "o6_bmjrPTlm6_2sgVt7hMZOPfL2M"
TEMPLATE = "/cgi-bin/message/template/send"
DATA = {"thing1": "道路坑洼", "time2": "2024-06-12 10:00"}


@pytest.fixture
def session() -> Iterator[Session]:
    with wz_db.session_factory()() as session:
        yield session


def sent_template(session: Session, tenant: Tenant, **options: str) -> Message:
    message = outbound.send_template_message(session, tenant.account, OPENID, "TPL_CASE_UPDATE", DATA, **options)
    session.commit()
    return message


def rows(db: Session) -> list[Message]:
    query = select(Message).where(Message.direction == "out").execution_options(populate_existing=True)
    return list(db.scalars(query.order_by(Message.id)))


def test_a_template_message_is_sent_and_recorded_by_its_msgid(
    db: Session, session: Session, tenant: Tenant, wechat: FakeWeChat
) -> None:
    citizen_id = citizen(db, tenant.account, OPENID)

    message = sent_template(session, tenant, url="https://gov.example/requests/SR-1", client_msg_id="case-1-closed")

    [call] = wechat.calls(TEMPLATE)
    assert json.loads(call.body) == {
        "touser": OPENID,
        "template_id": "TPL_CASE_UPDATE",
        "client_msg_id": "case-1-closed",
        "data": {"thing1": {"value": "道路坑洼"}, "time2": {"value": "2024-06-12 10:00"}},
        "url": "https://gov.example/requests/SR-1",
    }
    msgid = wechat.templates_by_client_id["case-1-closed"]
    [row] = rows(db)
    assert row.id == message.id
    assert (row.kind, row.status, row.citizen_id) == ("template", "sent", citizen_id)
    assert row.channel_message_id == f"tpl:{msgid}"
    assert row.payload["client_msg_id"] == "case-1-closed"


def test_sending_again_with_the_same_client_msg_id_records_one_message(
    db: Session, session: Session, tenant: Tenant, wechat: FakeWeChat
) -> None:
    first = sent_template(session, tenant, client_msg_id="case-2-closed")
    again = sent_template(session, tenant, client_msg_id="case-2-closed")

    assert again.id == first.id
    assert len(rows(db)) == 1
    assert wechat.count(TEMPLATE) == 2


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("success", ("delivered", None)),
        ("failed:user block", ("failed", "wechat_user_block")),
        ("failed: system failed", ("failed", "wechat_system_failed")),
    ],
)
def test_templatesendjobfinish_marks_the_message(
    db: Session, session: Session, tenant: Tenant, wechat: FakeWeChat, status: str, expected: tuple[str, str | None]
) -> None:
    sent_template(session, tenant, client_msg_id="case-3")
    msgid = str(wechat.templates_by_client_id["case-3"])

    assert outbound.record_template_send_finished(session, tenant.account, msgid, status) is not None
    assert outbound.record_template_send_finished(session, tenant.account, "123456789", "success") is None
    session.commit()

    [row] = rows(db)
    assert (row.status, row.error_code) == expected
    assert row.payload["delivery_status"] == status


def test_a_refused_template_send_is_recorded_as_failed(
    db: Session, session: Session, tenant: Tenant, wechat: FakeWeChat
) -> None:
    wechat.fail(TEMPLATE, 40037)  # invalid template_id

    with pytest.raises(WeChatApiError) as raised:
        sent_template(session, tenant)
    session.commit()

    assert raised.value.errcode == 40037
    [row] = rows(db)
    assert (row.status, row.error_code, row.sent_at) == ("failed", "wechat_api_error", None)
