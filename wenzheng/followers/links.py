"""The unsubscribe link in every bulletin mail to an e-mail follower (RFC 8058 one-click, and a page to confirm).

The link names the follower and carries an HMAC of it under the installation's secret key: nothing is stored,
nothing else can be read from it, and a forged or altered link finds no one. Opening it only shows a page;
unfollowing takes a POST — the page's button, or a mail program's one-click request — because mail scanners
open every link they see.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from sqlalchemy.orm import Session

from wenzheng.accounts.models import Account
from wenzheng.config import get_settings
from wenzheng.errors import NotFound
from wenzheng.followers.actions import unfollow
from wenzheng.followers.models import Follower, FollowerState

_PURPOSE = b"wenzheng:unsubscribe:"
_MAC_CHARS = 22  # 132 bits of the HMAC, base64url


def unsubscribe_token(follower_id: int) -> str:
    return f"{follower_id}.{_mac(follower_id)}"


def unsubscribe_url(account_slug: str, follower_id: int) -> str:
    return f"{get_settings().base_url.rstrip('/')}/c/{account_slug}/unsubscribe/{unsubscribe_token(follower_id)}"


def follower_of_link(session: Session, account: Account, token: str) -> Follower:
    """The follower an unsubscribe link names; NotFound for a link that is not one of ours for this account."""
    number, _, mac = token.partition(".")
    follower = session.get(Follower, int(number)) if number.isdigit() and len(number) <= 18 else None
    if follower is None or follower.account_id != account.id or not _valid_mac(mac, follower.id):
        raise NotFound("This unsubscribe link is not valid; reply 退订 to one of our mails instead.", code="bad_link")
    return follower


def unsubscribe_by_link(session: Session, account: Account, token: str) -> Follower:
    """Unfollow the follower the link names (again is harmless); not committed."""
    follower = follower_of_link(session, account, token)
    if follower.state == FollowerState.FOLLOWING:
        unfollow(follower)
    return follower


def _mac(follower_id: int, key: str | None = None) -> str:
    secret = (key or get_settings().secret_key).encode()
    digest = hmac.new(secret, _PURPOSE + str(follower_id).encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode()[:_MAC_CHARS]


def _valid_mac(mac: str, follower_id: int) -> bool:
    """Signed with the secret key or a previous one: links in mails sent before a key change keep working."""
    return any(hmac.compare_digest(mac, _mac(follower_id, key)) for key in get_settings().secret_keys)
