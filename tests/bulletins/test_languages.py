"""Bulletins in other languages: a follower asks for English, and gets the English version on every channel; the
others, and everyone when there is no English version, get the Chinese. An alert's CAP document has an info per
language."""

from __future__ import annotations

import email
import email.policy
import time
from email.header import decode_header, make_header

import defusedxml.ElementTree as SafeET
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.bulletins.conftest import add_followers, red_alert
from tests.bulletins.test_fanout import _publish
from tests.email.servers import Sink
from tests.factories import Tenant
from tests.sms.conftest import Gateway
from tests.wechat.callback_helpers import connect, push, send_text
from tests.wechat.fake_api import FakeWeChat
from wenzheng.accounts.models import Account
from wenzheng.agencies.models import Agency
from wenzheng.bulletins import cap
from wenzheng.bulletins.actions import Draft
from wenzheng.bulletins.fanout import delivery_counts
from wenzheng.bulletins.languages import clean_translations, version_of
from wenzheng.bulletins.models import Bulletin, BulletinFanout, BulletinState
from wenzheng.bulletins.senders import WeChatMode
from wenzheng.channels.wechat.simulate import event_xml
from wenzheng.errors import InvalidInput
from wenzheng.followers.languages import language_request
from wenzheng.followers.models import Follower
from wenzheng.messages.models import Message
from wenzheng.staff.models import User

ENGLISH = {
    "title": "Water back in Lushan town",
    "body": "Tap water returns at 18:00 today. Please use it sparingly.",
}
NOTICE = Draft(
    kind="notice",
    title="芦山县城区恢复供水",
    body="今日18时起城区恢复供水，请节约用水。",
    translations={"en": ENGLISH},
)


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("English", "en"),
        ("english please", "en"),
        ("语言 英文", "en"),
        ("LANGUAGE: English.", "en"),
        ("中文", "zh"),
        ("Chinese", "zh"),
        ("English speaker trapped at the school", None),  # a message, for triage
        ("中文怎么说", None),
        ("", None),
    ],
)
def test_what_asks_for_a_language_and_what_is_a_message(text: str, language: str | None) -> None:
    assert language_request(text) == language


def test_a_version_needs_a_known_language_and_a_title() -> None:
    with pytest.raises(InvalidInput) as unknown:
        clean_translations({"fr": {"title": "Eau"}}, kind="notice")
    assert unknown.value.code == "bulletin_bad_language" and "en (English)" in unknown.value.message
    with pytest.raises(InvalidInput) as untitled:
        clean_translations({"en": {"body": "Water is back."}}, kind="notice")
    assert untitled.value.code == "field_required" and untitled.value.details == {"field": "en_title"}
    # An empty version is no version; the alert-only words are dropped from a notice.
    assert clean_translations({"en": {"title": " ", "body": ""}}, kind="notice") == {}
    kept = clean_translations({"en": {"title": "Flood", "event": "Rainstorm"}}, kind="notice")
    assert kept == {"en": {"title": "Flood"}}
    assert clean_translations({"en": {"title": "Flood", "event": "Rainstorm"}}, kind="alert") == {
        "en": {"title": "Flood", "event": "Rainstorm"}
    }


