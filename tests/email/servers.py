"""Real SMTP on loopback: our listener in a thread, a sink that records what wenzheng sends, and polling."""

from __future__ import annotations

import email
import email.message
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(probe: Callable[[], T | None], *, timeout: float = 10.0, what: str = "the condition") -> T:
    """Poll ``probe`` until it returns something truthy, failing after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result:
            return result
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes

    @property
    def message(self) -> email.message.Message:
        return email.message_from_bytes(self.content)


@dataclass
class Sink:
    """A recording SMTP server: what a relay would take from wenzheng."""

    port: int
    received: list[Received] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)  # recipient → the SMTP answer to give it
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        with self.lock:
            self.received.append(Received(envelope.mail_from or "", list(envelope.rcpt_tos), envelope.content or b""))
        return "250 OK"

    def mails_to(self, address: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if address in r.rcpt_tos]


def start_sink() -> tuple[Sink, Controller]:
    sink = Sink(port=free_port())
    controller = Controller(sink, hostname="127.0.0.1", port=sink.port)
    controller.start()
    return sink, controller
