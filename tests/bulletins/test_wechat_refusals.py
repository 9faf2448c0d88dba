"""When WeChat refuses a bulletin's mass send after taking it (err(10001), send fail), its WeChat followers get the
bulletin by SMS or e-mail instead, and the bulletin page says what WeChat refused and why; when WeChat never
reports, we ask it (/message/mass/get)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.bulletins.conftest import add_followers
from tests.bulletins.test_fanout import _bulletin_page_text, _publish
from tests.factories import Tenant
from tests.sms.conftest import Gateway
from tests.wechat.fake_api import FakeWeChat
from wenzheng import db as wz_db
from wenzheng.audit.models import AuditEvent
from wenzheng.bulletins.actions import Draft
from wenzheng.bulletins.models import (
    Bulletin,
    BulletinDelivery,
    BulletinFanout,
    BulletinState,
    BulletinWeChatReport,
    DeliveryState,
)
from wenzheng.bulletins.stats import wechat_report
from wenzheng.channels.wechat import outbound
from wenzheng.db import utcnow
from wenzheng.jobs.worker import run_until_idle
from wenzheng.staff.models import User

MASS_GET = "/cgi-bin/message/mass/get"
SHELTER = Draft(
    kind="notice", title="龙门乡安置点", body="请到龙门乡中心校安置点领取物资。", audience={"regions": ["511826"]}
)


def _deliveries(db: Session, bulletin_id: int) -> dict[int, BulletinDelivery]:
    query = select(BulletinDelivery).where(BulletinDelivery.bulletin_id == bulletin_id)
    return {d.follower_id: d for d in db.scalars(query.execution_options(populate_existing=True))}


def _refusals(db: Session, bulletin_id: int) -> list[AuditEvent]:
    query = select(AuditEvent).where(
        AuditEvent.action == "system:bulletin:wechat_refused", AuditEvent.subject_id == bulletin_id
    )
    return list(db.scalars(query))


def test_a_list_send_wechat_refuses_goes_to_the_followers_other_channels(
    db: Session, tenant: Tenant, supervisor: User, wechat: FakeWeChat, gateway: Gateway
) -> None:
    with_phone = add_followers(db, tenant, "wechat", 2, region="511826", phone=True)
    [without] = add_followers(db, tenant, "wechat", 1, region="511826")
    bulletin = _publish(db, tenant, supervisor, SHELTER)
    [report] = db.scalars(select(BulletinWeChatReport).where(BulletinWeChatReport.bulletin_id == bulletin.id))
    assert bulletin.state == BulletinState.SENT and not gateway.sent
    assert {d.state for d in _deliveries(db, bulletin.id).values()} == {DeliveryState.SENT}

    event = {"MsgID": report.msg_id, "Status": "err(10001)", "TotalCount": "3", "FilterCount": "3"}
    outbound.record_mass_send_finished(db, tenant.account, {**event, "SentCount": "0", "ErrorCount": "0"})
    db.commit()  # the retry job runs inline after the commit

    rows = _deliveries(db, bulletin.id)
    assert {(rows[f.id].state, rows[f.id].via) for f in with_phone} == {(DeliveryState.SENT, "sms_fallback")}
    assert sorted(m["to"] for m in gateway.sent) == sorted(f"1380000{f.handle[-4:]}" for f in with_phone)
    assert "龙门乡安置点：请到龙门乡中心校安置点领取物资。" in gateway.sent[0]["text"]
    assert rows[without.id].state == DeliveryState.FAILED and "no other channel" in rows[without.id].reason
    db.expire_all()
    assert db.get_one(Bulletin, bulletin.id).state == BulletinState.SENT
    assert db.get_one(BulletinFanout, bulletin.id).wechat_mode == "fallback"
    [audit] = _refusals(db, bulletin.id)
    refusal = {"msg_id": report.msg_id, "status": "err(10001)", "deliveries": 3, "other_channels": True}
    assert audit.data == refusal | {"system": "wechat-reports"}
    assert wechat_report(db, bulletin.id).refusals == ("err(10001)",)  # type: ignore[union-attr]
    page = _bulletin_page_text(db, tenant, bulletin.id)
    assert "微信拒绝了本公告的群发" in page and "微信判定内容涉嫌广告" in page and "<code>err(10001)</code>" in page

    # WeChat repeats its event: nothing is sent twice.
    outbound.record_mass_send_finished(db, tenant.account, {**event, "SentCount": "0", "ErrorCount": "0"})
    db.commit()
    assert len(gateway.sent) == 2 and len(_refusals(db, bulletin.id)) == 1


def test_a_send_wechat_carried_reopens_nothing(
    db: Session, tenant: Tenant, supervisor: User, wechat: FakeWeChat, gateway: Gateway
) -> None:
    add_followers(db, tenant, "wechat", 2, region="511826", phone=True)
    bulletin = _publish(db, tenant, supervisor, SHELTER)
    [report] = db.scalars(select(BulletinWeChatReport).where(BulletinWeChatReport.bulletin_id == bulletin.id))

    outbound.record_mass_send_finished(db, tenant.account, {"MsgID": report.msg_id, "Status": "send success"})
    db.commit()

    assert {d.via for d in _deliveries(db, bulletin.id).values()} == {"wechat_mass"}
    assert not gateway.sent and not _refusals(db, bulletin.id)
    assert "微信拒绝" not in _bulletin_page_text(db, tenant, bulletin.id)


def test_when_wechat_never_reports_we_ask_and_a_failed_send_to_everyone_goes_by_sms(
    db: Session, tenant: Tenant, supervisor: User, wechat: FakeWeChat, gateway: Gateway
) -> None:
    [with_phone] = add_followers(db, tenant, "wechat", 1, phone=True)
    [by_sms] = add_followers(db, tenant, "sms", 1)
    bulletin = _publish(db, tenant, supervisor)  # everyone: one sendall
    [report] = db.scalars(select(BulletinWeChatReport).where(BulletinWeChatReport.bulletin_id == bulletin.id))
    assert len(gateway.sent) == 1  # the SMS follower's own copy
    msg_id = int(report.msg_id)

    run_until_idle(wz_db.session_factory(), "test", now=utcnow() + dt.timedelta(minutes=10))
    assert not wechat.calls(MASS_GET)  # the event may still come: nobody asks before 15 minutes

    wechat.mass_status[msg_id] = "SENDING"
    run_until_idle(wz_db.session_factory(), "test", now=utcnow() + dt.timedelta(minutes=16))
    [asked] = wechat.calls(MASS_GET)
    assert asked.json == {"msg_id": msg_id}
    assert wechat_report(db, bulletin.id).reported == 0  # type: ignore[union-attr]

    wechat.mass_status[msg_id] = "SEND_FAIL"
    run_until_idle(wz_db.session_factory(), "test", now=utcnow() + dt.timedelta(minutes=16 + 31))

    assert len(wechat.calls(MASS_GET)) == 2
    rows = _deliveries(db, bulletin.id)
    assert (rows[with_phone.id].state, rows[with_phone.id].via) == (DeliveryState.SENT, "sms_fallback")
    assert rows[by_sms.id].via == "sms" and len(gateway.sent) == 2
    summary = wechat_report(db, bulletin.id)
    assert summary is not None and (summary.reported, summary.refusals, summary.uncounted) == (1, ("send fail",), 1)
    page = _bulletin_page_text(db, tenant, bulletin.id)
    assert "微信报告发送失败" in page and "微信没有给出人数" in page