def test_each_follower_gets_the_version_in_their_language_on_every_channel(
    db: Session, tenant: Tenant, supervisor: User, wechat: FakeWeChat, gateway: Gateway, mail_sink: Sink
) -> None:
    chinese_sms = add_followers(db, tenant, "sms", 2)
    english_sms = add_followers(db, tenant, "sms", 1)
    english_mail = add_followers(db, tenant, "email", 1)
    chinese_wechat = add_followers(db, tenant, "wechat", 2)
    english_wechat = add_followers(db, tenant, "wechat", 1)
    for follower in english_sms + english_mail + english_wechat:
        follower.language = "en"
    db.commit()

    bulletin = _publish(db, tenant, supervisor, NOTICE)

    assert bulletin.state == BulletinState.SENT
    assert delivery_counts(db, bulletin.id) == {"sms": {"sent": 3}, "email": {"sent": 1}, "wechat": {"sent": 3}}
    texts = {m["to"]: m["text"] for m in gateway.sent}
    for follower in chinese_sms:
        assert texts[follower.handle].startswith("【bul 公众号】芦山县城区恢复供水：今日18时起")
    [english] = [texts[f.handle] for f in english_sms]
    assert (
        english == "【bul 公众号】Water back in Lushan town: Tap water returns at 18:00 today. Please use it sparingly."
    )
    # The English reader's mail: English subject, text, link and how to stop.
    [mail] = mail_sink.mails_to(english_mail[0].handle)
    assert str(make_header(decode_header(mail.message["Subject"]))) == "Water back in Lushan town"
    parsed = email.message_from_bytes(mail.content, policy=email.policy.default)
    text = parsed.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    assert "Tap water returns" in text and "?lang=en" in text and "No more bulletins from" in text
    # WeChat: the one sendall reaches every follower, known here or not, so it carries both versions.
    assert db.get_one(BulletinFanout, bulletin.id).wechat_mode == WeChatMode.MASS_ALL
    [sendall] = wechat.calls("/cgi-bin/message/mass/sendall")
    both = sendall.json["text"]["content"]
    assert both.index("芦山县城区恢复供水") < both.index("Water back in Lushan town")
    assert len(chinese_wechat) == 2 and english_wechat[0].language == "en"


def test_a_narrowed_audience_gets_an_openid_list_per_language(
    db: Session, tenant: Tenant, supervisor: User, wechat: FakeWeChat
) -> None:
    chinese = add_followers(db, tenant, "wechat", 2, region="511826")
    english = add_followers(db, tenant, "wechat", 2, region="511826")
    add_followers(db, tenant, "wechat", 1, region="510100")  # outside the audience
    for follower in english:
        follower.language = "en"
    db.commit()
    draft = Draft(
        kind="notice",
        title=NOTICE.title,
        body=NOTICE.body,
        audience={"regions": ["511826"]},
        translations={"en": ENGLISH},
    )

    bulletin = _publish(db, tenant, supervisor, draft)

    assert db.get_one(BulletinFanout, bulletin.id).wechat_mode == WeChatMode.MASS_LIST
    assert not wechat.calls("/cgi-bin/message/mass/sendall")
    sent = {
        call.json["text"]["content"]: set(call.json["touser"]) for call in wechat.calls("/cgi-bin/message/mass/send")
    }
    assert len(sent) == 2
    [chinese_list] = [users for content, users in sent.items() if "芦山县城区恢复供水" in content]
    [english_list] = [users for content, users in sent.items() if "Water back in Lushan town" in content]
    assert chinese_list == {f.handle for f in chinese} and english_list == {f.handle for f in english}
    assert delivery_counts(db, bulletin.id) == {"wechat": {"sent": 4}}


def test_without_a_version_in_their_language_followers_get_the_chinese_and_wechat_its_sendall(
    db: Session, tenant: Tenant, supervisor: User, wechat: FakeWeChat, gateway: Gateway
) -> None:
    english_sms = add_followers(db, tenant, "sms", 1)
    add_followers(db, tenant, "wechat", 2)
    english_sms[0].language = "en"
    db.commit()

    bulletin = _publish(db, tenant, supervisor, Draft(kind="notice", title="停水通知", body="明日9时至17时停水。"))

    [sms] = gateway.sent
    assert sms["text"].startswith("【bul 公众号】停水通知：明日9时至17时停水。") and "?lang=" not in sms["text"]
    assert db.get_one(BulletinFanout, bulletin.id).wechat_mode == WeChatMode.MASS_ALL
    assert len(wechat.calls("/cgi-bin/message/mass/sendall")) == 1


