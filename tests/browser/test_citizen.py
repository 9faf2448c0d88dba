"""The citizen page in a real browser on a phone-sized screen: a help request with a photo, its reference,
and the private status link opened later."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.citizen.test_web_page import jpeg_with_gps
from tests.email.servers import wait_for
from tests.sms.conftest import Gateway, _gateway_server, gateway  # noqa: F401 - the local SMS gateway
from wenzheng.demo import seed_demo
from wenzheng.messages.models import Attachment, Message

pytestmark = pytest.mark.browser


def test_a_citizen_asks_for_help_with_a_photo_and_follows_it(
    db: Session, live_server: str, browser: Any, screenshots: Path, tmp_path: Path
) -> None:
    seed_demo(db)
    photo = tmp_path / "collapsed.jpg"
    photo.write_bytes(jpeg_with_gps())
    page = browser.new_page(viewport={"width": 375, "height": 740}, is_mobile=True, has_touch=True)
    page.goto(f"{live_server}/c/yaan")
    assert page.is_visible("text=芦山地震救助")
    page.fill("textarea[name=text]", "我们被困在姚桥镇初级中学附属教师职工宿舍，房子全部坍塌，求救！")
    page.fill("input[name=address]", "姚桥镇初级中学")
    page.fill("input[name=phone]", "13800138000")
    page.set_input_files("input[name=photo]", str(photo))
    page.screenshot(path=str(screenshots / "citizen-form-phone.png"), full_page=True)
    page.click("button[type=submit]:has-text('发送')")
    page.wait_for_selector("#ref")
    ref = page.inner_text("#ref")
    page.screenshot(path=str(screenshots / "citizen-status-phone.png"), full_page=True)
    message = db.execute(select(Message).where(Message.ref == ref)).scalar_one()
    assert message.requested_kind == "help" and "姚桥镇初级中学附属" in message.text
    photo_type = select(Attachment.content_type).where(Attachment.message_id == message.id)
    assert db.execute(photo_type).scalar_one() == "image/jpeg"
    link = page.url.split("?")[0]
    later = browser.new_page(viewport={"width": 375, "height": 740})
    later.goto(link)
    assert later.inner_text("#ref") == ref and later.is_visible("text=姚桥镇初级中学附属教师职工宿舍")
    width = later.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"the status page scrolls sideways on a phone ({width}px)"
    later.close()
    page.close()


def test_the_page_works_without_javascript(db: Session, live_server: str, browser: Any) -> None:
    seed_demo(db)
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{live_server}/c/yaan")
    page.fill("textarea[name=text]", "咨询：临时安置点在哪里？")
    page.check("input[value=consultation]")
    page.click("button[type=submit]:has-text('发送')")
    page.wait_for_selector("#ref")
    ref = page.inner_text("#ref")
    assert db.execute(select(Message.requested_kind).where(Message.ref == ref)).scalar_one() == "consultation"
    context.close()


def test_following_by_sms_with_a_county_on_a_phone(
    db: Session,
    live_server: str,
    browser: Any,
    screenshots: Path,
    gateway: Gateway,  # noqa: F811 - the fixture imported above
) -> None:
    from wenzheng.followers.models import Follower

    seed_demo(db)
    page = browser.new_page(viewport={"width": 375, "height": 740}, is_mobile=True, has_touch=True)
    page.goto(f"{live_server}/c/yaan")
    page.fill("#follow-phone", "13900139002")
    page.fill("#follow-place", "朝阳")
    page.click("form[action*='/follow?'] button")
    assert "「朝阳」有多处" in page.inner_text("main")  # what to write instead, and nothing followed
    page.go_back()
    page.fill("#follow-phone", "13900139002")
    page.fill("#follow-place", "宝兴")
    page.screenshot(path=str(screenshots / "citizen-follow-county.png"), full_page=True)
    page.click("form[action*='/follow?'] button")

    page.wait_for_selector("#follow-code-input")
    assert "+86139****9002" in page.inner_text("#follow-code")
    texted = wait_for(lambda: [m["text"] for m in gateway.sent if m["to"] == "+8613900139002"], what="the code")
    code = texted[0].split("确认码：")[1][:6]
    page.fill("#follow-code-input", code)
    page.screenshot(path=str(screenshots / "citizen-follow-code.png"), full_page=True)
    page.click("#follow-code button")
    page.wait_for_selector("text=已关注")
    follower = db.execute(select(Follower).where(Follower.handle == "+8613900139002")).scalar_one()
    assert (follower.channel, follower.region_code) == ("sms", "511827")
    page.close()


def test_following_by_mail_is_confirmed_on_a_phone_from_the_link_in_the_answer(
    db: Session, live_server: str, browser: Any, screenshots: Path
) -> None:
    from urllib.parse import urlsplit

    from wenzheng.accounts.models import Account
    from wenzheng.followers.confirmations import FollowRequest, confirm_url
    from wenzheng.followers.models import Follower

    seed_demo(db)
    account = db.scalars(select(Account).where(Account.slug == "yaan")).one()
    # The link the answer to 「关注 宝兴县」 by mail carries (followers.confirmations).
    link = urlsplit(confirm_url("yaan", FollowRequest(account.id, "li.si@example.com", "地区 宝兴县")))
    page = browser.new_page(viewport={"width": 375, "height": 740}, is_mobile=True, has_touch=True)
    page.goto(f"{live_server}{link.path}")
    assert "l***@example.com" in page.inner_text("#confirm-follow")
    assert db.execute(select(Follower).where(Follower.handle == "li.si@example.com")).first() is None

    page.click("#confirm-follow button")

    page.wait_for_selector("text=已关注，公告将通过邮件发送到")
    assert "宝兴县" in page.inner_text("#confirm-follow")
    page.screenshot(path=str(screenshots / "citizen-follow-by-mail-confirmed.png"), full_page=True)
    db.expire_all()
    follower = db.execute(select(Follower).where(Follower.handle == "li.si@example.com")).scalar_one()
    assert (follower.channel, follower.state, follower.region_code) == ("email", "following", "511827")
    page.close()
