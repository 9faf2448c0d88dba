"""Fixtures for the outbound WeChat tests: the fake WeChat API on 127.0.0.1, and a bound account."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from tests.factories import Tenant, create_tenant
from tests.wechat.fake_api import FakeServer, FakeWeChat
from tests.wechat.helpers import APP_ID, APP_SECRET, bind_wechat
from wenzheng.config import reset_settings_cache


@pytest.fixture(scope="session")
def fake_wechat_server() -> Iterator[FakeServer]:
    server = FakeServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def wechat(fake_wechat_server: FakeServer, tmp_path: Path) -> Iterator[FakeWeChat]:
    """The fake WeChat, fresh for each test, with wenzheng's API base (and attachment folder) pointed at it."""
    state = fake_wechat_server.reset()
    state.register_app(APP_ID, APP_SECRET)
    overrides = {
        "WENZHENG_WECHAT_API_BASE": fake_wechat_server.base_url,
        "WENZHENG_WECHAT_API_TIMEOUT_SECONDS": "20",
        "WENZHENG_ATTACHMENTS_DIR": str(tmp_path / "attachments"),
    }
    saved = {name: os.environ.get(name) for name in overrides}
    os.environ.update(overrides)
    reset_settings_cache()
    yield state
    if state.stable_token_gate is not None:
        state.stable_token_gate.set()  # never leave a server thread waiting after a failed test
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    reset_settings_cache()


@pytest.fixture
def tenant(db: Session, wechat: FakeWeChat) -> Tenant:
    """An agency whose account is bound to the fake WeChat's app (a service account)."""
    tenant = create_tenant(db, "wx")
    bind_wechat(db, tenant.account)
    return tenant
