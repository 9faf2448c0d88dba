"""Small checks shared by actions, each failing with an error a person can act on."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from wenzheng.errors import InvalidInput

SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
USERNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{1,63}$")


def clean_text(value: str, *, field: str, max_length: int, required: bool = True) -> str:
    """Trimmed, NFC-normalised text within ``max_length`` characters, without control characters."""
    cleaned = unicodedata.normalize("NFC", value or "").strip()
    if required and not cleaned:
        raise InvalidInput(f"{field} must not be empty.", code="field_required", details={"field": field})
    if len(cleaned) > max_length:
        raise InvalidInput(
            f"{field} is {len(cleaned)} characters long; the most allowed is {max_length}.",
            code="field_too_long",
            details={"field": field, "max_length": max_length},
        )
    if any(unicodedata.category(ch) == "Cc" and ch not in "\n\t" for ch in cleaned):
        raise InvalidInput(f"{field} contains control characters.", code="field_invalid", details={"field": field})
    return cleaned


def clean_slug(value: str, *, field: str = "slug") -> str:
    slug = (value or "").strip().lower()
    if not SLUG_RE.match(slug):
        raise InvalidInput(
            f"{field} must be 1–64 lowercase letters, digits or hyphens, not starting or ending with a hyphen "
            "(for example: yaan-rescue).",
            code="invalid_slug",
            details={"field": field},
        )
    return slug


MAX_PLACE_COUNTRIES = 10


def clean_countries(value: str | Sequence[str], *, field: str = "place_countries") -> list[str]:
    """ISO 3166 alpha-2 country codes, from a list or from text such as "HT, DO": upper case, in the order
    given, each once; empty is allowed (no country)."""
    from wenzheng.triage.world import known_countries, shown_codes

    items = re.split(r"[\s,，、;；]+", value) if isinstance(value, str) else list(value)
    codes = list(dict.fromkeys(item.strip().upper() for item in items if item and item.strip()))
    known = known_countries()
    unknown = [code for code in codes if code not in known]
    if unknown:
        raise InvalidInput(
            f"{shown_codes(unknown)}: not a country code; use two-letter ISO 3166 codes such as HT (Haiti) or CN "
            "(China).",
            code="invalid_country",
            details={"field": field, "unknown": [code[:12] for code in unknown[:5]]},
        )
    if len(codes) > MAX_PLACE_COUNTRIES:
        raise InvalidInput(
            f"{len(codes)} countries given; name at most {MAX_PLACE_COUNTRIES}, those the agency works in.",
            code="too_many_countries",
            details={"field": field, "max": MAX_PLACE_COUNTRIES},
        )
    return codes


RETENTION_DAYS = (30, 3650)  # a month at least (time to answer and rate), ten years at most


def clean_retention_days(value: object) -> int | None:
    """How many days personal data is kept after a case ends: a whole number in RETENTION_DAYS; empty keeps it."""
    text = str(value if value is not None else "").strip()
    if not text:
        return None
    low, high = RETENTION_DAYS
    if not text.isdigit() or not low <= int(text) <= high:
        raise InvalidInput(
            f"The retention period is a number of days from {low} to {high} (365 is a year), or empty to keep "
            "personal data until it is deleted by hand.",
            code="invalid_retention",
            details={"field": "retention_days"},
        )
    return int(text)


def clean_issuing_unit_code(value: str | None) -> str | None:
    """An agency's 发布单位代码: 14 digits, the first six a GB/T 2260 division the gazetteer knows; empty clears it."""
    from wenzheng.triage.gazetteer import load_gazetteer

    code = re.sub(r"[\s-]+", "", value or "")
    if not code:
        return None
    if not re.fullmatch(r"\d{14}", code):
        raise InvalidInput(
            "The issuing-unit code (发布单位代码) is 14 digits: the 6-digit division code (GB/T 2260), the 3-digit "
            "organisation code (GB/T 4657), the unit's own 3 digits and 2 more, such as 51180000000000.",
            code="invalid_unit_code",
            details={"field": "issuing_unit_code"},
        )
    if f"{code[:6]}000000" not in load_gazetteer().by_code:
        raise InvalidInput(
            f"{code[:6]} is not an administrative division code (GB/T 2260) we know; the code begins with the "
            "division the issuing unit belongs to, such as 511800 for 雅安市.",
            code="unknown_division",
            details={"field": "issuing_unit_code"},
        )
    return code


def clean_username(value: str) -> str:
    username = (value or "").strip()
    if not USERNAME_RE.match(username):
        raise InvalidInput(
            "A username is 2–64 letters, digits, dots, dashes or underscores, starting with a letter or digit.",
            code="invalid_username",
            details={"field": "username"},
        )
    return username


def clean_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidInput(
            f"Unknown time zone {value!r}; use an IANA name such as Asia/Shanghai.",
            code="invalid_timezone",
            details={"field": "timezone"},
        ) from exc
    return value
