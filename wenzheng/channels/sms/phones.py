"""Phone numbers as one citizen's address across channels: normalised to E.164 so SMS and web agree."""

from __future__ import annotations

import re

from wenzheng.errors import InvalidInput

_SEPARATORS = re.compile(r"[\s\-().]")
_CN_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
_SERVICE_NUMBER = re.compile(r"^\d{3,20}$")  # short codes (12345) and 106… service numbers


def normalize_phone(raw: str, *, field: str = "phone") -> str:
    """+8613800138000 for 138 0013 8000, 0086…, +86 …; a clear error for anything that is not a number."""
    number = _SEPARATORS.sub("", raw or "")
    if number.startswith("00"):
        number = "+" + number[2:]
    if _CN_MOBILE.match(number):
        number = "+86" + number
    if not _E164.match(number):
        raise InvalidInput(
            f"{field} is not a phone number we can reach: give a mobile number like 13800138000 or +8613800138000.",
            code="invalid_phone",
            details={"field": field},
        )
    return number


def normalize_service_number(raw: str) -> str:
    """An account's SMS number: a mobile number (as E.164), or a short code or 106… service number as given."""
    number = _SEPARATORS.sub("", raw or "")
    if _CN_MOBILE.match(number) or not _SERVICE_NUMBER.match(number):
        return normalize_phone(number, field="number")
    return number
