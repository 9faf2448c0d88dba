"""Secrets at rest: channel credentials are sealed with a key derived from WENZHENG_SECRET_KEY.

Fernet (from the cryptography package) gives authenticated encryption, so a tampered or foreign
value fails loudly instead of decrypting to garbage.
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from wenzheng.config import get_settings
from wenzheng.errors import Unavailable


def keyed_fernet(purpose: bytes) -> MultiFernet:
    """Fernet keys derived for one ``purpose`` from the secret key and the previous ones (settings.secret_keys):
    encrypts with the current key, decrypts with any, so that a key can be changed without losing what the
    earlier one sealed."""
    keys = [hashlib.sha256(purpose + key.encode()).digest() for key in get_settings().secret_keys]
    return MultiFernet([Fernet(base64.urlsafe_b64encode(key)) for key in keys])


def _fernet() -> MultiFernet:
    return keyed_fernet(b"wenzheng-vault:")


def seal(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode() if plaintext else ""


def unseal(sealed: str) -> str:
    if not sealed:
        return ""
    try:
        return _fernet().decrypt(sealed.encode()).decode()
    except InvalidToken as exc:
        raise Unavailable(
            "A stored channel secret cannot be decrypted: it was sealed with a WENZHENG_SECRET_KEY that is neither "
            "the current one nor in WENZHENG_PREVIOUS_SECRET_KEYS. Put the old key there, or enter the secret again "
            "in the account's channel settings.",
            code="secret_unreadable",
        ) from exc


def reseal(sealed: str) -> str:
    """The same secret sealed with the current key (``rotate``: no change when it already is)."""
    return _fernet().rotate(sealed.encode()).decode() if sealed else ""
