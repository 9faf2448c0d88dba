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

_FROM_CJK = re.compile("[\u3400-\U0010ffff]")  # CJK Extension A, then the unified ideographs and all above
_FULL_WIDTH = re.compile("[\uff01-\uff5e\u3000]")  # NFKC: U+FF01–FF5E → U+0021–007E, U+3000 → space
_HALF_WIDTH = {chr(point): chr(point - 0xFEE0) for point in range(0xFF01, 0xFF5F)} | {"\u3000": " "}
_ZERO_WIDTH = re.compile("[\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")
_HTML_TAG = re.compile(r"<\s*/?\s*[a-zA-Z][^<>]{0,200}>")
_TONED = "āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜ"
# Spun text annotates characters with toned pinyin: 網(wǎng)絡(luò)問政. A tone mark tells it apart from "(WHO)".
_PINYIN_NOTE = re.compile(rf"(?<=[\u3400-\u9fff])\((?=[a-zü{_TONED}\s]*[{_TONED}])[a-zü{_TONED}\s]{{1,12}}\)")
_REPEATED_PUNCT = re.compile(r"([!?！？。，,.、~～…;；:：\-_=*#])\1+")
_SPACES = re.compile(r"[ \t\r\f\v]+")
_NEWLINES = re.compile(r"\s*\n\s*")
# Counting by deletion: the length of what is left is the count, with no list of one-character matches built.
_NOT_CJK = re.compile(r"[^\u3400-\u9fff]+")
_NOT_LATIN = re.compile(r"[^A-Za-z]+")
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
    """Traditional → simplified Chinese with OpenCC, one C++ call for the whole batch.

    Only texts with a character from U+3400 up go through it: OpenCC's t2s changes none below (every one of them
    was tried), so English and other texts keep their characters and skip the conversion. The record separator
    that joins the texts becomes a space in all of them.
    """
    texts = [text.replace("\x1e", " ") for text in texts]
    chinese = [i for i, text in enumerate(texts) if _FROM_CJK.search(text)]
    if not chinese:
        return texts
    converted = _converter().convert("\x1e".join(texts[i] for i in chinese)).split("\x1e")  # type: ignore[attr-defined]
    if len(converted) != len(chinese):
        converted = [_converter().convert(texts[i]) for i in chinese]  # type: ignore[attr-defined]
    for i, text in zip(chinese, converted, strict=True):
        texts[i] = text
    return texts


def clean(text: str) -> str:
    """Everything but the script conversion: NFKC, markup, zero-width characters, pinyin notes, punctuation runs."""
    text = _nfkc(text)
    text = _ZERO_WIDTH.sub("", text)
    if "<" in text:
        text = _HTML_TAG.sub(" ", text)
    if "&" in text:
        text = html.unescape(text)
    if "(" in text:
        text = _PINYIN_NOTE.sub("", text)
    text = _REPEATED_PUNCT.sub(r"\1", text)
    if "  " in text or "\t" in text or "\r" in text or "\f" in text or "\v" in text:  # else nothing to do
        text = _SPACES.sub(" ", text)
    return (_NEWLINES.sub("\n", text) if "\n" in text else text).strip()


def _nfkc(text: str) -> str:
    """NFKC, the common case first: Chinese text is mostly not NFKC only for its full-width punctuation (，！：),
    which NFKC maps one to one onto ASCII; mapping those alone is half the cost of a full normalization."""
    if unicodedata.is_normalized("NFKC", text):
        return text
    for char in set(_FULL_WIDTH.findall(text)):  # a few distinct ones (，：！？), each replaced in one C call
        text = text.replace(char, _HALF_WIDTH[char])
    return text if unicodedata.is_normalized("NFKC", text) else unicodedata.normalize("NFKC", text)


def normalize_batch(texts: Sequence[str]) -> list[str]:
    """The normalized text of each message: cleaned, then converted to simplified Chinese."""
    return to_simplified([clean(text) for text in texts])


def normalize(text: str) -> str:
    """The normalized text of one message (see :func:`normalize_batch`)."""
    return normalize_batch([text])[0]


def detect_language(text: str) -> Lang:
    """zh when Chinese characters carry the message, en when English words do, otherwise other (first 600 chars)."""
    text = text[:600]
    cjk = len(_NOT_CJK.sub("", text))
    if cjk and cjk * 2 >= len(_NOT_LATIN.sub("", text)):
        return "zh"
    words = _LATIN_WORD.findall(text)
    if not words:
        return "zh" if cjk else "other"
    english = sum(1 for word in words if word.lower() in _EN_FUNCTION_WORDS)
    return "en" if english * 5 >= len(words) or (english and len(words) <= 3) else "other"
