"""Fixtures for the e-mail channel: our SMTP listener and a recording relay, both real, on 127.0.0.1."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from tests.email.mails import ACCOUNT_ADDRESS
from tests.email.servers import Sink, free_port, start_sink
from tests.factories import SYSTEM, Tenant, create_tenant
from wenzheng.channels.email.actions import do_set_email_address
from wenzheng.channels.email.smtpd import make_controller
from wenzheng.config import reset_settings_cache


@pytest.fixture
def sink(tmp_path: Path) -> Iterator[Sink]:
    """A relay that records every mail, with WENZHENG_SMTP_* (and the attachment folder) pointed at it."""
    sink, controller = start_sink()
    overrides = {
        "WENZHENG_SMTP_HOST": "127.0.0.1",
        "WENZHENG_SMTP_PORT": str(sink.port),
        "WENZHENG_MAIL_DOMAIN": "mail.yaan.example.cn",
        "WENZHENG_ATTACHMENTS_DIR": str(tmp_path / "attachments"),
    }
    with _environment(overrides):
        yield sink
    controller.stop()


@pytest.fixture
def email_max_bytes() -> int:
    return 10 * 1024 * 1024


@pytest.fixture
def listener(sink: Sink, email_max_bytes: int) -> Iterator[tuple[str, int]]:
    """``wenzheng smtpd`` on a free port: (host, port) to talk to with smtplib."""
    with _environment({"WENZHENG_EMAIL_MAX_BYTES": str(email_max_bytes)}):
        controller = make_controller("127.0.0.1", free_port())
        controller.start()
        yield "127.0.0.1", controller.port
        controller.stop()


@pytest.fixture
def tenant(db: Session) -> Tenant:
    """An agency whose account receives mail at ACCOUNT_ADDRESS."""
    tenant = create_tenant(db, "mail")
    do_set_email_address(db, SYSTEM, tenant.account, ACCOUNT_ADDRESS)
    return tenant


class _environment:
    """Set environment variables (and re-read the settings) for a block; restore them after."""

    def __init__(self, overrides: dict[str, str]) -> None:
        self.overrides = overrides
        self.saved = {name: os.environ.get(name) for name in overrides}

    def __enter__(self) -> None:
        os.environ.update(self.overrides)
        reset_settings_cache()

    def __exit__(self, *_exc: object) -> None:
        for name, value in self.saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        reset_settings_cache()
