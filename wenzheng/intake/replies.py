"""The instant answer to an inbound item, decided inside intake's transaction and never waiting on triage:
a keyword auto-reply, a welcome on follow, a status answer, or an acknowledgement with the reference."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from wenzheng.accounts.models import Account
from wenzheng.autoreplies.match import Rule, matching_rule, rules_of_account
from wenzheng.cases.followup import rating_reply
from wenzheng.followers.languages import chosen_reply, language_request
from wenzheng.followers.regions import region_reply, region_request
from wenzheng.intake.actions import Reply
from wenzheng.intake.inbound import FollowAction
from wenzheng.messages.models import Message
from wenzheng.triage.normalize import detect_language

STATUS_QUERY = re.compile(r"^\s*(查询|查|status|STATUS|Status)\s*[:：]?\s*(\d{8}-\d{6,})\s*$")
DEFAULT_WELCOME = (
    "感谢关注{account}。直接发送文字、图片、语音或位置即可求助、咨询或投诉，我们会给您一个受理编号。"
    "如遇生命危险，请同时拨打 110 / 119 / 120。\nFor bulletins in English, reply: English"
)
ACKNOWLEDGEMENT = (
    "已收到您的消息，受理编号：{ref}。\n回复「查询 {ref}」可查看办理进度。\n如遇生命危险，请同时拨打 110 / 119 / 120。"
)
# To a message written in English, or in another language in Latin letters (Haitian Creole, French): someone who
# writes so may read no Chinese at all.
ACKNOWLEDGEMENT_EN = (
    "We have your message. Your reference: {ref}.\nReply “STATUS {ref}” to see where it stands.\n"
    "If a life is in danger, also call 110 (police), 119 (fire) or 120 (ambulance)."
)
_LATIN = re.compile(r"[A-Za-z]{2}")
STATUS_TEXT = {
    "received": "已受理，正在分派处理。",
}
# Asked with STATUS (what the English acknowledgement says to write), answered in English.
STATUS_TEXT_EN = {
    "received": "received, and being passed to the people who handle it.",
}


def decide_reply(session: Session, account: Account, message: Message, *, welcome_text: str = "") -> Reply | None:
    if message.kind == "event":
        return _event_reply(session, account, message, welcome_text)
    if message.kind == "text":
        rated = rating_reply(session, message)  # 回访: a lone digit 1–5 answers a resolved case's request
        if rated is not None:
            return text_reply(rated)
        status = _status_reply(session, message)
        if status is not None:
            return status
        rule = matching_rule(rules_of_account(session, account.id), message.text)
        if rule is not None:
            return rule_reply(rule, articles_allowed=1)
    return text_reply(acknowledgement(message))


def acknowledgement(message: Message) -> str:
    """The case number and how to follow it up, in English when the message is not written in Chinese."""
    text = message.text or ""
    # Most messages have no Latin word at all: one regex search, not the whole language detection, answers them.
    if message.kind == "text" and _LATIN.search(text) and detect_language(text) != "zh":
        return ACKNOWLEDGEMENT_EN.format(ref=message.ref)
    return ACKNOWLEDGEMENT.format(ref=message.ref)


def _event_reply(session: Session, account: Account, message: Message, welcome_text: str) -> Reply | None:
    if message.event == "subscribe":
        return text_reply(welcome_text or DEFAULT_WELCOME.format(account=account.name))
    if message.event == "click":
        rule = matching_rule(rules_of_account(session, account.id), message.text)
        return rule_reply(rule, articles_allowed=8) if rule else None
    if message.event == FollowAction.PLACE:
        named = region_request(message.location_label or message.text or "")
        return text_reply(region_reply(named)) if named is not None else None
    if message.event == FollowAction.LANGUAGE:
        chosen = language_request(message.text or "")
        return text_reply(chosen_reply(chosen, account.name)) if chosen is not None else None
    return None


def _status_reply(session: Session, message: Message) -> Reply | None:
    match = STATUS_QUERY.match(message.text)
    if match is None:
        return None
    english, ref = match.group(1).lower() == "status", match.group(2)
    asked = session.execute(
        select(Message)
        .where(Message.account_id == message.account_id)
        .where(Message.ref == ref)
        .where(Message.citizen_id == message.citizen_id)  # only the sender may ask about their own message
    ).scalar_one_or_none()
    if asked is None:
        if english:
            return text_reply(f"We found no message of yours with the reference {ref}; check it and try again.")
        return text_reply(f"没有找到您的受理编号 {ref}，请核对后重试。")
    answer = _latest_answer(session, asked)
    if english:
        status = f"Reference {ref}: {STATUS_TEXT_EN.get(asked.status, asked.status)}"
        return text_reply(f"{status}\nAnswer: {answer}" if answer else status)
    status = f"受理编号 {ref}：{STATUS_TEXT.get(asked.status, asked.status)}"
    return text_reply(f"{status}\n答复：{answer}" if answer else status)


def _latest_answer(session: Session, asked: Message) -> str | None:
    """The newest answer staff sent in this conversation, on any channel (the status page included)."""
    return session.execute(
        select(Message.text)
        .where(Message.account_id == asked.account_id)
        .where(Message.parent_id == (asked.parent_id or asked.id))
        .where(Message.direction == "out", Message.status.in_(("sent", "delivered")))
        .order_by(Message.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def rule_reply(rule: Rule, *, articles_allowed: int) -> Reply:
    if rule.reply_type == "news" and rule.articles:
        return {"type": "news", "articles": [dict(article) for article in rule.articles[:articles_allowed]]}
    return text_reply(rule.reply_text)


def text_reply(content: str) -> Reply:
    return {"type": "text", "content": content}