def test_an_alert_in_two_languages_has_a_cap_info_for_each(db: Session, tenant: Tenant) -> None:
    draft = red_alert()
    english = {
        "title": "Red rainstorm warning for Lushan",
        "body": "Over 100 mm of rain expected in Lushan County within 3 hours.",
        "instruction": "Leave low ground and river banks now.",
        "event": "Rainstorm",
        "area_desc": "Lushan County",
    }
    bulletin = Bulletin(
        agency_id=tenant.agency.id,
        account_id=tenant.account.id,
        kind="alert",
        state="sent",
        title=draft.title,
        body=draft.body,
        cap_event="暴雨",
        cap_category="Met",
        cap_urgency="Immediate",
        cap_certainty="Likely",
        cap_response_type="Evacuate",
        cap_instruction="请立即撤离低洼地带。",
        warning_colour="red",
        area_desc="芦山县",
        area_codes=["511826"],
        translations=clean_translations({"en": english}, kind="alert"),
    )
    db.add(bulletin)
    db.flush()  # an id for its address; built, not stored
    agency = db.get_one(Agency, tenant.agency.id)
    agency.name_en = "Lushan Emergency Management Bureau"
    document = cap.alert_document(
        bulletin,
        account=db.get_one(Account, tenant.account.id),
        agency=agency,
        references=[],
        base_url="https://wz.example.cn",
    )
    parsed = cap.parse_alert(document)
    chinese, english_info = parsed["infos"]
    assert (chinese["language"], chinese["event"], chinese["headline"]) == ("zh-CN", "暴雨", "暴雨红色预警")
    assert (english_info["language"], english_info["event"]) == ("en-US", "Rainstorm")
    assert english_info["headline"] == "Red rainstorm warning for Lushan"
    assert english_info["instruction"] == "Leave low ground and river banks now."
    assert english_info["area_desc"] == "Lushan County" and english_info["geocodes"] == [("GB/T 2260", "511826")]
    assert english_info["web"].endswith(f"/bulletins/{bulletin.id}?lang=en")
    assert (chinese["sender_name"], english_info["sender_name"]) == (agency.name, "Lushan Emergency Management Bureau")
    # CAP: the same category, urgency, severity, certainty and times in every language.
    for name in ("categories", "urgency", "severity", "certainty", "effective", "response_types", "parameters"):
        assert chinese[name] == english_info[name], name
    root = SafeET.fromstring(document)
    infos = root.findall("{urn:oasis:names:tc:emergency:cap:1.2}info")
    assert len(infos) == 2 and parsed["headline"] == "暴雨红色预警"  # the first info stays the Chinese


def test_a_wechat_follower_asks_for_english_and_is_answered_in_it(client: TestClient, db: Session) -> None:
    connected = connect(db, mode="plaintext")
    push(client, connected, event_xml("subscribe", openid="o_en", create_time=int(time.time())))

    status, reply = send_text(client, connected, "English", openid="o_en")

    assert status == 200 and "will send you its bulletins in English" in reply
    follower = db.execute(select(Follower).where(Follower.handle == "o_en")).scalar_one()
    assert follower.language == "en"
    stored = db.execute(select(Message).where(Message.kind == "event", Message.event == "language")).scalar_one()
    assert stored.ref is None  # not a case for triage
    status, reply = send_text(client, connected, "中文", openid="o_en")
    db.refresh(follower)
    assert follower.language is None and "将以中文发送给您" in reply


def test_the_citizen_page_shows_the_version_in_its_language(
    client: TestClient, db: Session, tenant: Tenant, supervisor: User, wechat: FakeWeChat
) -> None:
    bulletin = _publish(db, tenant, supervisor, NOTICE)
    page = f"/c/{tenant.account.slug}/bulletins/{bulletin.id}"

    english = client.get(f"{page}?lang=en")
    chinese = client.get(page)

    assert english.status_code == 200 and "Water back in Lushan town" in english.text
    assert "恢复供水" not in english.text and 'lang="en"' in english.text
    assert "芦山县城区恢复供水" in chinese.text and "Water back" not in chinese.text
    listed = client.get(f"/c/{tenant.account.slug}?lang=en")
    assert "Water back in Lushan town" in listed.text
    assert version_of(bulletin, "fr").title == "芦山县城区恢复供水"  # no such version: the Chinese
