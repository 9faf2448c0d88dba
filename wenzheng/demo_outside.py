"""The outside world of the demo: a loopback WeChat API, SMS gateway and mail relay, so bulletins and replies
go somewhere.

``wenzheng demo`` starts them unless WENZHENG_WECHAT_API_BASE or WENZHENG_SMS_GATEWAY_URL name real ones. They
speak the documented contracts (stable_token; custom, template and mass sends; the SMS gateway's send; SMTP)
and only log what they are given: nothing leaves the machine.
"""

from __future__ import annotations

import email
import email.policy
import itertools
import logging
import re
import socket
import threading
import time
from dataclasses import dataclass

import httpx
import uvicorn
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from wenzheng.channels.wechat.simulate import Credentials, cdata, event_xml, signed_push

logger = logging.getLogger("wenzheng.demo.outside")
_ids = itertools.count(1000)


async def _token(request: Request) -> JSONResponse:
    return JSONResponse({"access_token": "DEMO_ACCESS_TOKEN", "expires_in": 7200})


@dataclass(frozen=True)
class Reporter:
    """Where the stand-in reports finished mass sends, as WeChat does: a signed, encrypted MASSSENDJOBFINISH push
    to the account's server URL a moment after the send."""

    callback_url: str
    credentials: Credentials
    delay_seconds: float = 3.0

    def report(self, msg_id: int, recipients: int, status: str = "send success") -> None:
        timer = threading.Timer(self.delay_seconds, self._push, (msg_id, recipients, status))
        timer.daemon = True
        timer.start()

    def _push(self, msg_id: int, recipients: int, status: str) -> None:
        sent = recipients if status == "send success" else 0
        counts = (
            f"<MsgID>{msg_id}</MsgID><Status>{cdata(status)}</Status><TotalCount>{recipients}</TotalCount>"
            f"<FilterCount>{recipients}</FilterCount><SentCount>{sent}</SentCount><ErrorCount>0</ErrorCount>"
        )
        xml = event_xml(
            "MASSSENDJOBFINISH",
            openid="mphelper",  # WeChat's mass-send helper is the sender of these reports
            create_time=int(time.time()),
            original_id=self.credentials.original_id,
            extra=counts,
        )
        query, body = signed_push(self.credentials, xml, encrypt=bool(self.credentials.aes_key))
        try:
            answer = httpx.post(f"{self.callback_url}?{query}", content=body, timeout=10, trust_env=False)
            logger.info("demo WeChat reported mass send %s finished: HTTP %s", msg_id, answer.status_code)
        except httpx.HTTPError as error:
            logger.info("demo WeChat could not report mass send %s: %s", msg_id, error)


_reporter: Reporter | None = None

# The demo's SMS citizen in 龙门乡 (demo.DEMO_MESSAGES): the quake took the village's mobile masts down, so the
# stand-in gateway reports every SMS to that number undelivered, as a real gateway does when a phone is out of
# reach. Staff's answer then fails, and the case page shows it (docs/cases.md, "An answer that does not arrive").
UNREACHABLE_PHONES = frozenset({"+8613908161234"})


@dataclass(frozen=True)
class ReceiptReporter:
    """Where the stand-in gateway posts delivery receipts, signed as the gateway contract says, a moment after
    it took the SMS: delivered, or failed for a phone out of reach."""

    receipts_url: str
    delay_seconds: float = 2.0

    def report(self, gateway_id: str, to: str) -> None:
        timer = threading.Timer(self.delay_seconds, self._post, (gateway_id, to))
        timer.daemon = True
        timer.start()

    def _post(self, gateway_id: str, to: str) -> None:
        from urllib.parse import urlencode

        from wenzheng.channels.sms.gateway import sign

        failed = to in UNREACHABLE_PHONES
        fields = {"id": gateway_id, "status": "failed" if failed else "delivered"}
        if failed:
            fields["error_code"] = "UNREACHABLE"
        body = urlencode(fields).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Wenzheng-Signature": sign(body)}
        try:
            answer = httpx.post(self.receipts_url, content=body, headers=headers, timeout=10, trust_env=False)
            logger.info("demo SMS gateway reported %s %s: HTTP %s", gateway_id, fields["status"], answer.status_code)
        except httpx.HTTPError as error:
            logger.info("demo SMS gateway could not report %s: %s", gateway_id, error)


_receipts: ReceiptReporter | None = None


