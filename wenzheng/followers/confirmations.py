"""Following by mail, confirmed: a mail's From address is whatever its sender typed, so 关注 from an address that
does not follow yet is answered with a link, and only its owner, who receives the answer, can follow with it.

The link carries the request itself — account, address, the county named (「关注 宝兴县」), the language asked
(「English」) — sealed with Fernet
under a key derived from the secret key (authenticated and encrypted: the address is not readable in the URL or
in access logs), valid for ``CONFIRM_DAYS``. Nothing is stored before the owner confirms. Opening the link only
shows a page; the page's button follows (mail scanners open every link they see).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from cryptography.fernet import InvalidToken, MultiFernet
from sqlalchemy.orm import Session

from wenzheng.accounts.models import Account
from wenzheng.config import get_settings
from wenzheng.errors import NotFound
from wenzheng.followers.actions import follow_without_message
from wenzheng.followers.models import Follower
from wenzheng.vault import keyed_fernet

CONFIRM_DAYS = 7
CHANNEL = "email"


@dataclass(frozen=True)
class FollowRequest:
    """What a confirmation link asks for: this address follows this account, in this county (place words),
    reading bulletins in this language."""

    account_id: int
    address: str
    place: str = ""
    language: str = ""


def confirm_token(request: FollowRequest) -> str:
    fields = {"a": request.account_id, "e": request.address, "p": request.place, "l": request.language}
    payload = json.dumps(fields, ensure_ascii=False)
    return _fernet().encrypt(payload.encode()).decode()


def confirm_url(account_slug: str, request: FollowRequest) -> str:
    return f"{get_settings().base_url.rstrip('/')}/c/{account_slug}/follow/{confirm_token(request)}"


def request_of_link(account: Account, token: str) -> FollowRequest:
    """The request a link carries; NotFound for a link that is not ours, not this account's, or too old."""
    try:
        fields = json.loads(_fernet().decrypt(token.encode(), ttl=CONFIRM_DAYS * 86_400))
        request = FollowRequest(int(fields["a"]), str(fields["e"]), str(fields.get("p", "")), str(fields.get("l", "")))
    except (InvalidToken, ValueError, KeyError, TypeError):
        request = None
    if request is None or request.account_id != account.id or not request.address:
        raise NotFound(
            f"This link is not valid, or is more than {CONFIRM_DAYS} days old: write 关注 to us again for a new one.",
            code="bad_link",
        )
    return request


def confirm_follow(session: Session, account: Account, token: str) -> Follower:
    """Follow as the link asks (again is harmless: a follower stays one); not committed."""
    request = request_of_link(account, token)
    handles = (("email", request.address),)
    return follow_without_message(
        session, account, CHANNEL, handles, place_words=request.place or None, language=request.language or None
    )


def _fernet() -> MultiFernet:
    return keyed_fernet(b"wenzheng-follow-confirm:")
