"""The console's bulletin pages, through HTTP: compose, approve, watch it go out, and who may do what."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from tests.bulletins.conftest import add_followers
from tests.factories import Tenant, create_tenant, create_user, login
from tests.wechat.fake_api import FakeWeChat
from wenzheng.attachments.store import get_store
from wenzheng.bulletins.actions import Draft, do_create_bulletin
from wenzheng.bulletins.audience import count_audience
from wenzheng.bulletins.fanout import delivery_counts
from wenzheng.bulletins.models import Bulletin, BulletinDelivery, BulletinState, DeliveryState
from wenzheng.bulletins.stats import bucket_width, sent_over_time
from wenzheng.db import utcnow
from wenzheng.staff.auth import actor_for_user
from wenzheng.staff.models import User
from wenzheng.staff.roles import Role

NOTICE = {"kind": "notice", "title": "芦山县城区恢复供水", "body": "今日18时起城区恢复供水，请节约用水。"}
NOTICE_DRAFT = Draft(kind="notice", title=NOTICE["title"], body=NOTICE["body"])
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 64


def _compose(client: TestClient, tenant: Tenant, csrf: str, **fields: object) -> httpx.Response:
    data = {"csrf_token": csrf, **NOTICE, **fields}
    return client.post(f"/console/accounts/{tenant.account.id}/bulletins", data=data, follow_redirects=False)


def _bulletin_id(location: str) -> int:
    match = re.match(r"^/console/bulletins/(\d+)", location)
    assert match, location
    return int(match.group(1))


def _only_bulletin(db: Session) -> Bulletin:
    db.expire_all()
    return db.scalars(select(Bulletin)).one()


def _future_local(days: int = 1) -> str:
    return (utcnow() + dt.timedelta(days=days)).astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%dT%H:%M")


def test_compose_submit_and_approval_by_another_person_sends_it_and_the_page_shows_the_counts(
    client: TestClient, db: Session, tenant: Tenant, supervisor: User, wechat: FakeWeChat
) -> None:
    add_followers(db, tenant, "wechat", 3)
    csrf = login(client, tenant.operator.username)
    form = client.get(f"/console/accounts/{tenant.account.id}/bulletins/new")
    assert form.status_code == 200
    assert 'name="csrf_token"' in form.text and 'id="alert-fields"' in form.text

    created = _compose(client, tenant, csrf, intent="submit")

    assert created.status_code == 303
    bulletin_id = _bulletin_id(created.headers["location"])
    assert "notice=bulletin_submitted" in created.headers["location"]
    assert _only_bulletin(db).state == BulletinState.PENDING
    pending_page = client.get(f"/console/bulletins/{bulletin_id}")
    assert "待审批" in pending_page.text and f"/console/bulletins/{bulletin_id}/approve" not in pending_page.text

    csrf = login(client, supervisor.username)
    approved = client.post(
        f"/console/bulletins/{bulletin_id}/approve", data={"csrf_token": csrf}, follow_redirects=False
    )

    assert approved.status_code == 303
    assert delivery_counts(db, bulletin_id) == {"wechat": {"sent": 3}}
    assert len(wechat.calls("/cgi-bin/message/mass/sendall")) == 1
    page = client.get(f"/console/bulletins/{bulletin_id}")
    assert page.status_code == 200
    assert "已发送" in page.text
    row = re.search(r'<tr data-channel="wechat">.*?</tr>', page.text, re.S)
    assert row and '<td data-state="sent">3</td>' in row.group(0)
    assert 'id="progress-sent">3<' in page.text
    assert "<polyline" in page.text  # the chart of sends over time
    assert "批准人</dt><dd>测试人员 · " in page.text  # who approved it, by name
    listing = client.get(f"/console/accounts/{tenant.account.id}/bulletins")
    assert "芦山县城区恢复供水" in listing.text and "3 / 3" in listing.text


def test_the_author_cannot_approve_their_own_bulletin_and_is_told_why(
    client: TestClient, db: Session, tenant: Tenant, supervisor: User
) -> None:
    csrf = login(client, supervisor.username)
    bulletin_id = _bulletin_id(_compose(client, tenant, csrf, intent="submit").headers["location"])
    page = client.get(f"/console/bulletins/{bulletin_id}")
    assert "需要另一位主管或管理员批准" in page.text

    refused = client.post(f"/console/bulletins/{bulletin_id}/approve", data={"csrf_token": csrf})

    assert refused.status_code == 403
    assert 'data-code="bulletin_self_approval"' in refused.text
    assert "someone else must approve it" in refused.text
    assert _only_bulletin(db).state == BulletinState.PENDING


def test_a_form_that_does_not_validate_comes_back_filled_in_with_the_message_at_the_field(
    client: TestClient, db: Session, tenant: Tenant
) -> None:
    add_followers(db, tenant, "wechat", 1, tags=["芦山"])
    csrf = login(client, tenant.operator.username)

    refused = _compose(client, tenant, csrf, title="", body="请节约用水。", tags="芦山", regions="511826")

    assert refused.status_code == 422
    assert re.search(
        r'<span class="field-error" id="error-title" data-field="title">title must not be empty', refused.text
    )
    assert 'id="f-title" name="title" value="" maxlength="64" required aria-invalid="true"' in refused.text
    assert ">请节约用水。</textarea>" in refused.text
    assert 'value="芦山" checked' in refused.text
    assert "511826 芦山县" in refused.text
    assert db.scalar(select(func.count(Bulletin.id))) == 0


def test_an_alert_reports_every_bad_cap_field_at_once(client: TestClient, db: Session, tenant: Tenant) -> None:
    csrf = login(client, tenant.operator.username)

    refused = _compose(
        client,
        tenant,
        csrf,
        kind="alert",
        title="暴雨红色预警",
        cap_category="Met",
        cap_urgency="Immediate",
        cap_certainty="Likely",
        warning_colour="red",
        expires_at=_future_local(),
        area_polygon="30.1,102.9 30.4,102.9",
    )

    assert refused.status_code == 422
    assert 'data-field="cap_event"' in refused.text and 'data-field="area_polygon"' in refused.text
    assert 'value="暴雨红色预警"' in refused.text
    assert '<option value="Met" selected>' in refused.text
    assert db.scalar(select(func.count(Bulletin.id))) == 0


def test_an_admin_sends_an_alert_alone_and_its_page_links_the_cap_document(
    client: TestClient, db: Session, tenant: Tenant, wechat: FakeWeChat
) -> None:
    add_followers(db, tenant, "wechat", 2)
    csrf = login(client, tenant.admin.username)
    sent = _compose(client, tenant, csrf, intent="send_now", **_red_alert())

    assert sent.status_code == 303 and "notice=bulletin_sending" in sent.headers["location"]
    bulletin = _only_bulletin(db)
    assert bulletin.state == BulletinState.SENT and bulletin.approver_id == tenant.admin.id
    assert bulletin.cap_severity == "Extreme" and bulletin.area_codes == ["511826"]
    page = client.get(f"/console/bulletins/{bulletin.id}")
    assert f"/c/{tenant.account.slug}/bulletins/{bulletin.id}/cap.xml" in page.text
    assert "Extreme 特别严重" in page.text
    assert "未经第二人审批直接发送" in page.text  # the timeline says it was sent alone


def test_an_operator_is_not_offered_send_now_and_a_notice_cannot_be_sent_alone(
    client: TestClient, db: Session, tenant: Tenant
) -> None:
    csrf = login(client, tenant.operator.username)
    assert 'value="send_now"' not in client.get(f"/console/accounts/{tenant.account.id}/bulletins/new").text
    csrf = login(client, tenant.admin.username)
    assert 'value="send_now"' in client.get(f"/console/accounts/{tenant.account.id}/bulletins/new").text

    refused = _compose(client, tenant, csrf, intent="send_now")

    assert refused.status_code == 403
    assert 'data-code="bulletin_needs_approval"' in refused.text
    assert _only_bulletin(db).state == BulletinState.DRAFT  # the draft is kept


def test_schedule_is_read_in_the_agency_time_zone_and_stored_as_utc(
    client: TestClient, db: Session, tenant: Tenant
) -> None:
    csrf = login(client, tenant.operator.username)
    when = (utcnow() + dt.timedelta(days=2)).replace(second=0, microsecond=0)
    local = when.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%dT%H:%M")

    created = _compose(client, tenant, csrf, scheduled_for=local)

    assert created.status_code == 303
    assert _only_bulletin(db).scheduled_for == when
    edit = client.get(f"/console/bulletins/{_only_bulletin(db).id}/edit")
    assert f'value="{local}"' in edit.text


def test_a_picture_is_stored_and_anything_else_is_refused_at_its_field(
    client: TestClient, db: Session, tenant: Tenant
) -> None:
    csrf = login(client, tenant.operator.username)
    url = f"/console/accounts/{tenant.account.id}/bulletins"
    data = {"csrf_token": csrf, **NOTICE}

    refused = client.post(url, data=data, files={"image": ("a.gif", b"GIF89a....", "image/png")})
    assert refused.status_code == 422
    assert 'data-field="image"' in refused.text and "JPEG or PNG" in refused.text

    created = client.post(url, data=data, files={"image": ("a.png", PNG, "image/png")}, follow_redirects=False)
    assert created.status_code == 303
    bulletin = _only_bulletin(db)
    assert bulletin.image_content_type == "image/png" and get_store().exists(bulletin.image_sha256 or "")
    image = client.get(f"/console/bulletins/{bulletin.id}/image")
    assert image.status_code == 200 and image.content == PNG and image.headers["content-type"] == "image/png"


def test_the_audience_count_follows_tags_regions_and_channels(client: TestClient, db: Session, tenant: Tenant) -> None:
    add_followers(db, tenant, "wechat", 2, tags=["芦山"])
    add_followers(db, tenant, "sms", 1, region="511826")
    add_followers(db, tenant, "email", 1, region="510100")
    viewer = create_user(db, tenant.agency, Role.VIEWER)
    login(client, viewer.username)
    url = f"/console/accounts/{tenant.account.id}/bulletins/audience"

    assert client.get(url).json() == {"wechat": 2, "sms": 1, "email": 1, "total": 4}
    assert client.get(url, params={"tags": "芦山"}).json() == {"wechat": 2, "total": 2}
    by_region = client.get(url, params={"regions": "511800 510000", "channels": ["sms", "email"]}).json()
    assert by_region == count_audience(
        db, tenant.account.id, {"regions": ["511800", "510000"], "channels": ["sms", "email"]}
    )
    assert by_region == {"sms": 1, "email": 1, "total": 2}
    bad = client.get(url, params={"regions": "5118"}, headers={"Accept": "application/json"})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "bulletin_bad_region"


def test_the_preview_shows_each_channel_and_flags_a_cut_sms(client: TestClient, tenant: Tenant) -> None:
    csrf = login(client, tenant.operator.username)
    url = f"/console/accounts/{tenant.account.id}/bulletins/preview"

    short = client.post(url, data={"title": "停水通知", "body": "明日停水。"}, headers={"X-CSRF-Token": csrf}).json()
    long = client.post(url, data={"title": "停水通知", "body": "明日停水。" * 100}, headers={"X-CSRF-Token": csrf})

    assert short["sms"] == {
        "text": "【bul 公众号】停水通知：明日停水。",
        "segments": 1,
        "encoding": "UCS-2",
        "units": 19,
        "cut": False,
    }
    assert short["wechat"].startswith("【停水通知】\n明日停水。\n")
    assert short["web"]["title"] == "停水通知"
    assert long.json()["sms"]["cut"] is True and long.json()["sms"]["segments"] == 3
    assert short["versions"] == {}  # no English title, no English copy
    english = client.post(
        url,
        data={
            "title": "停水通知",
            "body": "明日停水。",
            "en_title": "Water off",
            "en_body": "No water tomorrow. " * 12,
        },
        headers={"X-CSRF-Token": csrf},
    ).json()["versions"]["en"]
    assert english["text"].startswith("【bul 公众号】Water off: No water tomorrow.")
    assert english["cut"] is True and english["text"].endswith("/bulletins/0?lang=en")  # longer than 3 segments


def _sending_bulletin(db: Session, tenant: Tenant) -> Bulletin:
    """A bulletin half way through its fan-out: two sent a few seconds apart, one waiting, one failed."""
    bulletin = do_create_bulletin(db, actor_for_user(db, tenant.operator), tenant.account, NOTICE_DRAFT)
    start = utcnow() - dt.timedelta(seconds=10)
    db.execute(
        update(Bulletin)
        .where(Bulletin.id == bulletin.id)
        .values(state=BulletinState.SENDING, audience_count=4, started_at=start)
    )
    followers = add_followers(db, tenant, "sms", 4)
    rows = [
        (DeliveryState.SENT, start + dt.timedelta(seconds=1), ""),
        (DeliveryState.SENT, start + dt.timedelta(seconds=3), ""),
        (DeliveryState.PENDING, None, ""),
        (DeliveryState.FAILED, None, "gateway: number not in service"),
    ]
    db.execute(
        insert(BulletinDelivery),
        [
            {"bulletin_id": bulletin.id, "follower_id": f.id, "channel": "sms", "state": s, "sent_at": at, "reason": r}
            for f, (s, at, r) in zip(followers, rows, strict=True)
        ],
    )
    db.commit()
    return bulletin


def test_the_progress_route_gives_the_live_numbers(client: TestClient, db: Session, tenant: Tenant) -> None:
    bulletin = _sending_bulletin(db, tenant)
    login(client, tenant.operator.username)

    progress = client.get(f"/console/bulletins/{bulletin.id}/progress").json()

    assert progress["state"] == "sending" and progress["finished"] is False
    assert progress["counts"] == {"sms": {"sent": 2, "pending": 1, "failed": 1}}
    assert (progress["total"], progress["sent"], progress["failed"], progress["closed"]) == (4, 2, 1, 3)
    assert progress["percent"] == 75
    page = client.get(f"/console/bulletins/{bulletin.id}")
    assert 'data-state="sending"' in page.text and "/static/bulletins.js" in page.text
    assert "gateway: number not in service" in page.text  # the failure reasons, with their counts


def test_sends_over_time_are_cumulated_per_second_or_per_minute(db: Session, tenant: Tenant) -> None:
    bulletin = _sending_bulletin(db, tenant)

    series = sent_over_time(db, bulletin.id)

    assert series.bucket_seconds == 1
    assert [count for _, count in series.points] == [1, 2]
    assert (series.points[1][0] - series.points[0][0]).total_seconds() == 2
    assert bucket_width(dt.timedelta(minutes=30)) == 60 and bucket_width(dt.timedelta(hours=30)) == 3600


@pytest.mark.parametrize("action", ["return", "cancel"])
def test_return_and_cancel_need_a_reason_and_show_it_in_the_timeline(
    client: TestClient, db: Session, tenant: Tenant, supervisor: User, action: str
) -> None:
    csrf = login(client, tenant.operator.username)
    bulletin_id = _bulletin_id(_compose(client, tenant, csrf, intent="submit").headers["location"])
    csrf = login(client, supervisor.username)
    url = f"/console/bulletins/{bulletin_id}/{action}"

    without = client.post(url, data={"csrf_token": csrf, "reason": " "})
    assert without.status_code == 422 and "reason must not be empty" in without.text

    done = client.post(url, data={"csrf_token": csrf, "reason": "时间写错了"}, follow_redirects=False)
    assert done.status_code == 303
    expected = BulletinState.DRAFT if action == "return" else BulletinState.CANCELLED
    assert _only_bulletin(db).state == expected
    assert "时间写错了" in client.get(f"/console/bulletins/{bulletin_id}").text


def test_only_a_draft_can_be_edited(client: TestClient, db: Session, tenant: Tenant) -> None:
    csrf = login(client, tenant.operator.username)
    bulletin_id = _bulletin_id(_compose(client, tenant, csrf).headers["location"])

    edited = client.post(
        f"/console/bulletins/{bulletin_id}/edit",
        data={"csrf_token": csrf, **NOTICE, "title": "更正：城区恢复供水", "intent": "submit"},
        follow_redirects=False,
    )

    assert edited.status_code == 303
    bulletin = _only_bulletin(db)
    assert (bulletin.title, bulletin.state) == ("更正：城区恢复供水", BulletinState.PENDING)
    again = client.get(f"/console/bulletins/{bulletin_id}/edit", follow_redirects=False)
    assert again.status_code == 303 and "notice=bulletin_not_editable" in again.headers["location"]


def test_a_viewer_cannot_compose(client: TestClient, db: Session, tenant: Tenant) -> None:
    viewer = create_user(db, tenant.agency, Role.VIEWER)
    csrf = login(client, viewer.username)

    assert client.get(f"/console/accounts/{tenant.account.id}/bulletins/new").status_code == 403
    assert _compose(client, tenant, csrf).status_code == 403
    listing = client.get(f"/console/accounts/{tenant.account.id}/bulletins")
    assert listing.status_code == 200 and "/bulletins/new" not in listing.text
    assert db.scalar(select(func.count(Bulletin.id))) == 0


def test_another_agencys_staff_get_not_found(client: TestClient, db: Session, tenant: Tenant) -> None:
    bulletin = do_create_bulletin(db, actor_for_user(db, tenant.operator), tenant.account, NOTICE_DRAFT)
    other = create_tenant(db, "other")
    csrf = login(client, other.admin.username)

    for path in ("", "/progress", "/edit"):
        assert client.get(f"/console/bulletins/{bulletin.id}{path}").status_code == 404, path
    assert client.get(f"/console/accounts/{tenant.account.id}/bulletins").status_code == 404
    assert client.get(f"/console/accounts/{tenant.account.id}/bulletins/audience").status_code == 404
    cancelled = client.post(f"/console/bulletins/{bulletin.id}/cancel", data={"csrf_token": csrf, "reason": "x"})
    assert cancelled.status_code == 404
    assert _only_bulletin(db).state == BulletinState.DRAFT


def _red_alert() -> dict[str, str]:
    return {
        "kind": "alert",
        "title": "暴雨红色预警",
        "body": "",
        "cap_event": "暴雨",
        "cap_category": "Met",
        "cap_urgency": "Immediate",
        "cap_certainty": "Likely",
        "cap_response_type": "Shelter",
        "cap_instruction": "请立即停止户外活动，远离河道。",
        "warning_colour": "red",
        "expires_at": _future_local(),
        "area_desc": "雅安市芦山县全境",
        "area_codes": "511826",
    }


def test_a_sent_alert_is_updated_and_then_lifted_by_alerts_that_refer_to_it(
    client: TestClient, db: Session, tenant: Tenant, wechat: FakeWeChat
) -> None:
    add_followers(db, tenant, "wechat", 2)
    csrf = login(client, tenant.admin.username)
    first = _compose(client, tenant, csrf, intent="send_now", **_red_alert())
    original = _only_bulletin(db)
    assert first.status_code == 303 and original.state == BulletinState.SENT
    page = client.get(f"/console/bulletins/{original.id}").text
    assert "发布预警更新" in page and "解除预警" in page

    form = client.get(
        f"/console/accounts/{tenant.account.id}/bulletins/new?kind=alert&msg_type=Update&supersedes={original.id}"
    ).text
    assert f'name="supersedes_id" value="{original.id}"' in form and 'name="msg_type" value="Update"' in form
    assert "【更新】暴雨红色预警" in form and "雅安市芦山县全境" in form  # starts from the alert it updates
    update_fields = {**_red_alert(), "title": "【更新】暴雨橙色预警", "warning_colour": "orange"}
    update_fields |= {"msg_type": "Update", "supersedes_id": str(original.id), "expires_at": _future_local(2)}
    _compose(client, tenant, csrf, intent="send_now", **update_fields)
    db.expire_all()
    update = db.scalars(select(Bulletin).where(Bulletin.supersedes_id == original.id)).one()
    assert (update.msg_type, update.warning_colour, update.state) == ("Update", "orange", BulletinState.SENT)
    document = client.get(f"/c/{tenant.account.slug}/bulletins/{update.id}/cap.xml").text
    assert "<msgType>Update</msgType>" in document and "<references>" in document

    lift = client.get(
        f"/console/accounts/{tenant.account.id}/bulletins/new?kind=alert&msg_type=Cancel&supersedes={update.id}"
    ).text
    assert "【解除】暴雨橙色预警" in lift and "AllClear" in lift and "这将解除以下预警" in lift
    # Another account's alert, or a draft, cannot be superseded: 404, not a prefilled form.
    draft = do_create_bulletin(db, actor_for_user(db, tenant.admin), tenant.account, NOTICE_DRAFT)
    missing = client.get(
        f"/console/accounts/{tenant.account.id}/bulletins/new?kind=alert&msg_type=Update&supersedes={draft.id}"
    )
    assert missing.status_code == 404


def test_an_english_version_is_composed_beside_the_chinese_and_shown_with_its_readers(
    client: TestClient, db: Session, tenant: Tenant
) -> None:
    readers = add_followers(db, tenant, "sms", 3)
    readers[0].language = "en"
    db.commit()
    csrf = login(client, tenant.operator.username)

    refused = _compose(client, tenant, csrf, en_body="Tap water returns at 18:00.")

    assert refused.status_code == 422 and db.scalar(select(func.count(Bulletin.id))) == 0
    assert 'data-field="en_title">The English version needs a title too' in refused.text
    assert '<details class="card translation" id="translation-en" open>' in refused.text  # opened at the error
    assert ">Tap water returns at 18:00.</textarea>" in refused.text

    created = _compose(client, tenant, csrf, en_title="Water back in Lushan", en_body="Tap water returns at 18:00.")

    bulletin = _only_bulletin(db)
    assert bulletin.translations == {"en": {"title": "Water back in Lushan", "body": "Tap water returns at 18:00."}}
    page = client.get(created.headers["location"])
    assert 'id="version-en" lang="en"' in page.text and "Water back in Lushan" in page.text
    readers_line = re.search(r'id="version-en".*?<strong>(\d+)</strong>', page.text, re.S)
    assert readers_line and readers_line.group(1) == "1"
    edit = client.get(f"/console/bulletins/{bulletin.id}/edit")
    assert 'name="en_title" value="Water back in Lushan"' in edit.text  # the form keeps the version
    listed = client.get(f"/console/accounts/{tenant.account.id}/bulletins").text
    assert re.search(r'id="follower-languages">关注者 <strong>3</strong> · 其中读 English <strong>1</strong>', listed)
    assert '<span class="badge" title="English">EN</span>' in listed
