"""Customer-service messages: our own check of the 48-hour window and its quota, WeChat's 45015 / 45047 as
typed errors, and a Message row for every attempt."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories import SYSTEM, Tenant
from tests.jobs.taskdefs import jobs_inline
from tests.wechat.fake_api import FakeWeChat
from tests.wechat.helpers import citizen, inbound
from wenzheng import db as wz_db
from wenzheng.audit.actions import record_audit
from wenzheng.channels.wechat import outbound
from wenzheng.channels.wechat.errors import OutsideReplyWindow, ReplyQuotaExhausted, WeChatApiError
from wenzheng.channels.wechat.outbound import Article
from wenzheng.db import utcnow
from wenzheng.followers.models import Follower, FollowerState
from wenzheng.jobs.models import Job
from wenzheng.jobs.worker import run_until_idle
from wenzheng.messages.models import Message

OPENID = "o6_bmjrPTlm6_2sgVt7hMZOPfL2M"
SEND = "/cgi-bin/message/custom/send"


@pytest.fixture
def session() -> Iterator[Session]:
    """The session the code under test works in, as a request handler's would be."""
    with wz_db.session_factory()() as session:
        yield session


@pytest.fixture
def citizen_id(db: Session, tenant: Tenant) -> int:
    return citizen(db, tenant.account, OPENID)


def outbound_rows(db: Session, tenant: Tenant) -> list[Message]:
    query = select(Message).where(Message.account_id == tenant.account.id, Message.direction == "out")
    return list(db.scalars(query.order_by(Message.id)))


def send_text(session: Session, tenant: Tenant, text: str = "您的求助已受理") -> Message:
    """Send and commit, keeping the record whether the send succeeded or failed."""
    try:
        return outbound.send_text(session, tenant.account, OPENID, text)
    finally:
        session.commit()


def test_a_reply_within_the_window_is_sent_as_utf8_json_and_recorded(
    db: Session, session: Session, tenant: Tenant, wechat: FakeWeChat, citizen_id: int
) -> None:
    inbound(db, tenant.account, citizen_id, ago=dt.timedelta(hours=47))

    message = send_text(session, tenant, "您的求助 SR-1 已受理")

    [call] = wechat.calls(SEND)
    assert "您的求助 SR-1 已受理".encode() in call.body  # Chinese as-is, not \u-escaped
    assert json.loads(call.body) == {"touser": OPENID, "msgtype": "text", "text": {"content": "您的求助 SR-1 已受理"}}
    [row] = outbound_rows(db, tenant)
    assert row.id == message.id
    assert (row.status, row.error_code, row.channel, row.kind) == ("sent", None, "wechat", "text")
    assert row.citizen_id == citizen_id
    assert row.text == "您的求助 SR-1 已受理"
    assert row.sent_at is not None


def test_no_message_from_the_citizen_means_no_reply_and_no_call(
    db: Session, session: Session, tenant: Tenant, wechat: FakeWeChat, citizen_id: int
) -> None:
    with pytest.raises(OutsideReplyWindow) as raised:
        send_text(session, tenant)

    assert wechat.count(SEND) == 0
    assert raised.value.code == "wechat_outside_window"
    assert raised.value.status == 409
    assert raised.value.message == "Outside WeChat's 48-hour reply window — reply by SMS or through the status link."
    assert raised.value.errcode is None  # our own check, not WeChat's answer
    [row] = outbound_rows(db, tenant)
    assert (row.status, row.error_code, row.sent_at) == ("failed", "wechat_outside_window", None)


def test_the_window_closes_48_hours_after_the_citizens_last_message(
    db: Session, session: Session, tenant: Tenant, wechat: FakeWeChat, citizen_id: int
) -> None:
    inbound(db, tenant.account, citizen_id, ago=dt.timedelta(hours=48, minutes=1))

    with pytest.raises(OutsideReplyWindow):
        send_text(session, tenant)
    assert wechat.count(SEND) == 0

    inbound(db, tenant.account, citizen_id, ago=dt.timedelta(minutes=5))
    send_text(session, tenant)
    assert wechat.count(SEND) == 1


