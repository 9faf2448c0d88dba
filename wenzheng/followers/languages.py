"""The language a follower reads bulletins in: 「English」 by WeChat, SMS or mail, or the citizen page's language.

A province's accounts are followed by visitors and workers who read no Chinese — the tourists in Jiuzhaigou in
August 2017, foreign volunteers after Lushan. A bulletin written in Chinese can carry versions in other languages
(bulletins.languages); each follower gets the version in the language they asked for, and the Chinese where
the bulletin has none in theirs. Chinese is the bulletins' own language: a follower who never asked reads it.
"""

from __future__ import annotations

import re

CHINESE = "zh"
# The languages a bulletin can be written in besides Chinese: code → (its own name, the CAP / BCP 47 tag).
LANGUAGES: dict[str, tuple[str, str]] = {"en": ("English", "en-US")}
CAP_TAGS = {CHINESE: "zh-CN", **{code: tag for code, (_name, tag) in LANGUAGES.items()}}

# What a follower writes to choose, alone or after 语言 / LANGUAGE: 「English」, 「语言 英文」, 「中文」.
_NAMES = {
    "en": ("ENGLISH", "EN", "英文", "英语", "IN ENGLISH", "ENGLISH PLEASE"),
    CHINESE: ("中文", "汉语", "简体中文", "CHINESE", "ZH"),
}
_WORDS = {word: code for code, words in _NAMES.items() for word in words}
_REQUEST = re.compile(r"^\s*(?:(?:语言|LANGUAGE|LANG)\s*[:：]?\s*)?(.{1,20}?)\s*[.。!！]?\s*$", re.IGNORECASE)


def language_request(text: str) -> str | None:
    """The language a message asks bulletins in (``"en"``, ``"zh"``), or None when it is not such a request:
    only the whole message counts, so 「English speaker trapped at the school」 goes to triage like any other."""
    match = _REQUEST.match(text or "")
    if match is None:
        return None
    return _WORDS.get(" ".join(match.group(1).upper().split()))


def language_query(language: str) -> str:
    """What a link adds to open a page in ``language``: nothing for Chinese, the pages' own."""
    return "" if language == CHINESE else f"?lang={language}"


def follower_language(code: str | None) -> str | None:
    """What is stored for a follower: a language bulletins can be written in, None for Chinese (the default)."""
    return code if code in LANGUAGES else None


def chosen_reply(code: str, account_name: str) -> str:
    """The answer to a language request, in the language chosen."""
    if code in LANGUAGES:
        return (
            f"{account_name} will send you its bulletins in {LANGUAGES[code][0]} when it publishes them in "
            f"{LANGUAGES[code][0]}, and in Chinese otherwise. Write 中文 to have them in Chinese again."
        )
    return f"好的，{account_name}的公告将以中文发送给您。如需英文版，请发送 English。"
