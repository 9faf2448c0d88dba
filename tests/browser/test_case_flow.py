"""A P0 from WeChat reaches the open queue live; the operator takes it and answers, and the answer reaches the
(local) WeChat API; a viewer sees phone numbers masked; another agency's admin gets 404 for the case."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.browser.test_console import _log_in
from tests.wechat.conftest import fake_wechat_server, wechat  # noqa: F401 - the local WeChat API
from tests.wechat.fake_api import FakeWeChat
from wenzheng.cases.models import Case
from wenzheng.channels.wechat.simulate import Credentials, signed_push, text_xml
from wenzheng.demo import DEMO_WECHAT, seed_demo

PLEA = "地震后我们五个人被埋在龙门乡古城村小学教学楼下面，有人受伤，快来救我们！"


def test_a_p0_is_taken_answered_through_wechat_masked_for_viewers_and_hidden_from_others(
    db: Session,
    live_server: str,
    browser: Any,
    screenshots: Path,
    wechat: FakeWeChat,  # noqa: F811 - the fixture imported above
) -> None:
    seed_demo(db)
    wechat.register_app(DEMO_WECHAT["app_id"], DEMO_WECHAT["app_secret"])
    operator = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    _log_in(operator, live_server, "yaan-operator")
    operator.click("nav.tabs >> text=工单")
    operator.wait_for_selector("table")

    sent_at = time.monotonic()
    _citizen_writes(live_server, PLEA, openid="o_buried_5", msg_id=5_900_001_001)
    operator.wait_for_selector("tbody tr:first-child:has-text('古城村小学')", timeout=2000)
    assert time.monotonic() - sent_at < 2.0

    operator.click("tbody tr:first-child a")
    operator.click("button:has-text('我来承办')")
    operator.wait_for_selector("text=承办人: 张伟")
    answer = "救援队已出发前往龙门乡古城村小学，请保持体力，尽量敲击发出声音。"
    operator.fill("#answer-all-text", answer)
    operator.once("dialog", lambda dialog: dialog.accept())
    operator.click("button:has-text('答复工单中的所有市民')")
    operator.wait_for_selector("text=已答复全部市民")
    [sent] = [c for c in wechat.calls("/cgi-bin/message/custom/send") if c.json["touser"] == "o_buried_5"]
    assert sent.json["msgtype"] == "text" and answer in sent.json["text"]["content"]
    operator.screenshot(path=str(screenshots / "console-case-answered.png"), full_page=True)
    case_id = db.scalars(select(Case.id).where(Case.summary.contains("古城村小学"))).one()

    viewer = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    _log_in(viewer, live_server, "yaan-viewer")
    viewer.click("text=芦山地震救助")
    viewer.click("text=来信")
    viewer.wait_for_selector("text=龙门乡青龙场村有三位老人")
    page_text = viewer.inner_text("main")
    assert "+8613908161234" not in page_text and "****" in page_text  # the demo SMS sender, masked
    viewer.screenshot(path=str(screenshots / "console-inbox-viewer-masked.png"), full_page=True)

    stranger = browser.new_context().new_page()
    _log_in(stranger, live_server, "police-admin")
    answer_page = stranger.goto(f"{live_server}/console/cases/{case_id}")
    assert answer_page is not None and answer_page.status == 404


def test_an_answer_wechat_refuses_later_shows_on_the_case_and_the_message(
    db: Session,
    live_server: str,
    browser: Any,
    screenshots: Path,
    wechat: FakeWeChat,  # noqa: F811 - the fixture imported above
) -> None:
    seed_demo(db)
    wechat.register_app(DEMO_WECHAT["app_id"], DEMO_WECHAT["app_secret"])
    text = "灵关镇大渔村的桥被冲断了，村里二十多户出不去，有一位孕妇快生了"
    _citizen_writes(live_server, text, openid="o_bridge", msg_id=5_900_001_002)
    case = db.scalars(select(Case).where(Case.summary.contains("大渔村"))).one()
    wechat.fail("/cgi-bin/message/custom/send", 45015)  # the citizen unfollowed before the job ran

    operator = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    _log_in(operator, live_server, "yaan-operator")
    operator.goto(f"{live_server}/console/cases/{case.id}")
    operator.click(f"a:has-text('{case.ref}')")  # to the message, to answer it on its own channel
    operator.fill("#reply textarea[name=text]", "已通知交通部门架设临时便桥，医疗队今晚进村。")
    operator.click("#reply button[value=wechat]")
    operator.wait_for_selector("[data-status=failed]")
    reason = operator.inner_text("[data-code=wechat_outside_window]")
    assert "超过 48 小时未来信" in reason and "请在下面改用其他方式再答复一次" in reason
    operator.screenshot(path=str(screenshots / "console-message-undelivered.png"), full_page=True)

    operator.goto(f"{live_server}/console/cases/{case.id}")
    alert = operator.wait_for_selector("#undelivered")
    assert "有答复未送达市民" in alert.inner_text()
    assert "承办" in operator.inner_text("h1")  # back in progress, not answered
    operator.screenshot(path=str(screenshots / "console-case-undelivered.png"))


def _citizen_writes(live_server: str, text: str, *, openid: str, msg_id: int) -> None:
    """A WeChat message to the demo account, signed and encrypted as WeChat sends it."""
    credentials = Credentials(
        token=DEMO_WECHAT["token"],
        app_id=DEMO_WECHAT["app_id"],
        aes_key=DEMO_WECHAT["aes_key"],
        original_id=DEMO_WECHAT["original_id"],
    )
    query, body = signed_push(credentials, text_xml(text, openid=openid, msg_id=msg_id), encrypt=True)
    assert httpx.post(f"{live_server}/wechat/yaan?{query}", content=body).status_code == 200
