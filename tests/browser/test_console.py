"""The console in a real browser: log in, find the seeded platform, rename an account, switch language,
manage staff — on a desktop and on a phone-sized screen."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from wenzheng.demo import DEMO_PASSWORD, seed_demo

pytestmark = pytest.mark.browser


def _log_in(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("button[type=submit]")


def test_operator_logs_in_and_sees_the_seeded_platform(
    db: Session, live_server: str, browser: Any, screenshots: Path
) -> None:
    seed_demo(db)
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    _log_in(page, live_server, "yaan-operator")
    page.wait_for_selector("h1:has-text('雅安市应急管理局')")
    assert page.is_visible("text=芦山地震救助")
    assert page.is_visible("text=救援协调科")
    assert page.is_visible("text=已认证")
    page.screenshot(path=str(screenshots / "console-agency-zh.png"), full_page=True)
    page.click("text=芦山地震救助")
    page.wait_for_selector("text=名称历史")
    assert page.is_visible("text=四川雅安")
    page.click("text=English")
    page.wait_for_selector("text=Name history")
    page.screenshot(path=str(screenshots / "console-account-en.png"), full_page=True)
    page.close()


def test_wrong_password_shows_why_and_stays_on_login(db: Session, live_server: str, browser: Any) -> None:
    seed_demo(db)
    page = browser.new_page()
    page.goto(f"{live_server}/login")
    page.fill("input[name=username]", "yaan-operator")
    page.fill("input[name=password]", "not-the-password")
    page.click("button[type=submit]")
    alert = page.wait_for_selector("[role=alert]")
    assert alert.get_attribute("data-code") == "invalid_credentials"
    assert "/login" in page.url
    page.close()


def test_admin_renames_an_account_and_adds_staff_on_a_phone(
    db: Session, live_server: str, browser: Any, screenshots: Path
) -> None:
    seed_demo(db)
    page = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    _log_in(page, live_server, "police-admin")
    page.wait_for_selector("h1:has-text('雅安市公安局')")
    page.click("text=平安雅安")
    page.fill("input[name=name]", "平安雅安发布")
    page.click("button:has-text('改名')")
    page.wait_for_selector("[role=status]")
    assert page.is_visible("h1:has-text('平安雅安发布')")
    page.screenshot(path=str(screenshots / "console-rename-phone.png"), full_page=True)
    page.click("nav.tabs >> text=人员")
    page.fill("input[name=username]", "police-new")
    page.fill("input[name=display_name]", "新警员")
    page.fill("input[name=password]", "a-long-password")
    page.click("button:has-text('添加')")
    page.wait_for_selector("tr[data-username=police-new]")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the staff page scrolls sideways on a phone ({width}px)"
    page.screenshot(path=str(screenshots / "console-staff-phone.png"), full_page=True)
    page.close()


def test_logged_out_visitor_is_sent_to_login(live_server: str, browser: Any) -> None:
    page = browser.new_page()
    page.goto(f"{live_server}/console/agencies/1")
    assert "/login" in page.url
    assert page.is_visible("input[name=password]")
    page.close()


def test_the_inbox_shows_what_arrived_on_every_channel(
    db: Session, live_server: str, browser: Any, screenshots: Path
) -> None:
    import httpx

    from wenzheng.channels.wechat.simulate import Credentials, signed_push, text_xml
    from wenzheng.demo import DEMO_WECHAT

    seed_demo(db)
    credentials = Credentials(
        token=DEMO_WECHAT["token"],
        app_id=DEMO_WECHAT["app_id"],
        aes_key=DEMO_WECHAT["aes_key"],
        original_id=DEMO_WECHAT["original_id"],
    )
    plea = "我们被困在了姚桥镇初级中学附属教师职工宿舍了，目前房子已经全部坍塌了，求大家救救我们！"
    query, body = signed_push(credentials, text_xml(plea, openid="o_lushan", msg_id=5_900_000_001), encrypt=True)
    assert httpx.post(f"{live_server}/wechat/yaan?{query}", content=body).status_code == 200
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto(f"{live_server}/c/yaan")
    page.fill("textarea[name=text]", "龙门乡需要帐篷和饮用水，约30人")
    page.fill("input[name=phone]", "13800138000")
    page.click("button[type=submit]:has-text('发送')")
    page.wait_for_selector("#ref")
    _log_in(page, live_server, "yaan-operator")
    page.click("text=来信")
    page.wait_for_selector("text=姚桥镇初级中学附属教师职工宿舍")
    assert page.is_visible("text=龙门乡需要帐篷和饮用水") and page.is_visible("text=+8613800138000")
    page.screenshot(path=str(screenshots / "console-inbox.png"), full_page=True)
    page.close()


def test_the_case_queue_puts_the_trapped_first(db: Session, live_server: str, browser: Any, screenshots: Path) -> None:
    seed_demo(db)
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    _log_in(page, live_server, "yaan-operator")
    page.click("nav.tabs >> text=工单")
    page.wait_for_selector("table")
    first_row = page.inner_text("tbody tr:first-child")
    assert "P0" in first_row and "姚桥镇" in first_row
    page.screenshot(path=str(screenshots / "console-queue.png"), full_page=True)
    page.click("tbody tr:first-child >> a")
    page.click("button:has-text('我来承办')")
    page.wait_for_selector("text=承办人: 张伟")
    page.screenshot(path=str(screenshots / "console-case.png"), full_page=True)
    page.close()


def test_a_new_p0_appears_at_the_top_of_the_open_queue_without_a_reload(
    db: Session, live_server: str, browser: Any, screenshots: Path
) -> None:
    import time

    import httpx

    from wenzheng.channels.wechat.simulate import Credentials, signed_push, text_xml
    from wenzheng.demo import DEMO_WECHAT

    seed_demo(db)
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    _log_in(page, live_server, "yaan-operator")
    page.click("nav.tabs >> text=工单")
    page.wait_for_selector("table")
    page.evaluate("window.__loaded = true")  # survives only if the page is never reloaded
    credentials = Credentials(
        token=DEMO_WECHAT["token"],
        app_id=DEMO_WECHAT["app_id"],
        aes_key=DEMO_WECHAT["aes_key"],
        original_id=DEMO_WECHAT["original_id"],
    )
    plea = "地震后我们五个人被埋在龙门乡古城村小学教学楼下面，有人受伤，快来救我们！"
    query, body = signed_push(credentials, text_xml(plea, openid="o_buried", msg_id=5_900_000_777), encrypt=True)
    sent_at = time.monotonic()
    assert httpx.post(f"{live_server}/wechat/yaan?{query}", content=body).status_code == 200
    page.wait_for_selector("tbody tr:first-child:has-text('古城村小学')", timeout=2000)
    elapsed = time.monotonic() - sent_at
    assert page.evaluate("window.__loaded") is True
    assert page.is_visible("#alert") and "P0" in page.inner_text("#alert")
    assert "P0" in page.inner_text("tbody tr:first-child")
    page.screenshot(path=str(screenshots / "console-live-p0.png"), full_page=True)
    assert elapsed < 2.0
    page.close()


def test_an_admin_sets_how_long_personal_data_is_kept(
    db: Session, live_server: str, browser: Any, screenshots: Path
) -> None:
    from sqlalchemy import select

    from wenzheng.agencies.models import Agency
    from wenzheng.demo import AGENCIES

    seed_demo(db)
    agency = db.scalars(select(Agency).where(Agency.slug == AGENCIES[0].slug)).one()  # the Ya'an office
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    _log_in(page, live_server, "yaan-admin")
    page.goto(f"{live_server}/console/agencies/{agency.id}")
    assert "办结 365 天后删除" in page.inner_text("#retention")
    page.fill("#retention input[name=days]", "730")
    page.click("#retention button[type=submit]")
    page.wait_for_selector("#retention >> text=办结 730 天后删除")
    page.locator("#retention").screenshot(path=str(screenshots / "console-agency-retention.png"))
    db.expire_all()
    assert db.get_one(Agency, agency.id).retention_days == 730


def test_an_admin_erases_a_citizens_personal_data_after_confirming(
    db: Session, live_server: str, browser: Any, screenshots: Path
) -> None:
    from sqlalchemy import select

    from wenzheng.agencies.models import Agency
    from wenzheng.citizens.models import CitizenHandle
    from wenzheng.demo import AGENCIES

    seed_demo(db)
    agency = db.scalars(select(Agency).where(Agency.slug == AGENCIES[0].slug)).one()
    citizen_id = db.scalars(
        select(CitizenHandle.citizen_id).where(CitizenHandle.agency_id == agency.id, CitizenHandle.channel == "phone")
    ).first()
    assert citizen_id is not None
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    _log_in(page, live_server, "yaan-admin")
    page.goto(f"{live_server}/console/citizens/{citizen_id}")
    page.fill("#erase input[name=reason]", "本人来电申请删除")
    page.screenshot(path=str(screenshots / "console-citizen-erase.png"), full_page=True)
    dialogs: list[str] = []
    page.once("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.accept()))
    page.click("#erase button[type=submit]")
    page.wait_for_selector("text=已删除此群众的个人信息")
    assert dialogs and "无法恢复" in dialogs[0]
    db.expire_all()
    assert not db.scalars(select(CitizenHandle).where(CitizenHandle.citizen_id == citizen_id)).all()
