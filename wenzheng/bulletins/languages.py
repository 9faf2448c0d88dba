"""A bulletin in other languages: the versions its author adds beside the Chinese, and which copy a follower gets.

Each version is stored on the bulletin (``Bulletin.translations``, by language code): its title and body, and for
an alert the instruction and, for its CAP ``info`` block in that language, the event and the area in words. A
follower who asked for a language (followers.languages) gets that version on every channel; everyone else, and
everyone when the bulletin has no version in their language, gets the Chinese. The CAP document carries one
``info`` per language, with the same category, urgency, severity, certainty and times (CAP 1.2 §3.2.2).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from wenzheng.bulletins.models import Bulletin, BulletinKind
from wenzheng.errors import InvalidInput
from wenzheng.followers.languages import CHINESE, LANGUAGES
from wenzheng.validation import clean_text

TITLE_MAX = 120  # English takes about twice the characters of Chinese for the same title
BODY_MAX = 8000
# field → (longest, only for alerts)
FIELDS: dict[str, tuple[int, bool]] = {
    "title": (TITLE_MAX, False),
    "body": (BODY_MAX, False),
    "instruction": (2000, True),
    "event": (100, True),
    "area_desc": (200, True),
}


@dataclass(frozen=True)
class Version:
    """What a follower reads of a bulletin in one language."""

    language: str
    title: str
    body: str
    instruction: str = ""
    event: str = ""
    area_desc: str = ""


def clean_translations(given: Mapping[str, Mapping[str, Any]] | None, *, kind: str) -> dict[str, dict[str, str]]:
    """The versions a form or the demo gives, checked: a known language, a title whenever anything else is
    written (an empty version is dropped), lengths; the alert-only fields kept for alerts alone."""
    cleaned: dict[str, dict[str, str]] = {}
    for language, fields in (given or {}).items():
        if language not in LANGUAGES:
            known = ", ".join(f"{code} ({name})" for code, (name, _tag) in LANGUAGES.items())
            raise InvalidInput(
                f"A bulletin can have a version in {known}, not {language!r}.",
                code="bulletin_bad_language",
                details={"field": "language"},
            )
        version = _clean_version(language, fields, alert=kind == BulletinKind.ALERT)
        if version:
            cleaned[language] = version
    return cleaned


def _clean_version(language: str, fields: Mapping[str, Any], *, alert: bool) -> dict[str, str]:
    version: dict[str, str] = {}
    for name, (longest, alert_only) in FIELDS.items():
        if alert_only and not alert:
            continue
        form_field = f"{language}_{name}"
        value = clean_text(str(fields.get(name) or ""), field=form_field, max_length=longest, required=False)
        if value:
            version[name] = value
    if version and not version.get("title"):
        name = LANGUAGES[language][0]
        raise InvalidInput(
            f"The {name} version needs a title too, or leave all of its fields empty.",
            code="field_required",
            details={"field": f"{language}_title"},
        )
    return version


def version_of(bulletin: Bulletin, language: str | None) -> Version:
    """The bulletin as a follower who reads ``language`` gets it: that version where it has one, else Chinese."""
    own = (bulletin.translations or {}).get(language or CHINESE)
    if own:
        return Version(
            language=str(language),
            title=own["title"],
            body=own.get("body", ""),
            instruction=own.get("instruction", ""),
            event=own.get("event", ""),
            area_desc=own.get("area_desc", ""),
        )
    return Version(
        language=CHINESE,
        title=bulletin.title,
        body=bulletin.body,
        instruction=bulletin.cap_instruction,
        event=bulletin.cap_event,
        area_desc=bulletin.area_desc,
    )


def written_in(bulletin: Bulletin) -> list[str]:
    """The languages the bulletin has, Chinese first."""
    return [CHINESE, *[code for code in LANGUAGES if code in (bulletin.translations or {})]]
