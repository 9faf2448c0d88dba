"""The app answers WeChat pushes ahead of FastAPI's middleware and router: exactly as the route does, errors
included."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.wechat.callback_helpers import TOKEN, connect, next_msg_id
from wenzheng.channels.wechat import crypto
from wenzheng.channels.wechat.simulate import signed_push, text_xml
from wenzheng.web.channels import wechat
from wenzheng.web.errors import install_error_handlers

VARYING = re.compile(rb"<CreateTime>\d+</CreateTime>|\d{8}-\d{6,}")


@pytest.fixture
def route_only() -> Iterator[TestClient]:
    """An app with the WeChat route and the usual error answers, but without the shortcut."""
    app = FastAPI()
    install_error_handlers(app)
    app.include_router(wechat.router)
    with TestClient(app) as test_client:
        yield test_client


def _signed(timestamp: int | None = None) -> str:
    stamp, nonce = str(timestamp or int(time.time())), "7"
    return f"signature={crypto.signature(TOKEN, stamp, nonce)}&timestamp={stamp}&nonce={nonce}"


def test_the_shortcut_is_taken_for_pushes_only() -> None:
    scope = {"type": "http", "method": "POST", "path": "/wechat/city"}
    assert wechat.push_slug(scope) == "city"
    assert wechat.push_slug({**scope, "method": "GET"}) is None
    assert wechat.push_slug({**scope, "path": "/wechat/city/more"}) is None
    assert wechat.push_slug({**scope, "path": "/wechat/"}) is None
    assert wechat.push_slug({**scope, "path": "/wechatx/city"}) is None
    assert wechat.push_slug({"type": "lifespan"}) is None


@pytest.mark.parametrize("mode", ["plaintext", "safe"])
def test_a_push_is_answered_alike(client: TestClient, route_only: TestClient, db: Session, mode: str) -> None:
    connected = connect(db, mode=mode)
    answers = []
    for test_client in (client, route_only):
        xml = text_xml("路灯坏了", openid="o_1", msg_id=next_msg_id(), original_id="gh_10f6c3c3ac5a")
        query, body = signed_push(connected.credentials, xml, encrypt=mode == "safe")
        answers.append(test_client.post(f"{connected.url}?{query}", content=body))
    shortcut, route = answers
    assert shortcut.status_code == route.status_code == 200
    assert shortcut.headers["content-type"] == route.headers["content-type"]
    if mode == "plaintext":
        assert VARYING.sub(b"", shortcut.content) == VARYING.sub(b"", route.content)


@pytest.mark.parametrize(
    ("path", "query", "body", "status"),
    [
        ("{url}", "", b"<xml/>", 403),
        ("{url}", "SIGNED", b"<xml><Content>unclosed", 400),
        ("{url}", "SIGNED", b"<xml>" + b"x" * 70_000 + b"</xml>", 413),
        ("/wechat/nobody", "SIGNED", b"<xml/>", 404),
    ],
)
def test_errors_are_answered_alike(
    client: TestClient, route_only: TestClient, db: Session, path: str, query: str, body: bytes, status: int
) -> None:
    connected = connect(db, mode="plaintext")
    url = path.format(url=connected.url) + "?" + (_signed() if query == "SIGNED" else query)
    shortcut, route = (test_client.post(url, content=body) for test_client in (client, route_only))
    assert shortcut.status_code == route.status_code == status
    assert shortcut.json() == route.json()
    assert shortcut.headers["content-type"] == route.headers["content-type"]