def test_five_replies_per_message_then_the_quota_is_exhausted_until_the_citizen_writes_again(
    db: Session, session: Session, tenant: Tenant, wechat: FakeWeChat, citizen_id: int
) -> None:
    inbound(db, tenant.account, citizen_id, ago=dt.timedelta(hours=1))
    for n in range(5):
        send_text(session, tenant, f"第{n + 1}条")
    assert outbound.reply_window(session, tenant.account, OPENID).remaining == 0

    with pytest.raises(ReplyQuotaExhausted) as raised:
        send_text(session, tenant, "第6条")

    assert wechat.count(SEND) == 5
    assert raised.value.code == "wechat_reply_quota_exhausted"
    assert raised.value.status == 429
    assert "reply by SMS or through the status link" in raised.value.message
    assert [row.status for row in outbound_rows(db, tenant)] == ["sent"] * 5 + ["failed"]

    inbound(db, tenant.account, citizen_id)
    wechat.custom_used[OPENID] = 0  # WeChat, too, saw the new message
    send_text(session, tenant, "新的一条")
    assert wechat.count(SEND) == 6


def test_failed_replies_do_not_use_up_the_quota(
    db: Session, session: Session, tenant: Tenant, wechat: FakeWeChat, citizen_id: int
) -> None:
    inbound(db, tenant.account, citizen_id)
    wechat.fail(SEND, -1, -1)
    for _ in range(2):
        with pytest.raises(WeChatApiError):
            send_text(session, tenant)

    window = outbound.reply_window(session, tenant.account, OPENID)
    assert (window.allowed, window.used) == (5, 0)


def test_a_subscribe_opens_one_minute_for_three_replies(
    db: Session, session: Session, tenant: Tenant, wechat: FakeWeChat, citizen_id: int
) -> None:
    inbound(db, tenant.account, citizen_id, kind="event", event="subscribe", ago=dt.timedelta(seconds=10))
    for _ in range(3):
        send_text(session, tenant)
    with pytest.raises(ReplyQuotaExhausted):
        send_text(session, tenant)
    assert wechat.count(SEND) == 3


def test_an_old_subscribe_or_a_view_event_opens_no_window(
    db: Session, session: Session, tenant: Tenant, wechat: FakeWeChat, citizen_id: int
) -> None:
    inbound(db, tenant.account, citizen_id, kind="event", event="subscribe", ago=dt.timedelta(minutes=2))
    inbound(db, tenant.account, citizen_id, kind="event", event="view")
    with pytest.raises(OutsideReplyWindow):
        send_text(session, tenant)
    assert wechat.count(SEND) == 0


def test_a_citizen_who_unfollowed_gets_no_reply(
    db: Session, session: Session, tenant: Tenant, wechat: FakeWeChat, citizen_id: int
) -> None:
    inbound(db, tenant.account, citizen_id)
    db.add(
        Follower(
            agency_id=tenant.agency.id,
            account_id=tenant.account.id,
            citizen_id=citizen_id,
            channel="wechat",
            handle=OPENID,
            state=FollowerState.UNFOLLOWED,
        )
    )
    record_audit(db, SYSTEM, "test:follower:create", agency_id=tenant.agency.id, subject_type="x", subject_id=None)
    db.commit()

    with pytest.raises(OutsideReplyWindow):
        send_text(session, tenant)
    assert wechat.count(SEND) == 0


def test_wechats_45015_becomes_the_outside_window_error(
    db: Session, session: Session, tenant: Tenant, wechat: FakeWeChat, citizen_id: int
) -> None:
    inbound(db, tenant.account, citizen_id)
    wechat.closed_windows.add(OPENID)  # WeChat knows better than our records (say, an unfollow we missed)

    with pytest.raises(OutsideReplyWindow) as raised:
        send_text(session, tenant)

    assert wechat.count(SEND) == 1
    assert raised.value.errcode == 45015
    assert raised.value.code == "wechat_outside_window"
    assert raised.value.details == {
        "errcode": 45015,
        "errmsg": "response out of time limit or subscription is canceled",
    }
    [row] = outbound_rows(db, tenant)
    assert (row.status, row.error_code) == ("failed", "wechat_outside_window")


def test_wechats_45047_becomes_the_quota_error(
    db: Session, session: Session, tenant: Tenant, wechat: FakeWeChat, citizen_id: int
) -> None:
    inbound(db, tenant.account, citizen_id)
    wechat.custom_used[OPENID] = 5  # sent by someone else: WeChat's own console, another system

    with pytest.raises(ReplyQuotaExhausted) as raised:
        send_text(session, tenant)

    assert raised.value.errcode == 45047
    assert raised.value.code == "wechat_reply_quota_exhausted"
    [row] = outbound_rows(db, tenant)
    assert (row.status, row.error_code) == ("failed", "wechat_reply_quota_exhausted")


