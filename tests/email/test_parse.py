"""Parsing mail without a server: charsets, HTML, identities and threading headers."""

from __future__ import annotations

import datetime as dt

from tests.email.mails import CITIZEN, RESCUE_TEXT, gbk_mail, mail
from wenzheng.channels.email.parse import html_to_text, parse_mail


def test_gbk_mail_labelled_gb2312_keeps_every_character() -> None:
    parsed = parse_mail(gbk_mail(message_id="gbk-1@example.com"))
    assert parsed.text == RESCUE_TEXT  # '堃' is GBK only: a strict GB2312 decoder would lose it
    assert parsed.subject == "求救：姚桥镇"
    assert parsed.sender == CITIZEN
    assert parsed.message_id == "gbk-1@example.com"
    assert parsed.sent_at == dt.datetime(2013, 4, 20, 2, 15, tzinfo=dt.UTC)


def test_html_only_mail_becomes_readable_text() -> None:
    html = (
        "<html><head><title>ignored</title><style>p{color:red}</style></head><body>"
        "<p>房屋倒塌&nbsp;&amp;&nbsp;有人受伤</p><div>地址：<b>雨城区</b>大北街</div>"
        "<script>alert('x')</script><ul><li>一</li><li>二</li></ul></body></html>"
    )
    parsed = parse_mail(mail(html=html).as_bytes())
    assert parsed.text == "房屋倒塌 & 有人受伤\n\n地址：雨城区大北街\n\n一\n\n二"


def test_plain_text_is_preferred_to_html() -> None:
    message = mail("纯文本内容")
    message.add_alternative("<p>网页内容</p>", subtype="html")
    assert parse_mail(message.as_bytes()).text == "纯文本内容"


def test_threading_headers_most_recent_first_and_subject_references() -> None:
    message = mail(subject="Re: 咨询 [20130420-000123]")
    message["In-Reply-To"] = "<c@ours>"
    message["References"] = "<a@x> <b@y> <c@ours>"
    parsed = parse_mail(message.as_bytes())
    assert parsed.replied_ids == ("c@ours", "b@y", "a@x")
    assert parsed.references == ("a@x", "b@y", "c@ours")
    assert parsed.subject_refs == ("20130420-000123",)


def test_a_mail_without_message_id_gets_a_stable_identity() -> None:
    message = mail()
    del message["Message-ID"]
    first, second = parse_mail(message.as_bytes()), parse_mail(message.as_bytes())
    assert first.message_id.startswith("sha256:") and first.message_id == second.message_id
    assert not first.has_own_id


def test_auto_replies_bounces_and_lists_are_automatic() -> None:
    assert not parse_mail(mail().as_bytes(), envelope_sender=CITIZEN).automatic
    assert parse_mail(mail(headers={"Auto-Submitted": "auto-replied"}).as_bytes()).automatic
    assert parse_mail(mail(headers={"Precedence": "bulk"}).as_bytes()).automatic
    assert parse_mail(mail().as_bytes(), envelope_sender="").automatic  # MAIL FROM:<>, a bounce


def test_html_to_text_drops_markup_only() -> None:
    assert html_to_text("a<br>b<span>c</span>") == "a\nbc"


def test_raw_8bit_headers_and_nul_characters_are_made_safe_to_store() -> None:
    head = "Subject: 求救\r\nFrom: a@b.cn\r\nContent-Type: text/plain; charset=gbk\r\n"
    head += "Content-Transfer-Encoding: 8bit\r\n"
    parsed = parse_mail(head.encode("gbk") + b"\r\n" + "房子塌了\x00".encode("gbk"))
    assert (parsed.subject, parsed.text) == ("求救", "房子塌了")


def test_an_overlong_message_id_is_replaced_by_its_digest() -> None:
    parsed = parse_mail(mail(message_id="x" * 300 + "@example.com").as_bytes())
    assert parsed.message_id.startswith("sha256:") and len(parsed.message_id) <= 200


def test_an_answer_keeps_only_what_it_adds() -> None:
    body = "好的，谢谢。\n\n-----原始邮件-----\n发件人: help@yaan.example.cn\n已收到您的消息"
    assert parse_mail(mail(body, in_reply_to="ack@ours").as_bytes()).text == "好的，谢谢。"
    gmail = "收到\n\nOn Sat, Apr 20, 2013 at 10:16 AM 雅安 <help@yaan.example.cn> wrote:\n> 已收到"
    assert parse_mail(mail(gmail, in_reply_to="ack@ours").as_bytes()).text == "收到"
    below = "> 已收到您的消息\n我在下面写：地址是大北街"
    assert parse_mail(mail(below, in_reply_to="ack@ours").as_bytes()).text == "我在下面写：地址是大北街"
    assert parse_mail(mail(body).as_bytes()).text == body  # not an answer (a forward): kept whole


def test_an_answer_from_a_phone_loses_its_signature() -> None:
    """A rating answered from a phone is the lone digit the follow-up looks for."""
    iphone = "5\n\n发自我的iPhone\n\n----- 原始邮件 -----\n发件人: help@yaan.example.cn\n请评价"
    assert parse_mail(mail(iphone, in_reply_to="ack@ours").as_bytes()).text == "5"
    dashes = "4\n-- \n王芳\n雅安市雨城区"
    assert parse_mail(mail(dashes, in_reply_to="ack@ours").as_bytes()).text == "4"
    outlook = "已解决，谢谢\n\nGet Outlook for Android"
    assert parse_mail(mail(outlook, in_reply_to="ack@ours").as_bytes()).text == "已解决，谢谢"
    told = "我的地址--雨城区大北街\n发自我的手机"  # a "--" inside a line is not a delimiter
    assert parse_mail(mail(told, in_reply_to="ack@ours").as_bytes()).text == "我的地址--雨城区大北街"
