"""Before a bulletin goes out, its author sees it on their own WeChat (/message/mass/preview by WeChat ID)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.factories import SYSTEM, Tenant, create_user, login
from tests.wechat.fake_api import FakeWeChat
from wenzheng.audit.actions import record_audit
from wenzheng.audit.models import AuditEvent
from wenzheng.bulletins.actions import Draft, do_create_bulletin, do_preview_on_wechat
from wenzheng.bulletins.models import Bulletin, BulletinState
from wenzheng.channels.wechat.models import MassSend
from wenzheng.errors import Conflict, Forbidden, InvalidInput
from wenzheng.staff.auth import actor_for_user
from wenzheng.staff.roles import Role

PREVIEW = "/cgi-bin/message/mass/preview"
WATER = Draft(kind="notice", title="芦山县城区恢复供水", body="今日18时起城区恢复供水，请煮沸后饮用。")


def _draft(db: Session, tenant: Tenant) -> Bulletin:
    return do_create_bulletin(db, actor_for_user(db, tenant.operator), tenant.account, WATER)


def test_the_author_sends_a_draft_to_their_wechat_and_it_is_audited_without_using_a_mass_send(
    client: TestClient, db: Session, tenant: Tenant, wechat: FakeWeChat
) -> None:
    bulletin = _draft(db, tenant)
    csrf = login(client, tenant.operator.username)
    page = client.get(f"/console/bulletins/{bulletin.id}")
    assert 'id="wechat-preview"' in page.text and 'name="wechat_name"' in page.text

    sent = client.post(
        f"/console/bulletins/{bulletin.id}/wechat-preview",
        data={"csrf_token": csrf, "wechat_name": " zhangwei_2013 "},
        follow_redirects=False,
    )

    assert sent.status_code == 303
    [call] = wechat.calls(PREVIEW)
    assert (call.json["towxname"], call.json["msgtype"]) == ("zhangwei_2013", "text")
    content = call.json["text"]["content"]
    assert content.startswith(f"【{WATER.title}】\n{WATER.body}\n") and content.endswith(f"/bulletins/{bulletin.id}")
    assert db.scalar(select(func.count(MassSend.id))) == 0  # the account's mass sends are untouched
    audit = db.scalars(select(AuditEvent).where(AuditEvent.action == "console:bulletin:wechat_preview")).one()
    assert (audit.subject_id, audit.data["wechat_name"]) == (bulletin.id, "zhangwei_2013")
    shown = client.get(sent.headers["location"]).text
    assert "预览已发到该微信号" in shown and "发送微信预览给" in shown
    assert 'value="zhangwei_2013"' in shown  # the next preview goes to the same WeChat ID unless changed


@pytest.mark.parametrize("name", ["", "13800001234", "wx", "张伟", "a" * 21, "zhang wei"])
def test_what_is_not_a_wechat_id_is_refused_before_wechat_is_called(
    db: Session, tenant: Tenant, wechat: FakeWeChat, name: str
) -> None:
    bulletin = _draft(db, tenant)
    with pytest.raises(InvalidInput) as refused:
        do_preview_on_wechat(db, actor_for_user(db, tenant.operator), bulletin, wechat_name=name)
    assert refused.value.code == "invalid_wechat_name" and "微信号" in refused.value.message
    assert not wechat.calls(PREVIEW)


def test_wechats_refusal_comes_back_on_the_page_with_its_code(
    client: TestClient, db: Session, tenant: Tenant, wechat: FakeWeChat
) -> None:
    bulletin = _draft(db, tenant)
    wechat.fail(PREVIEW, 40003)
    csrf = login(client, tenant.operator.username)

    refused = client.post(
        f"/console/bulletins/{bulletin.id}/wechat-preview", data={"csrf_token": csrf, "wechat_name": "zhangwei_2013"}
    )

    assert refused.status_code == 409
    assert "WeChat did not send the preview" in refused.text and "40003" in refused.text
    assert not db.scalars(select(AuditEvent).where(AuditEvent.action == "console:bulletin:wechat_preview")).all()
    wechat.fail(PREVIEW, 40003)
    with pytest.raises(Conflict) as raised:
        do_preview_on_wechat(db, actor_for_user(db, tenant.operator), bulletin, wechat_name="zhangwei_2013")
    assert raised.value.code == "wechat_api_error" and raised.value.details["errcode"] == 40003


def test_a_sent_bulletin_or_a_viewer_gets_no_preview(db: Session, tenant: Tenant, wechat: FakeWeChat) -> None:
    bulletin = _draft(db, tenant)
    viewer = create_user(db, tenant.agency, Role.VIEWER)
    with pytest.raises(Forbidden):
        do_preview_on_wechat(db, actor_for_user(db, viewer), bulletin, wechat_name="zhangwei_2013")
    bulletin.state = BulletinState.SENT
    record_audit(
        db, SYSTEM, "test:bulletin:sent", agency_id=tenant.agency.id, subject_type="bulletin", subject_id=bulletin.id
    )
    db.commit()
    with pytest.raises(Conflict) as refused:
        do_preview_on_wechat(db, actor_for_user(db, tenant.operator), bulletin, wechat_name="zhangwei_2013")
    assert refused.value.code == "bulletin_wrong_state"
    assert not wechat.calls(PREVIEW)
