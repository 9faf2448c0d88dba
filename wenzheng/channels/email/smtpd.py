"""The SMTP listener (aiosmtpd): mail to an account's address goes through intake, then gets its 250.

- RCPT: an address no account is bound to gets 550 at once, so nothing is stored for it.
- Size: aiosmtpd refuses mail over WENZHENG_EMAIL_MAX_BYTES with 552 (and advertises the limit as SIZE).
- DATA: ``deliver`` runs in a thread and commits; only then do we answer 250. The database down (or
  any other failure of ours) answers 451, a temporary failure: the sending server keeps the mail and
  tries again later, rather than bouncing a citizen's message we failed to keep.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope
from aiosmtpd.smtp import Session as SmtpSession

from wenzheng import db
from wenzheng.channels.email.bindings import account_by_address
from wenzheng.channels.email.intake import deliver
from wenzheng.config import get_settings

logger = logging.getLogger("wenzheng.channels.email")

OK = "250 2.0.0 OK: accepted"
UNKNOWN_RECIPIENT = "550 5.1.1 No account of this service has that address"
TRY_LATER = "451 4.3.0 Temporary failure, please try again later"
NOTHING_DELIVERABLE = "554 5.5.1 No valid recipients"


class IntakeHandler:
    """aiosmtpd handler: the hooks the SMTP server calls at RCPT and at the end of DATA."""

    async def handle_RCPT(
        self, server: SMTP, session: SmtpSession, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        try:
            known = await asyncio.to_thread(_is_bound, address)
        except Exception:  # the database down: the sender tries again later
            logger.exception("cannot check recipient %s", address)
            return TRY_LATER
        if not known:
            return UNKNOWN_RECIPIENT
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: SmtpSession, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        if not envelope.rcpt_tos:
            return NOTHING_DELIVERABLE
        try:
            accepted = await asyncio.to_thread(
                deliver, content, list(envelope.rcpt_tos), envelope_sender=envelope.mail_from or ""
            )
        except Exception:  # whatever went wrong, the sender keeps the mail and retries
            logger.exception("mail from %s not stored; asking the sender to retry", envelope.mail_from)
            return TRY_LATER
        if not accepted:  # every recipient was unbound between RCPT and DATA
            return NOTHING_DELIVERABLE
        refs = ", ".join(a.ref for a in accepted if a.ref)
        return f"{OK} {refs}".strip()


def _is_bound(address: str) -> bool:
    with db.session_factory()() as session:
        return account_by_address(session, address) is not None


def make_controller(host: str | None = None, port: int | None = None, **smtp_options: Any) -> Controller:
    """A listener (not started) on ``host``:``port``; by default WENZHENG_SMTPD_HOST and _PORT."""
    settings = get_settings()
    return Controller(
        IntakeHandler(),
        hostname=host or settings.smtpd_host,
        port=port or settings.smtpd_port,
        data_size_limit=settings.email_max_bytes,
        enable_SMTPUTF8=True,
        ident="wenzheng smtpd",
        **smtp_options,
    )
