"""Handing a page of deliveries to the channels, outside any database transaction.

Each sender takes recipients and gives back an Outcome per delivery: sent (the channel accepted it), retry
(a temporary failure: the channel was busy or unreachable) or failed (permanent, with the reason). Every
hand-off carries an idempotency key derived from the delivery (WeChat ``clientmsgid``/``client_msg_id``,
the SMS gateway's ``client_ref``, the e-mail Message-ID, the push notification's ``tag``), so a page sent
again after a crash is recognised as the same by the channel.

WeChat followers are reached by a mass send (群发) while the account's quota allows: to everyone in one call
when the bulletin goes to all followers, else by OpenID lists of up to 10,000; when the quota is spent, by
template messages (模板消息) if the account set a bulletin template; otherwise through the follower's other
channels (SMS, e-mail) — see ``fanout.decide_wechat_mode``.
"""

from __future__ import annotations

import smtplib
import ssl
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from wenzheng.bulletins.pace import LocalRateLimiter, RateLimiter, SharedRateLimiter
from wenzheng.channels.sms.gateway import send_sms
from wenzheng.channels.sms.segments import measure
from wenzheng.channels.wechat import api
from wenzheng.channels.wechat.errors import AccessTokenRejected, WeChatApiError
from wenzheng.config import get_settings
from wenzheng.db import get_engine, session_factory, utcnow
from wenzheng.errors import WenzhengError
from wenzheng.followers.languages import CHINESE
from wenzheng.followers.links import unsubscribe_url

if TYPE_CHECKING:
    from wenzheng.bulletins.webpush import PushTarget, Vapid

MASS_LIST_MAX = 10_000  # OpenIDs per /message/mass/send call
TEMPLATE_TITLE_MAX = 20  # a template's thing field


class WeChatMode:
    MASS_ALL = "mass_all"  # one /message/mass/sendall to every follower
    MASS_LIST = "mass_list"  # /message/mass/send to OpenID lists
    TEMPLATE = "template"
    FALLBACK = "fallback"  # the follower's other channels


@dataclass(frozen=True)
class Recipient:
    delivery_id: int
    follower_id: int
    channel: str
    handle: str  # OpenID, phone number, e-mail address, push endpoint hash
    language: str | None = None  # the language the follower reads bulletins in (followers.languages)


@dataclass(frozen=True)
class Outcome:
    state: str  # sent, retry, failed (DeliveryState)
    via: str
    reason: str = ""
    provider_ref: str = ""


@dataclass(frozen=True)
class Content:
    """What goes out, with everything a sender needs, read once per page."""

    bulletin_id: int
    account_id: int
    account_name: str
    kind: str
    title: str
    body: str
    url: str  # the bulletin on the citizen page
    account_slug: str = ""
    language: str = CHINESE  # the language of title and body (bulletins.languages)
    sms_sender: str = ""
    mail_sender: str = ""
    wechat_mode: str = ""
    wechat_token: str = ""
    wechat_msg_id: str = ""  # set once the mass send to everyone was accepted
    wechat_error: str = ""  # why WeChat refused it
    template_id: str = ""
    push_payload: dict[str, Any] = field(default_factory=dict)
    push_targets: Mapping[int, PushTarget] = field(default_factory=dict)  # by follower id
    vapid: Vapid | None = None
    push_ttl: int = 86400
    push_urgency: str = "normal"
    # For WeChat followers reached through their other channels: delivery id → (channel, handle).
    fallbacks: dict[int, tuple[str, str]] = field(default_factory=dict)


UNFOLLOW_SUBJECT = "退订"  # what the account's mailbox takes as an unfollow (followers.keywords)
_limiters: dict[str, RateLimiter] = {}
_limiters_lock = threading.Lock()


def limiter(channel: str) -> RateLimiter:
    """The channel's pace: kept in the database on PostgreSQL, where several workers send (bulletins.pace)."""
    settings = get_settings()
    rates = {
        "wechat": settings.bulletin_wechat_calls_per_minute / 60.0,
        "sms": settings.bulletin_sms_per_second,
        "email": settings.bulletin_email_per_second,
        "webpush": settings.bulletin_push_per_second,
    }
    shared = get_engine().dialect.name == "postgresql"
    with _limiters_lock:
        found = _limiters.get(channel)
        if found is None or found.per_second != rates[channel] or isinstance(found, SharedRateLimiter) != shared:
            found = _limiters[channel] = (
                SharedRateLimiter(f"bulletins.{channel}", rates[channel], session_factory)
                if shared
                else LocalRateLimiter(rates[channel])
            )
        return found


