"""The bulletin lifecycle and its fan-out to WeChat, SMS and e-mail, against local servers of each contract."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Iterator
from email.header import decode_header, make_header

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.bulletins.conftest import MAIL_ADDRESS, SMS_NUMBER, add_followers, red_alert
from tests.bulletins.push_service import PushService
from tests.email.servers import Sink
from tests.factories import SYSTEM, Tenant
from tests.sms.conftest import Gateway
from tests.wechat.fake_api import FakeWeChat
from wenzheng.audit.actions import record_audit
from wenzheng.bulletins import webpush
from wenzheng.bulletins.actions import (
    Draft,
    do_approve_bulletin,
    do_cancel_bulletin,
    do_create_bulletin,
    do_send_alert_alone,
    do_submit_bulletin,
)
from wenzheng.bulletins.audience import count_audience
from wenzheng.bulletins.fanout import delivery_counts
from wenzheng.bulletins.models import (
    Bulletin,
    BulletinDelivery,
    BulletinFanout,
    BulletinState,
    DeliveryState,
    PushSubscription,
)
from wenzheng.channels.wechat.models import MassSend
from wenzheng.errors import Conflict, Forbidden, InvalidInput, NotFound
from wenzheng.followers.links import unsubscribe_url
from wenzheng.staff.auth import actor_for_user
from wenzheng.staff.models import User

NOTICE = Draft(kind="notice", title="芦山县城区恢复供水", body="今日18时起城区恢复供水，请节约用水。")


def _actor(db: Session, user: User):  # type: ignore[no-untyped-def]
    return actor_for_user(db, user)


def _publish(db: Session, tenant: Tenant, supervisor: User, draft: Draft = NOTICE) -> Bulletin:
    bulletin = do_create_bulletin(db, _actor(db, tenant.operator), tenant.account, draft)
    do_submit_bulletin(db, _actor(db, tenant.operator), bulletin)
    do_approve_bulletin(db, _actor(db, supervisor), bulletin)  # inline jobs: the fan-out runs after the commit
    db.expire_all()
    return db.get_one(Bulletin, bulletin.id)


def test_a_bulletin_reaches_every_follower_on_every_channel(
    db: Session, tenant: Tenant, supervisor: User, wechat: FakeWeChat, gateway: Gateway, mail_sink: Sink
) -> None:
    wx = add_followers(db, tenant, "wechat", 4)
    sms = add_followers(db, tenant, "sms", 3)
    mail = add_followers(db, tenant, "email", 2)

    bulletin = _publish(db, tenant, supervisor)

    assert bulletin.state == BulletinState.SENT
    assert bulletin.audience_count == 9
    assert delivery_counts(db, bulletin.id) == {"wechat": {"sent": 4}, "sms": {"sent": 3}, "email": {"sent": 2}}
    # WeChat: one mass send to everyone (the bulletin goes to all followers), recorded against the quota.
    [call] = wechat.calls("/cgi-bin/message/mass/sendall")
    assert call.json["filter"] == {"is_to_all": True}
    assert "芦山县城区恢复供水" in call.json["text"]["content"]
    assert db.scalar(select(func.count(MassSend.id)).where(MassSend.account_id == tenant.account.id)) == 1
    # SMS: one message per follower, from the account's number, with an idempotency key per delivery.
    assert sorted(m["to"] for m in gateway.sent) == sorted(f.handle for f in sms)
    assert {m["from"] for m in gateway.sent} == {SMS_NUMBER}
    assert gateway.sent[0]["text"].startswith("【bul 公众号】芦山县城区恢复供水：")
    assert len({m["client_ref"] for m in gateway.sent}) == 3
    # E-mail: one mail each, from the account's address.
    for follower in mail:
        [received] = mail_sink.mails_to(follower.handle)
        assert received.mail_from == MAIL_ADDRESS
        assert str(make_header(decode_header(received.message["Subject"]))) == "芦山县城区恢复供水"
        # How to stop: a reply 退订 (the account's mailbox unfollows on it), as a header mail programs offer.
        link = unsubscribe_url(tenant.account.slug, follower.id)
        unsubscribe = "".join(str(received.message["List-Unsubscribe"]).split())  # unfolded
        assert unsubscribe == f"<{link}>,<mailto:{MAIL_ADDRESS}?subject=%E9%80%80%E8%AE%A2>"
        assert received.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        parsed = email.message_from_bytes(received.content, policy=email.policy.default)
        text = parsed.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
        assert "回复本邮件「退订」" in text and link in text
    assert len(wx) == 4


def test_a_narrowed_audience_goes_by_openid_lists_and_only_to_those_it_names(
    db: Session, tenant: Tenant, supervisor: User, wechat: FakeWeChat
) -> None:
    lushan = add_followers(db, tenant, "wechat", 3, region="511826")
    add_followers(db, tenant, "wechat", 2, region="510100")  # Chengdu: outside Ya'an
    tagged = add_followers(db, tenant, "wechat", 1, tags=["qrscene:shelter-3"])
    add_followers(db, tenant, "sms", 2, region="511826")
    draft = Draft(
        kind="notice",
        title="龙门乡安置点",
        body="请到龙门乡中心校安置点领取物资。",
        audience={"regions": ["511800"], "channels": ["wechat"]},
    )
    assert count_audience(db, tenant.account.id, draft.audience) == {"wechat": 3, "total": 3}

    bulletin = _publish(db, tenant, supervisor, draft)

    assert bulletin.state == BulletinState.SENT
    assert not wechat.calls("/cgi-bin/message/mass/sendall")
    [call] = wechat.calls("/cgi-bin/message/mass/send")
    assert sorted(call.json["touser"]) == sorted(f.handle for f in lushan)
    by_tag = count_audience(db, tenant.account.id, {"tags": ["qrscene:shelter-3"]})
    assert by_tag == {"wechat": 1, "total": 1} and tagged[0].tags == ["qrscene:shelter-3"]


def test_wechats_report_of_each_list_send_lands_on_the_bulletin(
    db: Session, tenant: Tenant, supervisor: User, wechat: FakeWeChat
) -> None:
    from wenzheng.bulletins.models import BulletinWeChatReport
    from wenzheng.bulletins.stats import wechat_report
    from wenzheng.channels.wechat import outbound

    add_followers(db, tenant, "wechat", 3, region="511826")
    draft = Draft(kind="notice", title="龙门乡安置点", body="请到中心校领取物资。", audience={"regions": ["511826"]})
    bulletin = _publish(db, tenant, supervisor, draft)
    [call] = wechat.calls("/cgi-bin/message/mass/send")
    [report] = db.scalars(select(BulletinWeChatReport).where(BulletinWeChatReport.bulletin_id == bulletin.id))
    assert report.handed == 3 and report.finished_at is None
    assert wechat_report(db, bulletin.id) == wechat_report_of(sends=1, reported=0, handed=3)

    # WeChat's FilterCount is what is left after its filters (here one follower refuses mass messages).
    finished = {"MsgID": report.msg_id, "Status": "send success", "TotalCount": "3", "FilterCount": "2"}
    outbound.record_mass_send_finished(db, tenant.account, {**finished, "SentCount": "2", "ErrorCount": "0"})
    db.commit()

    assert call.json["clientmsgid"].startswith(f"wz-b{bulletin.id}-")
    assert wechat_report(db, bulletin.id) == wechat_report_of(
        sends=1, reported=1, handed=3, total=3, sent=2, filtered=1
    )
    page = _bulletin_page_text(db, tenant, bulletin.id)
    assert "已回报 1/1 次群发：发送成功 2 / 共 3，被微信过滤 1（拒收群发或本月已收满），失败 0。" in page


def wechat_report_of(**counts: int) -> object:
    from wenzheng.bulletins.stats import WeChatReport

    base = {"sends": 0, "reported": 0, "handed": 0, "total": 0, "sent": 0, "filtered": 0, "errors": 0}
    return WeChatReport(**(base | counts))


def _bulletin_page_text(db: Session, tenant: Tenant, bulletin_id: int) -> str:
    from fastapi.testclient import TestClient

    from tests.factories import login
    from wenzheng.app import create_app

    with TestClient(create_app()) as client:
        login(client, tenant.admin.username)
        return client.get(f"/console/bulletins/{bulletin_id}").text


def test_when_mass_sends_are_spent_wechat_followers_get_it_by_their_other_channel(
    db: Session, tenant: Tenant, supervisor: User, wechat: FakeWeChat, gateway: Gateway
) -> None:
    for n in range(4):  # a service account's four mass sends this month
        db.add(
            MassSend(
                agency_id=tenant.agency.id,
                account_id=tenant.account.id,
                client_msg_id=f"old-{n}",
                msgtype="text",
                state="finished",
            )
        )
    db.commit()
    with_phone = add_followers(db, tenant, "wechat", 2, phone=True)
    without = add_followers(db, tenant, "wechat", 1)

    bulletin = _publish(db, tenant, supervisor)

    assert not wechat.calls("/cgi-bin/message/mass/sendall")
    assert db.get_one(BulletinFanout, bulletin.id).wechat_mode == "fallback"
    rows = {
        d.follower_id: d
        for d in db.scalars(select(BulletinDelivery).where(BulletinDelivery.bulletin_id == bulletin.id))
    }
    assert {rows[f.id].via for f in with_phone} == {"sms_fallback"}
    assert {rows[f.id].state for f in with_phone} == {DeliveryState.SENT}
    assert rows[without[0].id].state == DeliveryState.FAILED
    assert "no other channel" in rows[without[0].id].reason
    assert len(gateway.sent) == 2
    assert bulletin.state == BulletinState.SENT


def test_template_messages_carry_it_when_the_account_has_a_bulletin_template(
    db: Session, tenant: Tenant, supervisor: User, wechat: FakeWeChat
) -> None:
    from wenzheng.channels.wechat.models import WeChatBinding

    binding = db.scalars(select(WeChatBinding)).one()
    binding.bulletin_template_id = "TPL-BULLETIN"
    record_audit(
        db, SYSTEM, "test:wechat_binding:template", agency_id=tenant.agency.id, subject_type="account", subject_id=1
    )
    for n in range(4):
        db.add(
            MassSend(
                agency_id=tenant.agency.id,
                account_id=tenant.account.id,
                client_msg_id=f"t-{n}",
                msgtype="text",
                state="finished",
            )
        )
    db.commit()
    followers = add_followers(db, tenant, "wechat", 3)

    bulletin = _publish(db, tenant, supervisor)

    calls = wechat.calls("/cgi-bin/message/template/send")
    assert sorted(c.json["touser"] for c in calls) == sorted(f.handle for f in followers)
    assert {c.json["template_id"] for c in calls} == {"TPL-BULLETIN"}
    assert len({c.json["client_msg_id"] for c in calls}) == 3
    assert delivery_counts(db, bulletin.id) == {"wechat": {"sent": 3}}


def test_temporary_failures_are_retried_and_permanent_ones_recorded_with_their_reason(
    db: Session, tenant: Tenant, supervisor: User, wechat: FakeWeChat, gateway: Gateway, mail_sink: Sink
) -> None:
    add_followers(db, tenant, "sms", 2)
    [refused] = add_followers(db, tenant, "email", 1)
    mail_sink.refuse[refused.handle] = "550 5.1.1 mailbox unavailable"
    gateway.failures_left = 1  # the gateway is busy once

    bulletin = _publish(db, tenant, supervisor)

    assert bulletin.state == BulletinState.SENDING  # one SMS waits for its retry
    retry = db.scalars(select(BulletinDelivery).where(BulletinDelivery.state == DeliveryState.RETRY)).one()
    assert retry.channel == "sms" and "refused" in retry.reason and retry.next_attempt_at is not None
    failed = db.scalars(select(BulletinDelivery).where(BulletinDelivery.state == DeliveryState.FAILED)).one()
    assert failed.channel == "email" and failed.reason.startswith("550")

    from wenzheng import db as wz_db
    from wenzheng.bulletins.fanout import deliver_range

    db.execute(BulletinDelivery.__table__.update().values(next_attempt_at=retry.created_at))
    db.commit()
    deliver_range(wz_db.session_factory(), bulletin.id, retry.id, retry.id, retries=True)
    db.expire_all()
    assert db.get_one(BulletinDelivery, retry.id).state == DeliveryState.SENT
    assert db.get_one(Bulletin, bulletin.id).state == BulletinState.SENT
    assert len(gateway.sent) == 2


def test_approval_needs_a_second_person_except_an_admin_sending_an_alert(
    db: Session, tenant: Tenant, supervisor: User, wechat: FakeWeChat
) -> None:
    add_followers(db, tenant, "wechat", 2)
    bulletin = do_create_bulletin(db, _actor(db, supervisor), tenant.account, NOTICE)
    do_submit_bulletin(db, _actor(db, supervisor), bulletin)
    with pytest.raises(Forbidden) as refused:
        do_approve_bulletin(db, _actor(db, supervisor), bulletin)
    assert refused.value.code == "bulletin_self_approval"
    with pytest.raises(Forbidden):
        do_approve_bulletin(db, _actor(db, tenant.operator), bulletin)  # operators do not approve
    with pytest.raises(Forbidden) as not_alert:
        do_send_alert_alone(db, _actor(db, tenant.admin), bulletin)
    assert not_alert.value.code == "bulletin_needs_approval"

    alert = red_alert()
    sent = do_create_bulletin(db, _actor(db, tenant.admin), tenant.account, alert)
    do_send_alert_alone(db, _actor(db, tenant.admin), sent)
    db.expire_all()
    assert db.get_one(Bulletin, sent.id).state == BulletinState.SENT
    assert db.get_one(Bulletin, sent.id).cap_severity == "Extreme"


def test_a_cancelled_bulletin_sends_nothing_more(
    db: Session, tenant: Tenant, supervisor: User, wechat: FakeWeChat
) -> None:
    add_followers(db, tenant, "wechat", 2)
    bulletin = do_create_bulletin(db, _actor(db, tenant.operator), tenant.account, NOTICE)
    do_submit_bulletin(db, _actor(db, tenant.operator), bulletin)
    do_cancel_bulletin(db, _actor(db, supervisor), bulletin, reason="内容有误")
    with pytest.raises(Conflict):
        do_approve_bulletin(db, _actor(db, supervisor), bulletin)
    assert db.scalar(select(func.count(BulletinDelivery.id))) == 0
    assert not wechat.requests or not wechat.calls("/cgi-bin/message/mass/sendall")


def test_bad_drafts_are_refused_with_a_code(db: Session, tenant: Tenant, wechat: FakeWeChat) -> None:
    actor = _actor(db, tenant.operator)
    cases = [
        (Draft(kind="poster", title="x"), "bulletin_bad_kind"),
        (Draft(kind="notice", title="", body="x"), "field_required"),
        (Draft(kind="notice", title="x", body="y", link="ftp://x"), "bulletin_bad_link"),
        (Draft(kind="notice", title="x", body="y", audience={"regions": ["Lushan"]}), "bulletin_bad_region"),
        (Draft(kind="notice", title="x", body="y", audience={"channels": ["fax"]}), "bulletin_unknown_channel"),
    ]
    for draft, code in cases:
        with pytest.raises(InvalidInput) as refused:
            do_create_bulletin(db, actor, tenant.account, draft)
        assert refused.value.code == code
        db.rollback()
    assert db.scalar(select(func.count(Bulletin.id))) == 0


def test_another_agency_cannot_reach_a_bulletin(db: Session, tenant: Tenant, wechat: FakeWeChat) -> None:
    from tests.factories import create_tenant
    from wenzheng.bulletins.access import bulletin_for

    bulletin = do_create_bulletin(db, _actor(db, tenant.operator), tenant.account, NOTICE)
    other = create_tenant(db, "other")
    with pytest.raises(NotFound):
        bulletin_for(db, _actor(db, other.admin), bulletin.id)
    assert bulletin_for(db, _actor(db, tenant.admin), bulletin.id).id == bulletin.id


@pytest.fixture(scope="module")
def push_service() -> Iterator[PushService]:
    service = PushService()
    service.start()
    yield service
    service.stop()


def test_web_push_followers_get_an_encrypted_notification_and_dead_browsers_are_pruned(
    db: Session, tenant: Tenant, supervisor: User, wechat: FakeWeChat, push_service: PushService
) -> None:
    push = push_service.reset()
    alive, gone, busy = (push_service.new_browser() for _ in range(3))
    push.answers[gone.token] = 410
    push.answers[busy.token] = 503
    for browser in (alive, gone, busy):
        webpush.subscribe(db, tenant.account, browser.to_json(), user_agent="Chromium")
    db.commit()

    bulletin = _publish(db, tenant, supervisor)

    assert delivery_counts(db, bulletin.id) == {"webpush": {"sent": 1, "failed": 1, "retry": 1}}
    [delivered] = push.delivered
    assert delivered.token == alive.token
    assert delivered.payload["title"] == "芦山县城区恢复供水"
    assert delivered.payload["tag"] == f"bulletin-{bulletin.id}"
    assert delivered.headers["urgency"] == "normal" and delivered.headers["topic"] == f"bulletin-{bulletin.id}"
    left = {s.endpoint: s for s in db.scalars(select(PushSubscription))}
    assert set(left) == {alive.endpoint, busy.endpoint}  # the 410 one is gone, its follower unfollowed
    assert left[alive.endpoint].last_success_at is not None and left[busy.endpoint].failures == 1
