"""An admin sends an emergency alert from the console; a citizen page already open shows it; its CAP parses."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy.orm import Session

from tests.browser.test_console import _log_in
from tests.wechat.conftest import fake_wechat_server, wechat  # noqa: F401 - the local WeChat API
from tests.wechat.fake_api import FakeWeChat
from wenzheng.bulletins.cap import parse_alert
from wenzheng.demo import DEMO_WECHAT, seed_demo

# A link with the download attribute, clicked: how a person saves the CAP document from the page.
DOWNLOAD = """href => {
  const a = document.createElement('a');
  a.href = href; a.download = 'alert.xml';
  document.body.appendChild(a); a.click();
}"""


def test_an_alert_sent_from_the_console_appears_on_an_open_citizen_page_with_its_cap(
    db: Session, live_server: str, browser: Any, screenshots: Path
) -> None:
    seed_demo(db)
    citizen = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN").new_page()
    citizen.goto(f"{live_server}/c/yaan")
    citizen.wait_for_selector("#bulletin-list")

    admin = browser.new_page(viewport={"width": 1280, "height": 900})
    _log_in(admin, live_server, "yaan-admin")
    admin.goto(f"{live_server}/console")
    admin.click("text=芦山地震救助")
    admin.click("a:has-text('公告')")
    admin.click("a:has-text('新公告'), a:has-text('写公告'), a[href$='/bulletins/new']")
    admin.check("input[name=kind][value=alert]")
    admin.fill("input[name=title]", "暴雨红色预警：芦山县")
    admin.fill("textarea[name=body]", "芦山县未来3小时降雨量将达100毫米以上，山洪、滑坡风险极高。")
    admin.fill("input[name=cap_event]", "暴雨")
    admin.select_option("select[name=cap_category]", "Met")
    admin.select_option("select[name=cap_urgency]", "Immediate")
    admin.select_option("select[name=warning_colour]", "red")
    admin.select_option("select[name=cap_certainty]", "Likely")
    admin.select_option("select[name=cap_response_type]", "Evacuate")
    expires = dt.datetime.now(ZoneInfo("Asia/Shanghai")) + dt.timedelta(hours=6)
    admin.fill("input[name=expires_at]", expires.strftime("%Y-%m-%dT%H:%M"))
    admin.fill("textarea[name=cap_instruction], input[name=cap_instruction]", "立即转移到高处，远离河道和山体。")
    admin.fill("input[name=area_desc]", "芦山县")
    admin.fill("input[name=area_codes]", "511826")
    admin.screenshot(path=str(screenshots / "console-bulletin-compose.png"), full_page=True)
    admin.once("dialog", lambda dialog: dialog.accept())
    admin.click("button[value=send_now]")
    sent_at = time.monotonic()

    # The citizen's page, open since before the alert, shows it without a reload.
    citizen.wait_for_selector("#bulletin-list li:has-text('暴雨红色预警：芦山县')", timeout=2000)
    shown_after = time.monotonic() - sent_at
    assert shown_after < 2.0
    assert "red" in (citizen.get_attribute("#bulletin-list li:first-child", "class") or "")
    citizen.screenshot(path=str(screenshots / "citizen-live-alert.png"), full_page=True)

    admin.wait_for_selector("text=CAP")
    admin.screenshot(path=str(screenshots / "console-bulletin-sent.png"), full_page=True)
    citizen.click("#bulletin-list li:first-child a")
    citizen.wait_for_selector("text=立即转移到高处")
    cap_href = citizen.get_attribute("a[href$='/cap.xml']", "href")
    assert cap_href is not None
    with citizen.expect_download() as download_info:
        citizen.evaluate(DOWNLOAD, cap_href)
    document = Path(download_info.value.path()).read_bytes()
    alert = parse_alert(document)
    assert alert["msg_type"] == "Alert" and alert["status"] == "Actual" and alert["language"] == "zh-CN"
    assert alert["severity"] == "Extreme" and alert["event"] == "暴雨" and alert["categories"] == ["Met"]
    assert httpx.get(f"{live_server}{cap_href}").headers["content-type"].startswith("application/cap+xml")


def test_a_bulletin_wechat_refused_says_so_at_the_top_of_its_report(
    db: Session, live_server: str, browser: Any, screenshots: Path
) -> None:
    from sqlalchemy import select

    from wenzheng.bulletins.models import Bulletin, BulletinWeChatReport
    from wenzheng.db import utcnow

    seed_demo(db)
    notice = db.scalars(select(Bulletin).where(Bulletin.title == "芦山县城区恢复供水")).one()
    # What WeChat's MASSSENDJOBFINISH leaves when it judged the text advertising (bulletins.refusals).
    db.add(
        BulletinWeChatReport(
            bulletin_id=notice.id,
            account_id=notice.account_id,
            msg_id="1000001",
            status="err(10001)",
            total_count=3,
            filter_count=3,
            sent_count=0,
            error_count=0,
            finished_at=utcnow(),
        )
    )
    db.commit()

    page = browser.new_page(viewport={"width": 1280, "height": 900})
    _log_in(page, live_server, "yaan-admin")
    page.goto(f"{live_server}/console/bulletins/{notice.id}")
    refused = page.wait_for_selector("#wechat-refused")
    assert refused.is_visible()
    assert "微信判定内容涉嫌广告" in refused.inner_text() and "err(10001)" in refused.inner_text()
    refused.scroll_into_view_if_needed()
    page.screenshot(path=str(screenshots / "console-bulletin-wechat-refused.png"), full_page=True)


def test_an_operator_sees_a_draft_on_their_own_wechat_before_it_goes_out(
    db: Session,
    live_server: str,
    browser: Any,
    screenshots: Path,
    wechat: FakeWeChat,  # noqa: F811 - the fixture imported above
) -> None:
    from sqlalchemy import select

    from wenzheng.bulletins.models import Bulletin

    wechat.register_app(DEMO_WECHAT["app_id"], DEMO_WECHAT["app_secret"])
    seed_demo(db)
    draft = db.scalars(select(Bulletin).where(Bulletin.title == "志愿者招募")).one()
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    _log_in(page, live_server, "yaan-operator")
    page.goto(f"{live_server}/console/bulletins/{draft.id}")

    page.fill("#wechat-preview input[name=wechat_name]", "zhangwei_2013")
    page.click("#wechat-preview button[type=submit]")

    page.wait_for_selector("text=预览已发到该微信号")
    [call] = wechat.calls("/cgi-bin/message/mass/preview")
    assert call.json["towxname"] == "zhangwei_2013" and "【志愿者招募】" in call.json["text"]["content"]
    assert page.is_visible("ol.timeline li:has-text('发送微信预览给 zhangwei_2013')")
    page.screenshot(path=str(screenshots / "console-bulletin-wechat-preview.png"), full_page=True)


def test_the_compose_form_counts_the_followers_inside_a_circle_as_it_is_typed(
    db: Session, live_server: str, browser: Any, screenshots: Path
) -> None:
    from sqlalchemy import select, update

    from wenzheng.accounts.models import Account
    from wenzheng.followers.models import Follower

    seed_demo(db)
    account = db.scalars(select(Account).where(Account.slug == "yaan")).one()
    ids = db.scalars(select(Follower.id).where(Follower.account_id == account.id).order_by(Follower.id).limit(3)).all()
    db.execute(update(Follower).where(Follower.id.in_(ids)).values(last_latitude=30.05, last_longitude=102.95))
    db.commit()
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    _log_in(page, live_server, "yaan-operator")
    page.goto(f"{live_server}/console/accounts/{account.id}/bulletins/new")
    page.fill("input[name=title]", "水库泄洪")
    page.fill("textarea[name=body]", "坝下游5公里内群众请转移。")
    page.fill("#f-near", "30.05,102.95,5")
    page.wait_for_selector("#audience-count strong >> text=3")
    page.locator("#f-near").scroll_into_view_if_needed()
    page.screenshot(path=str(screenshots / "console-bulletin-near.png"))


def test_an_english_version_is_written_beside_the_chinese_and_read_on_a_phone(
    db: Session, live_server: str, browser: Any, screenshots: Path
) -> None:
    from sqlalchemy import select

    from wenzheng.accounts.models import Account
    from wenzheng.bulletins.models import Bulletin

    seed_demo(db)
    account = db.scalars(select(Account).where(Account.slug == "yaan")).one()
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    _log_in(page, live_server, "yaan-operator")
    page.goto(f"{live_server}/console/accounts/{account.id}/bulletins/new")
    page.fill("input[name=title]", "芦山县城区恢复供水")
    page.fill("textarea[name=body]", "今日18时起城区恢复供水，请煮沸后饮用。")
    assert not page.is_visible("#f-en_title")  # folded away until someone writes one
    page.click("#translation-en summary")
    page.fill("#f-en_title", "Tap water back in Lushan town")
    page.fill("#f-en_body", "Tap water returns at 18:00 today. Boil it before drinking.")
    assert not page.is_visible("#f-en_event")  # the alert's words only for alerts
    readers = page.text_content("#translation-en-readers strong")
    assert readers is not None and int(readers) > 0  # the demo's followers who asked for English
    # The preview shows the English SMS as its readers will get it, beside the Chinese one.
    page.wait_for_selector("#preview-version-en [data-part=text]:has-text('Tap water back in Lushan town: Tap')")
    page.wait_for_selector("#preview-sms:has-text('芦山县城区恢复供水')")
    page.locator("#translation-en").scroll_into_view_if_needed()
    page.screenshot(path=str(screenshots / "console-bulletin-english.png"))
    page.click("button[value=save]")
    page.wait_for_selector("#version-en")
    assert "Tap water back in Lushan town" in (page.text_content("#version-en") or "")

    # The demo's landslide alert has an English version: a phone with the page in English reads it.
    alert = db.scalars(select(Bulletin).where(Bulletin.account_id == account.id, Bulletin.kind == "alert")).first()
    assert alert is not None
    phone = browser.new_context(viewport={"width": 390, "height": 844}, locale="en-US").new_page()
    phone.goto(f"{live_server}/c/yaan/bulletins/{alert.id}?lang=en")
    phone.wait_for_selector("text=Orange landslide warning")
    assert "Keep away from slopes and rivers" in (phone.text_content("main") or "")
    phone.screenshot(path=str(screenshots / "citizen-bulletin-english.png"), full_page=True)