def sms_text(content: Content) -> str:
    """【account】title：body (title: body in a language other than Chinese), cut to the configured number of
    segments, ending with the link when cut."""
    colon = "：" if content.language == CHINESE else ": "
    full = f"【{content.account_name}】{content.title}{colon}{content.body}".rstrip(colon)
    if measure(full).segments <= get_settings().bulletin_sms_max_segments:
        return full
    suffix = f"… {content.url}"
    text = full
    while text and measure(text + suffix).segments > get_settings().bulletin_sms_max_segments:
        text = text[: max(0, len(text) - max(1, len(text) // 20))]
    return text + suffix


def mail_message(content: Content, to: str, delivery_id: int, *, follower_id: int | None = None) -> EmailMessage:
    """A bulletin as mail. To an e-mail follower (``follower_id``) it says how to stop — a link, or a reply 退订,
    which the account's mailbox takes as an unfollow — and carries both as List-Unsubscribe with RFC 8058's
    one-click, so that mail programs show their own button; a WeChat follower reached by mail as a fallback
    unfollows on WeChat instead."""
    mail = EmailMessage()
    mail["From"] = Address(display_name=content.account_name, addr_spec=content.mail_sender)
    mail["To"] = to
    mail["Subject"] = content.title
    mail["Date"] = format_datetime(utcnow())
    mail["Message-ID"] = f"<bulletin-{content.bulletin_id}-{delivery_id}@{get_settings().mail_domain}>"
    mail["Auto-Submitted"] = "auto-generated"
    mail["List-Id"] = f"<account-{content.account_id}.{get_settings().mail_domain}>"
    footer = ""
    if follower_id is not None:
        link = unsubscribe_url(content.account_slug, follower_id)
        mail["List-Unsubscribe"] = f"<{link}>, <mailto:{content.mail_sender}?subject={quote(UNFOLLOW_SUBJECT)}>"
        mail["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        footer = _unsubscribe_footer(content, link)
    mail.set_content(f"{content.body}\n\n{content.url}\n{footer}")
    return mail


def _unsubscribe_footer(content: Content, link: str) -> str:
    if content.language != CHINESE:
        return (
            f"\n--\nNo more bulletins from {content.account_name}? Reply to this mail with "
            f"{UNFOLLOW_SUBJECT} (or STOP), or open: {link}\n"
        )
    return f"\n--\n不想再收到「{content.account_name}」的公告？回复本邮件「{UNFOLLOW_SUBJECT}」，或打开：{link}\n"


def send_page(content: Content, recipients: Sequence[Recipient]) -> dict[int, Outcome]:
    """Hand every recipient of a page to its channel; an Outcome per delivery id."""
    by_channel: dict[str, list[Recipient]] = {}
    for recipient in recipients:
        channel = recipient.channel
        if channel == "wechat" and content.wechat_mode == WeChatMode.FALLBACK:
            channel = "fallback"
        by_channel.setdefault(channel, []).append(recipient)
    outcomes: dict[int, Outcome] = {}
    for channel, group in by_channel.items():
        sender = SENDERS.get(channel)
        if sender is None:
            outcomes.update(
                {r.delivery_id: Outcome("failed", channel, f"no sender for channel {channel}") for r in group}
            )
            continue
        outcomes.update(sender(content, group))
    return outcomes


def _send_wechat(content: Content, recipients: Sequence[Recipient]) -> dict[int, Outcome]:
    if content.wechat_mode == WeChatMode.MASS_ALL:
        # The one sendall went out when the fan-out started (fanout.ensure_mass_all); each copy rides on it.
        if not content.wechat_msg_id:
            reason = f"WeChat refused the mass send: {content.wechat_error or 'no msg_id'}"[:200]
            return {r.delivery_id: Outcome("failed", "wechat_mass", reason) for r in recipients}
        return {r.delivery_id: Outcome("sent", "wechat_mass", provider_ref=content.wechat_msg_id) for r in recipients}
    if content.wechat_mode == WeChatMode.MASS_LIST:
        return _send_mass_lists(content, recipients)
    if content.wechat_mode == WeChatMode.TEMPLATE:
        return _concurrently("wechat", recipients, lambda r: _send_template(content, r))
    return {r.delivery_id: Outcome("failed", "wechat", "the account has no WeChat connection") for r in recipients}


def _send_mass_lists(content: Content, recipients: Sequence[Recipient]) -> dict[int, Outcome]:
    outcomes: dict[int, Outcome] = {}
    for start in range(0, len(recipients), MASS_LIST_MAX):
        chunk = recipients[start : start + MASS_LIST_MAX]
        limiter("wechat").take()
        body = {
            "touser": [r.handle for r in chunk] if len(chunk) > 1 else [chunk[0].handle, chunk[0].handle],
            "msgtype": "text",
            "text": {"content": wechat_text(content)},
            "clientmsgid": f"wz-b{content.bulletin_id}-d{chunk[0].delivery_id}",
            "send_ignore_reprint": 0,
        }
        outcome = _mass_outcome(content, body)
        outcomes.update({r.delivery_id: outcome for r in chunk})
    return outcomes


def _mass_outcome(content: Content, body: dict[str, Any]) -> Outcome:
    try:
        answer = api.post_json("/cgi-bin/message/mass/send", content.wechat_token, body)
    except WeChatApiError as error:
        if error.errcode == 45065 and error.response.get("msg_id") is not None:
            return Outcome("sent", "wechat_mass", provider_ref=str(error.response["msg_id"]))
        return _failure("wechat_mass", error)
    return Outcome("sent", "wechat_mass", provider_ref=str(answer.get("msg_id", "")))


def wechat_text(content: Content) -> str:
    return f"【{content.title}】\n{content.body}\n{content.url}".strip()


def _send_template(content: Content, recipient: Recipient) -> Outcome:
    body = {
        "touser": recipient.handle,
        "template_id": content.template_id,
        "url": content.url,
        "client_msg_id": f"wz-b{content.bulletin_id}-d{recipient.delivery_id}",
        "data": {
            "thing1": {"value": content.title[:TEMPLATE_TITLE_MAX]},
            "time2": {"value": utcnow().strftime("%Y-%m-%d %H:%M")},
        },
    }
    try:
        answer = api.post_json("/cgi-bin/message/template/send", content.wechat_token, body)
    except WeChatApiError as error:
        return _failure("wechat_template", error)
    return Outcome("sent", "wechat_template", provider_ref=str(answer.get("msgid", "")))


def _send_sms(content: Content, recipients: Sequence[Recipient], via: str = "sms") -> dict[int, Outcome]:
    text = sms_text(content)

    def one(recipient: Recipient) -> Outcome:
        try:
            ref = send_sms(
                to=recipient.handle,
                sender=content.sms_sender,
                text=text,
                client_ref=f"bulletin-{content.bulletin_id}-{recipient.delivery_id}",
            )
        except WenzhengError as error:
            return Outcome("retry", via, error.message[:200])
        return Outcome("sent", via, provider_ref=ref)

    if not content.sms_sender:
        return {r.delivery_id: Outcome("failed", via, "the account has no SMS number") for r in recipients}
    return _concurrently("sms", recipients, one)


def _send_email(content: Content, recipients: Sequence[Recipient], via: str = "email") -> dict[int, Outcome]:
    """One SMTP connection for the page; a refused address fails alone, a lost relay retries the rest."""
    settings = get_settings()
    outcomes: dict[int, Outcome] = {}
    if not content.mail_sender:
        return {r.delivery_id: Outcome("failed", via, "the account has no e-mail address") for r in recipients}
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=30) as smtp:
            if settings.smtp_starttls:
                smtp.starttls(context=ssl.create_default_context())
            if settings.smtp_username:
                smtp.login(settings.smtp_username, settings.smtp_password)
            for recipient in recipients:
                limiter("email").take()
                try:
                    smtp.send_message(
                        mail_message(
                            content,
                            recipient.handle,
                            recipient.delivery_id,
                            follower_id=recipient.follower_id if via == "email" else None,
                        ),
                        from_addr=content.mail_sender,
                        to_addrs=[recipient.handle],
                    )
                except smtplib.SMTPRecipientsRefused as error:
                    code, answer = next(iter(error.recipients.values()))
                    state = "retry" if 400 <= code < 500 else "failed"
                    outcomes[recipient.delivery_id] = Outcome(state, via, f"{code} {_text(answer)}"[:200])
                else:
                    outcomes[recipient.delivery_id] = Outcome("sent", via)
    except (OSError, smtplib.SMTPException) as error:
        reason = f"the mail relay failed: {error}"[:200]
        for recipient in recipients:
            outcomes.setdefault(recipient.delivery_id, Outcome("retry", via, reason))
    return outcomes


def _text(answer: bytes | str) -> str:
    return answer.decode(errors="replace") if isinstance(answer, bytes) else answer


def _send_push(content: Content, recipients: Sequence[Recipient]) -> dict[int, Outcome]:
    from wenzheng.bulletins import webpush

    targets, vapid, payload = content.push_targets, content.vapid, content.push_payload
    if vapid is None:
        return {r.delivery_id: Outcome("failed", "webpush", "no VAPID key") for r in recipients}
    present = [r for r in recipients if r.follower_id in targets]
    outcomes = {
        r.delivery_id: Outcome("failed", "webpush", "the browser's subscription is gone")
        for r in recipients
        if r.follower_id not in targets
    }
    limiter("webpush").take(len(present))
    results = webpush.send_many(
        [targets[r.follower_id] for r in present],
        payload,
        vapid=vapid,
        ttl=content.push_ttl,
        urgency=content.push_urgency,
        topic=f"bulletin-{content.bulletin_id}",
        concurrency=get_settings().bulletin_send_concurrency,
    )
    for recipient in present:
        result = results[targets[recipient.follower_id].subscription_id]
        if result.ok:
            outcomes[recipient.delivery_id] = Outcome("sent", "webpush", provider_ref=str(result.status or ""))
        else:
            state = "retry" if result.retryable else "failed"
            reason = ("gone: " if result.gone else "") + result.reason
            outcomes[recipient.delivery_id] = Outcome(state, "webpush", reason[:200])
    return outcomes


def _send_fallback(content: Content, recipients: Sequence[Recipient]) -> dict[int, Outcome]:
    """WeChat followers when WeChat cannot carry the bulletin: by SMS or e-mail where we know them."""
    outcomes: dict[int, Outcome] = {}
    by_channel: dict[str, list[Recipient]] = {}
    for recipient in recipients:
        other = content.fallbacks.get(recipient.delivery_id)
        if other is None:
            outcomes[recipient.delivery_id] = Outcome(
                "failed",
                "wechat",
                "WeChat cannot carry it (mass sends spent or refused, no template), and no other channel known",
            )
            continue
        channel, handle = other
        by_channel.setdefault(channel, []).append(
            Recipient(recipient.delivery_id, recipient.follower_id, channel, handle, recipient.language)
        )
    if "phone" in by_channel:
        outcomes.update(_send_sms(content, by_channel["phone"], via="sms_fallback"))
    if "email" in by_channel:
        outcomes.update(_send_email(content, by_channel["email"], via="email_fallback"))
    return outcomes


def _concurrently(
    channel: str, recipients: Iterable[Recipient], send: Callable[[Recipient], Outcome]
) -> dict[int, Outcome]:
    items = list(recipients)

    def paced(recipient: Recipient) -> Outcome:
        limiter(channel).take()
        return send(recipient)

    with ThreadPoolExecutor(max_workers=min(get_settings().bulletin_send_concurrency, max(1, len(items)))) as pool:
        return {r.delivery_id: outcome for r, outcome in zip(items, pool.map(paced, items), strict=True)}


def _failure(via: str, error: WeChatApiError) -> Outcome:
    # A rejected token is temporary: the fan-out invalidates it, and the retry runs with a fresh one.
    state = "retry" if error.retryable or isinstance(error, AccessTokenRejected) else "failed"
    return Outcome(state, via, f"{error.code}: {error.message}"[:200])


SENDERS: dict[str, Callable[[Content, Sequence[Recipient]], dict[int, Outcome]]] = {
    "wechat": _send_wechat,
    "sms": _send_sms,
    "email": _send_email,
    "webpush": _send_push,
    "fallback": _send_fallback,
}
