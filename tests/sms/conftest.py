"""A local SMS gateway speaking wenzheng's documented gateway contract, on a free loopback port."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.conftest import _free_port
from wenzheng.config import reset_settings_cache


@dataclass
class Gateway:
    url: str = ""
    sent: list[dict[str, Any]] = field(default_factory=list)
    failures_left: int = 0
    authorizations: list[str] = field(default_factory=list)
    ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))


@pytest.fixture(scope="session")
def _gateway_server() -> Iterator[Gateway]:
    gateway = Gateway()

    async def send(request: Request) -> JSONResponse:
        gateway.authorizations.append(request.headers.get("authorization", ""))
        if gateway.failures_left > 0:
            gateway.failures_left -= 1
            return JSONResponse({"error": "busy"}, status_code=503)
        body = await request.json()
        gateway.sent.append(body)
        return JSONResponse({"id": f"gw-{next(gateway.ids)}"})

    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            Starlette(routes=[Route("/send", send, methods=["POST"])]), host="127.0.0.1", port=port, log_level="warning"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the SMS gateway did not start"
        time.sleep(0.05)
    gateway.url = f"http://127.0.0.1:{port}/send"
    yield gateway
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def gateway(_gateway_server: Gateway, monkeypatch: pytest.MonkeyPatch) -> Iterator[Gateway]:
    _gateway_server.sent.clear()
    _gateway_server.authorizations.clear()
    _gateway_server.failures_left = 0
    monkeypatch.setenv("WENZHENG_SMS_GATEWAY_URL", _gateway_server.url)
    monkeypatch.setenv("WENZHENG_SMS_GATEWAY_KEY", "gateway-key-for-tests")
    reset_settings_cache()
    yield _gateway_server
    monkeypatch.undo()
    reset_settings_cache()
