"""Private status links: a citizen without an account comes back to what they sent through a random URL."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from wenzheng.channels.models import StatusLink
from wenzheng.config import get_settings
from wenzheng.errors import NotFound
from wenzheng.messages.models import Message


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_status_link(session: Session, message_id: int, agency_id: int) -> str:
    """A new token for the message's status page (in the caller's transaction); shown to the citizen only."""
    token = secrets.token_urlsafe(18)
    session.add(StatusLink(agency_id=agency_id, message_id=message_id, token_hash=_hash(token)))
    session.flush()
    return token


def status_url(account_slug: str, token: str) -> str:
    return f"{get_settings().base_url.rstrip('/')}/c/{account_slug}/s/{token}"


def message_by_status_token(session: Session, account_id: int, token: str) -> Message:
    """The message a status link names, on this account only; 404 otherwise (never which part was wrong)."""
    message = session.execute(
        select(Message)
        .join(StatusLink, StatusLink.message_id == Message.id)
        .where(StatusLink.token_hash == _hash(token))
        .where(Message.account_id == account_id)
    ).scalar_one_or_none()
    if message is None:
        raise NotFound("This status link is not valid. Check the address, or write to us again.", code="unknown_link")
    return message
