"""The demo's stand-in WeChat reports a finished mass send to the account's server as WeChat does: a signed,
encrypted MASSSENDJOBFINISH push."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from defusedxml import ElementTree

from wenzheng.channels.wechat import crypto
from wenzheng.channels.wechat.simulate import Credentials
from wenzheng.demo import DEMO_WECHAT
from wenzheng.demo_outside import Reporter

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


@pytest.fixture
def account_server() -> Iterator[tuple[str, _Received]]:
    received = _Received()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # the name http.server calls
            received.path = self.path
            received.body = self.rfile.read(int(self.headers["Content-Length"]))
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
