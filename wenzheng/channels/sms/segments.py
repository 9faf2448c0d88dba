"""How long an SMS is, counted the way gateways bill it (3GPP TS 23.038).

GSM-7 fits 160 characters in one message and 153 per part when split (the rest is the concatenation
header); characters of the extension table (€, [, ] …) take two septets. Anything outside GSM-7 —
Chinese included — goes as UCS-2: 70 UTF-16 units in one message, 67 per part; a character outside
the Basic Multilingual Plane (most emoji) takes two units.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")


@dataclass(frozen=True)
class Length:
    encoding: str  # "GSM-7" or "UCS-2"
    units: int  # septets or UTF-16 code units
    segments: int


def measure(text: str) -> Length:
    if all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text):
        septets = sum(2 if ch in GSM7_EXTENSION else 1 for ch in text)
        return Length("GSM-7", septets, _segments(septets, single=160, part=153))
    units = len(text.encode("utf-16-le")) // 2
    return Length("UCS-2", units, _segments(units, single=70, part=67))


def _segments(units: int, *, single: int, part: int) -> int:
    if units == 0:
        return 1
    return 1 if units <= single else math.ceil(units / part)
