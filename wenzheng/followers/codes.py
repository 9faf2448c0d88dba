"""Following by SMS from the web page, confirmed: anyone can type any phone number into a page, so the number is
sent a six-digit code, and only who holds the phone can follow with it (and have bulletins sent there).

The code is an HMAC of the account, the number and the current ten-minute window under the secret key (or a
previous one): nothing is stored, a code works in its window and the next (10 to 20 minutes), and guessing is
held back by the page's per-address limit on attempts.
"""

from __future__ import annotations

import hashlib
import hmac
import time

from wenzheng.config import get_settings

CODE_WINDOW_SECONDS = 600
CODE_DIGITS = 6


def follow_code(account_id: int, phone: str, *, now: float | None = None, key: str | None = None) -> str:
    """The code for this number and account in the window holding ``now``."""
    return _code(account_id, phone, _window(now), key or get_settings().secret_key)


def code_valid(account_id: int, phone: str, code: str, *, now: float | None = None) -> bool:
    """Whether ``code`` is this number's code of the current window or the one before, under any secret key."""
    typed = "".join(ch for ch in code if ch.isdigit())
    if len(typed) != CODE_DIGITS:
        return False
    window = _window(now)
    return any(
        hmac.compare_digest(typed, _code(account_id, phone, moment, key))
        for moment in (window, window - 1)
        for key in get_settings().secret_keys
    )


def _window(now: float | None) -> int:
    return int((time.time() if now is None else now) // CODE_WINDOW_SECONDS)


def _code(account_id: int, phone: str, window: int, key: str) -> str:
    message = f"wenzheng:follow-code:{account_id}:{phone}:{window}".encode()
    number = int.from_bytes(hmac.new(key.encode(), message, hashlib.sha256).digest()[:8], "big")
    return f"{number % 10**CODE_DIGITS:0{CODE_DIGITS}d}"
