"""Secrets at rest: channel credentials are sealed with a key derived from WENZHENG_SECRET_KEY.

Fernet (from the cryptography package) gives authenticated encryption, so a tampered or foreign
value fails loudly instead of decrypting to garbage.
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken

from wenzheng.config import get_settings
from wenzheng.errors import Unavailable


def _fernet() -> Fernet:
    digest = hashlib.sha256(b"wenzheng-vault:" + get_settings().secret_key.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def seal(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode() if plaintext else ""


def unseal(sealed: str) -> str:
    if not sealed:
        return ""
    try:
        return _fernet().decrypt(sealed.encode()).decode()
    except InvalidToken as exc:
        raise Unavailable(
            "A stored channel secret cannot be decrypted: WENZHENG_SECRET_KEY changed since it was saved. "
            "Enter the secret again in the account's channel settings.",
            code="secret_unreadable",
        ) from exc