# WeChat judges a mass send after taking it; the stand-in refuses one whose text reads like advertising, as WeChat
# does (err(10001)), so the demo can show a refused bulletin going to its followers' other channels instead.
ADVERTISING_WORDS = ("转发有奖", "转发抽奖", "优惠券", "领红包")
_refused: set[int] = set()


async def _wechat(request: Request) -> JSONResponse:
    body = await request.json()
    path = request.url.path.rsplit("/", 2)
    if path[-2:] == ["mass", "get"]:
        status = "SEND_FAIL" if body.get("msg_id") in _refused else "SEND_SUCCESS"
        return JSONResponse({"msg_id": body.get("msg_id"), "msg_status": status})
    audience = body.get("touser") or body.get("filter") or ""
    size = len(audience) if isinstance(audience, list) else audience
    logger.info("demo WeChat took %s/%s for %s", path[-2], path[-1], size)
    msg_id = next(_ids)
    text = str((body.get("text") or {}).get("content", ""))
    if any(word in text for word in ADVERTISING_WORDS):
        _refused.add(msg_id)
    if _reporter is not None and path[-2:] == ["mass", "send"] and isinstance(audience, list):
        _reporter.report(msg_id, len(set(audience)), "err(10001)" if msg_id in _refused else "send success")
    return JSONResponse({"errcode": 0, "errmsg": "ok", "msg_id": msg_id, "msgid": msg_id})


async def _sms(request: Request) -> JSONResponse:
    body = await request.json()
    to = str(body.get("to", ""))
    logger.info("demo SMS gateway took a message to %s…%s", to[:3], to[-2:])
    code = _FOLLOW_CODE.search(str(body.get("text", "")))
    if code:  # the demo has no phone to read it on: whoever runs the demo types it into the citizen page
        logger.info("demo SMS gateway: the follow code in it is %s", code.group(1))
    gateway_id = f"demo-{next(_ids)}"
    if _receipts is not None:
        _receipts.report(gateway_id, to)
    return JSONResponse({"id": gateway_id})


def app() -> Starlette:
    return Starlette(
        routes=[
            Route("/cgi-bin/stable_token", _token, methods=["POST"]),
            Route("/cgi-bin/message/{kind}/{action}", _wechat, methods=["POST"]),
            Route("/sms/send", _sms, methods=["POST"]),
        ]
    )


# The link in the answer to 关注 by mail (followers.confirmations): the demo has no citizen's mailbox to read it in,
# so the relay prints it, and whoever runs the demo can open it.
_FOLLOW_CODE = re.compile(r"确认码：(\d{6})")  # the SMS of a follow from the citizen page (channels.web.submit)
_CONFIRMATION_LINK = re.compile(rb"https?://[^\s\"<>]+/follow/[A-Za-z0-9_=-]+")


class _MailRelay:
    """An SMTP relay that takes every mail and logs who it was for (and a follow confirmation's link)."""

    async def handle_DATA(self, server: object, session: object, envelope: Envelope) -> str:
        logger.info("demo mail relay took a mail for %s recipient(s)", len(envelope.rcpt_tos))
        link = confirmation_link(envelope.content or b"")
        if link:
            logger.info("demo mail relay: the follow confirmation link in it is %s", link)
        return "250 OK"


def confirmation_link(raw: bytes | str) -> str | None:
    """The follow confirmation link in a mail as sent (its text part decoded), if it holds one."""
    message = email.message_from_bytes(raw if isinstance(raw, bytes) else raw.encode(), policy=email.policy.default)
    parts = [message] if not message.is_multipart() else list(message.walk())
    for part in parts:
        if part.get_content_type() == "text/plain":
            found = _CONFIRMATION_LINK.search(str(part.get_content()).encode())
            if found:
                return found.group().decode()
    return None


def start_mail_relay() -> int:
    """The demo's SMTP relay on a free loopback port; its port."""
    port = _free_port()
    Controller(_MailRelay(), hostname="127.0.0.1", port=port).start()
    return port


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start(reporter: Reporter | None = None, receipts: ReceiptReporter | None = None) -> str:
    """Serve the stand-ins on a free loopback port in a daemon thread; their base URL. With a ``reporter``, mass
    sends to OpenID lists are reported back to the account's server URL as WeChat does; with ``receipts``, each
    SMS gets a delivery receipt as from a real gateway."""
    global _reporter, _receipts
    _reporter, _receipts = reporter, receipts
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app(), host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, name="demo-outside", daemon=True).start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    return f"http://127.0.0.1:{port}"
