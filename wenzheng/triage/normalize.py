"""Normalize a message for analysis: NFKC, traditional → simplified, no markup, no spun-text noise; detect the language.

The original text is never changed; the normalized text is what every later step reads.
"""

from __future__ import annotations

import functools
import html
import re
import unicodedata
from collections.abc import Sequence

from wenzheng.triage.models import Lang

_ZERO_WIDTH = re.compile("[\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")
_HTML_TAG = re.compile(r"<\s*/?\s*[a-zA-Z][^<>]{0,200}>")
_TONED = "āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜ"
# Spun text annotates characters with toned pinyin: 網(wǎng)絡(luò)問政. A tone mark tells it apart from "(WHO)".
_PINYIN_NOTE = re.compile(rf"(?<=[\u3400-\u9fff])\((?=[a-zü{_TONED}\s]*[{_TONED}])[a-zü{_TONED}\s]{{1,12}}\)")
_REPEATED_PUNCT = re.compile(r"([!?！？。，,.、~～…;；:：\-_=*#])\1+")
_SPACES = re.compile(r"[ \t\r\f\v]+")
_NEWLINES = re.compile(r"\s*\n\s*")
_CJK = re.compile(r"[\u3400-\u9fff]")
_LATIN_WORD = re.compile(r"[A-Za-z]+")
_EN_FUNCTION_WORDS = frozenset(
    [
        "the",
        "a",
        "an",
        "and",
        "or",
        "of",
        "to",
        "in",
        "on",
        "at",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "we",
        "i",
        "you",
        "he",
        "she",
        "they",
        "it",
        "my",
        "our",
        "your",
        "their",
        "this",
        "that",
        "there",
        "here",
        "have",
        "has",
        "had",
        "need",
        "needs",
        "please",
        "help",
        "for",
        "with",
        "from",
        "by",
        "not",
        "no",
        "can",
        "will",
        "would",
        "should",
        "do",
        "does",
        "did",
        "people",
        "house",
        "water",
        "food",
        "what",
        "how",
        "when",
        "where",
        "who",
        "why",
        "all",
        "some",
        "any",
        "us",
        "me",
        "him",
        "them",
    ]
)


@functools.cache
def _converter() -> object:
    import opencc

    return opencc.OpenCC("t2s")


def to_simplified(texts: Sequence[str]) -> list[str]:
    """Traditional → simplified Chinese with OpenCC, one C++ call for the whole batch."""
    if not texts:
        return []
    joined = "\x1e".join(text.replace("\x1e", " ") for text in texts)
    converted = _converter().convert(joined)  # type: ignore[attr-defined]
    parts = converted.split("\x1e")
    return parts if len(parts) == len(texts) else [_converter().convert(t) for t in texts]  # type: ignore[attr-defined]


def clean(text: str) -> str:
    """Everything but the script conversion: NFKC, markup, zero-width characters, pinyin notes, punctuation runs."""
    text = unicodedata.normalize("NFKC", text)
    text = _ZERO_WIDTH.sub("", text)
    if "<" in text:
        text = _HTML_TAG.sub(" ", text)
    if "&" in text:
        text = html.unescape(text)
    if "(" in text:
        text = _PINYIN_NOTE.sub("", text)
    text = _REPEATED_PUNCT.sub(r"\1", text)
    text = _SPACES.sub(" ", text)
    return _NEWLINES.sub("\n", text).strip()


def normalize_batch(texts: Sequence[str]) -> list[str]:
    """The normalized text of each message: cleaned, then converted to simplified Chinese."""
    return to_simplified([clean(text) for text in texts])


def normalize(text: str) -> str:
    """The normalized text of one message (see :func:`normalize_batch`)."""
    return normalize_batch([text])[0]


def detect_language(text: str) -> Lang:
    """zh when Chinese characters carry the message, en when English words do, otherwise other (first 600 chars)."""
    text = text[:600]
    cjk = len(_CJK.findall(text))
    words = _LATIN_WORD.findall(text)
    latin = sum(len(word) for word in words)
    if cjk and cjk * 2 >= latin:
        return "zh"
    if not words:
        return "zh" if cjk else "other"
    english = sum(1 for word in words if word.lower() in _EN_FUNCTION_WORDS)
    return "en" if english * 5 >= len(words) or (english and len(words) <= 3) else "other"
