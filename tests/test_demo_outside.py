"""The demo's stand-ins report back as the real services do: WeChat a finished mass send (a signed, encrypted
MASSSENDJOBFINISH push), the SMS gateway each SMS's delivery (a signed receipt)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from defusedxml import ElementTree

from wenzheng.channels.sms.gateway import signature_valid
from wenzheng.channels.wechat import crypto
from wenzheng.channels.wechat.simulate import Credentials
from wenzheng.demo import DEMO_WECHAT
from wenzheng.demo_outside import UNREACHABLE_PHONES, ReceiptReporter, Reporter

CREDENTIALS = Credentials(
    token=DEMO_WECHAT["token"],
    app_id=DEMO_WECHAT["app_id"],
    aes_key=DEMO_WECHAT["aes_key"],
    original_id=DEMO_WECHAT["original_id"],
)


class _Received:
    def __init__(self) -> None:
        self.arrived = threading.Event()
        self.path = ""
        self.body = b""
        self.signature = ""


@pytest.fixture
def account_server() -> Iterator[tuple[str, _Received]]:
    received = _Received()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # the name http.server calls
            received.path = self.path
            received.body = self.rfile.read(int(self.headers["Content-Length"]))
            received.signature = self.headers.get("X-Wenzheng-Signature", "")
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"success")
            received.arrived.set()

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/wechat/yaan", received
    server.shutdown()


def test_a_list_mass_send_is_reported_signed_and_encrypted(account_server: tuple[str, _Received]) -> None:
    url, received = account_server
    Reporter(url, CREDENTIALS, delay_seconds=0).report(msg_id=1041, recipients=160)
    assert received.arrived.wait(10)

    query = {k: v[0] for k, v in parse_qs(urlsplit(received.path).query).items()}
    assert query["encrypt_type"] == "aes"
    encrypted = ElementTree.fromstring(received.body).findtext("Encrypt")
    assert encrypted and query["msg_signature"] == crypto.signature(
        CREDENTIALS.token, query["timestamp"], query["nonce"], encrypted
    )
    event = ElementTree.fromstring(crypto.decrypt(CREDENTIALS.aes_key, encrypted, CREDENTIALS.app_id))
    assert event.findtext("Event") == "MASSSENDJOBFINISH" and event.findtext("MsgID") == "1041"
    assert [event.findtext(name) for name in ("TotalCount", "FilterCount", "SentCount", "ErrorCount")] == [
        "160",
        "160",
        "160",
        "0",
    ]


@pytest.mark.parametrize(
    ("to", "fields"),
    [
        ("+8613800000000", {"id": ["demo-7"], "status": ["delivered"]}),
        (min(UNREACHABLE_PHONES), {"id": ["demo-7"], "status": ["failed"], "error_code": ["UNREACHABLE"]}),
    ],
)
def test_each_demo_sms_gets_a_signed_receipt(
    account_server: tuple[str, _Received], to: str, fields: dict[str, list[str]]
) -> None:
    url, received = account_server
    ReceiptReporter(url, delay_seconds=0).report("demo-7", to)
    assert received.arrived.wait(10)
    assert parse_qs(received.body.decode()) == fields
    assert signature_valid(received.body, received.signature)  # what /sms/receipts checks


def test_the_demo_wechat_refuses_a_mass_send_that_reads_like_advertising() -> None:
    from fastapi.testclient import TestClient

    from wenzheng.demo_outside import ADVERTISING_WORDS, app

    with TestClient(app()) as client:

        def send(text: str) -> int:
            body = {"touser": ["oA", "oB"], "msgtype": "text", "text": {"content": text}, "clientmsgid": text}
            return int(client.post("/cgi-bin/message/mass/send", json=body).json()["msg_id"])

        refused, carried = send(f"【提醒】{ADVERTISING_WORDS[0]}"), send("【提醒】明日停水")
        states = {
            msg_id: client.post("/cgi-bin/message/mass/get", json={"msg_id": msg_id}).json()["msg_status"]
            for msg_id in (refused, carried)
        }
    assert states == {refused: "SEND_FAIL", carried: "SEND_SUCCESS"}


def test_the_demo_mail_relay_finds_the_follow_confirmation_link_in_a_mail_as_sent() -> None:
    from email.message import EmailMessage

    from wenzheng.channels.email.intake import CONFIRM_FOLLOW
    from wenzheng.demo_outside import confirmation_link

    url = "http://127.0.0.1:8000/c/yaan/follow/gAAAAABo-3x_Yz=="
    mail = EmailMessage()
    mail["Subject"] = "Re: 关注"
    mail.set_content(CONFIRM_FOLLOW.format(account="芦山地震救助", days=7, url=url))  # UTF-8, base64 as sent

    assert b"/follow/" not in mail.as_bytes()  # encoded: a search of the raw bytes would not find it
    assert confirmation_link(mail.as_bytes()) == url
    assert confirmation_link(b"Subject: hi\r\n\r\nno link here") is None


def test_the_demo_sms_gateway_prints_a_follow_code_for_whoever_runs_the_demo(caplog: pytest.LogCaptureFixture) -> None:
    from fastapi.testclient import TestClient

    from wenzheng.channels.web.submit import FOLLOW_CODE_TEXT
    from wenzheng.demo_outside import app

    text = FOLLOW_CODE_TEXT.format(account="芦山地震救助", code="042917", minutes=10)
    with caplog.at_level("INFO", logger="wenzheng.demo.outside"), TestClient(app()) as client:
        client.post("/sms/send", json={"to": "+8613900139002", "from": "10659020", "text": text})
        client.post("/sms/send", json={"to": "+8613900139003", "from": "10659020", "text": "【芦山】明日停水"})
    assert [r.getMessage() for r in caplog.records if "follow code" in r.getMessage()] == [
        "demo SMS gateway: the follow code in it is 042917"
    ]