def test_an_unknown_errcode_is_a_generic_api_error_with_wechats_words(
    db: Session, session: Session, tenant: Tenant, wechat: FakeWeChat, citizen_id: int
) -> None:
    inbound(db, tenant.account, citizen_id)
    wechat.fail(SEND, 48001)

    with pytest.raises(WeChatApiError) as raised:
        send_text(session, tenant)

    assert type(raised.value) is WeChatApiError
    assert (raised.value.code, raised.value.errcode) == ("wechat_api_error", 48001)
    assert "48001" in raised.value.message
    assert outbound_rows(db, tenant)[0].error_code == "wechat_api_error"


def test_image_and_news_messages(
    db: Session, session: Session, tenant: Tenant, wechat: FakeWeChat, citizen_id: int
) -> None:
    inbound(db, tenant.account, citizen_id)
    media = outbound.upload_media(session, tenant.account, "image", "map.png", b"\x89PNG fake", "image/png")
    outbound.send_image(session, tenant.account, OPENID, media.media_id)
    article = Article(title="停水通知", description="明日 8:00-12:00", url="https://gov.example/n/1", picurl="")
    outbound.send_news(session, tenant.account, OPENID, article)
    session.commit()

    image, news = (json.loads(call.body) for call in wechat.calls(SEND))
    assert image == {"touser": OPENID, "msgtype": "image", "image": {"media_id": media.media_id}}
    assert news["msgtype"] == "news"
    assert news["news"]["articles"] == [
        {"title": "停水通知", "description": "明日 8:00-12:00", "url": "https://gov.example/n/1", "picurl": ""}
    ]
    assert [(row.kind, row.status) for row in outbound_rows(db, tenant)] == [("image", "sent"), ("news", "sent")]


def queue_text(session: Session, tenant: Tenant, text: str = "您的求助已办结") -> Message:
    """Queue a reply as a case action would, and commit: inline mode runs wechat.send_custom then."""
    try:
        return outbound.queue_custom_message(session, tenant.account, OPENID, "text", {"content": text}, text=text)
    finally:
        session.commit()


def send_jobs(db: Session) -> list[tuple[str, int]]:
    jobs = db.scalars(select(Job).where(Job.task == "wechat.send_custom").order_by(Job.id))
    return [(job.state, job.attempts) for job in jobs]


def test_a_queued_reply_is_sent_by_its_job(
    db: Session, session: Session, tenant: Tenant, wechat: FakeWeChat, citizen_id: int
) -> None:
    inbound(db, tenant.account, citizen_id)

    queued = queue_text(session, tenant)

    [call] = wechat.calls(SEND)
    assert json.loads(call.body) == {"touser": OPENID, "msgtype": "text", "text": {"content": "您的求助已办结"}}
    [row] = outbound_rows(db, tenant)
    assert (row.id, row.status, row.error_code) == (queued.id, "sent", None)
    assert send_jobs(db) == [("done", 0)]


def test_queued_replies_count_against_the_quota_before_they_are_sent(
    db: Session, session: Session, tenant: Tenant, wechat: FakeWeChat, citizen_id: int
) -> None:
    inbound(db, tenant.account, citizen_id)
    with jobs_inline(False):
        for _ in range(5):
            queue_text(session, tenant)
        with pytest.raises(ReplyQuotaExhausted):
            queue_text(session, tenant)

    assert [row.status for row in outbound_rows(db, tenant)] == ["queued"] * 5 + ["failed"]
    run_until_idle(wz_db.session_factory(), "test")
    assert [row.status for row in outbound_rows(db, tenant)] == ["sent"] * 5 + ["failed"]
    assert wechat.count(SEND) == 5


def test_a_queued_reply_wechat_refuses_is_marked_failed_and_not_retried(
    db: Session, session: Session, tenant: Tenant, wechat: FakeWeChat, citizen_id: int
) -> None:
    inbound(db, tenant.account, citizen_id)
    wechat.closed_windows.add(OPENID)

    queue_text(session, tenant)

    [row] = outbound_rows(db, tenant)
    assert (row.status, row.error_code) == ("failed", "wechat_outside_window")
    assert send_jobs(db) == [("done", 0)]


def test_a_queued_reply_is_retried_while_wechat_is_busy_and_sent_once(
    db: Session, session: Session, tenant: Tenant, wechat: FakeWeChat, citizen_id: int
) -> None:
    inbound(db, tenant.account, citizen_id)
    wechat.fail(SEND, -1)

    queue_text(session, tenant)

    assert outbound_rows(db, tenant)[0].status == "queued"
    assert send_jobs(db) == [("queued", 1)]
    run_until_idle(wz_db.session_factory(), "test", now=utcnow() + dt.timedelta(hours=1))
    assert outbound_rows(db, tenant)[0].status == "sent"
    assert send_jobs(db) == [("done", 1)]
    assert wechat.custom_used[OPENID] == 1
