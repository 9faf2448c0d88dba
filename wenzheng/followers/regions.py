"""A follower names their county, so that bulletins for a region reach them: 「地区 宝兴县」 by SMS or WeChat.

A follower's region is otherwise the county nearest to the last position they shared (a WeChat LOCATION, the
browser's when subscribing to notifications), and a follower who never shared one is in no region: a bulletin
for Lushan County does not reach them. Someone who texts from a basic phone shares no position, so they say
where they are, in the words they would use: 宝兴, 宝兴县, 雅安宝兴, 四川省雅安市宝兴县. The name is looked up in
the offline gazetteer (provinces, cities, counties); a name that several divisions share (朝阳) is asked back
with where each of them is, and nothing is changed.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from wenzheng.errors import InvalidInput
from wenzheng.triage.gazetteer import Division, Gazetteer, load_gazetteer, short_name

# 「地区 宝兴县」, 「地区：宝兴」, 「REGION 宝兴」 (the place itself in Chinese: the gazetteer is Chinese).
REGION_REQUEST = re.compile(r"^\s*(?:地区|所在地区|所在地|区域|REGION|AREA)\s*[:：]?\s*(\S.{0,29}?)\s*$", re.IGNORECASE)
MAX_ASKED_BACK = 4
MAX_WORDS = 30
EXAMPLE = "宝兴县"
_SEPARATORS = re.compile(r"[\s,，、/·]+")


@dataclass(frozen=True)
class NamedRegion:
    """What a follower's words name: one division (``code``, six digits), several, or none."""

    words: str
    code: str | None = None
    name: str = ""  # 四川省 雅安市 宝兴县
    namesakes: tuple[str, ...] = ()  # where each division of that name is, when there are several


def region_request(text: str) -> NamedRegion | None:
    """What a 「地区 …」 message names; None when the message is not one. Its words must be place names and
    nothing else: 「地区 宝兴县灵关镇被困」 is a plea that begins with a word, and goes to triage like any other."""
    match = REGION_REQUEST.match(text)
    if match is None:
        return None
    named = name_region(match.group(1).strip(" ，,。."))
    return named if named.code is not None or named.namesakes else None


def name_region(words: str) -> NamedRegion:
    """Resolve a follower's words to a province, city or county of the gazetteer; words that are not wholly
    place names name nothing."""
    gazetteer = load_gazetteer()
    named = _named_by(_SEPARATORS.sub("", words))
    if len(named) == 1:
        return NamedRegion(words, code=named[0].code[:6], name=_path(gazetteer, named[0]))
    return NamedRegion(words, namesakes=tuple(_path(gazetteer, d) for d in named[:MAX_ASKED_BACK]))


def checked_region(words: object) -> str | None:
    """The six-digit code of the county (city, province) typed in a form; None when left empty. InvalidInput,
    saying what to write instead, when the words name no division or several."""
    if words is None or (isinstance(words, str) and not words.strip()):
        return None
    if not isinstance(words, str) or len(words.strip()) > MAX_WORDS:
        raise InvalidInput(
            f"The county is a name of at most {MAX_WORDS} characters, such as {EXAMPLE}.", code="invalid_place"
        )
    named = name_region(words.strip())
    if named.code is None:
        code = "region_ambiguous" if named.namesakes else "region_unknown"
        raise InvalidInput(region_reply(named, by_text=False), code=code)
    return named.code


def region_reply(named: NamedRegion, *, by_text: bool = True) -> str:
    """What the follower is told: where their bulletins now come from, or how to say it again (in a reply to
    their SMS or WeChat text, or, ``by_text=False``, on the web form)."""
    if named.code is not None:
        return f"已将您的所在地设为{named.name}，发往该地的公告和预警都会发给您。"
    say = "请回复「地区」加上" if by_text else "请填写"
    if named.namesakes:
        places = "、".join(named.namesakes)
        example = ("地区 " if by_text else "") + named.namesakes[0].replace(" ", "")
        return f"「{named.words}」有多处：{places}。{say}所在的省或市和县区名，如「{example}」。"
    example = ("地区 " if by_text else "") + EXAMPLE
    return f"没有找到「{named.words}」。{say}县区名，如「{example}」。"


def _named_by(words: str) -> list[Division]:
    """Every division the words name: a name (宝兴县, 宝兴), or a name within the divisions its first part names
    (雅安宝兴, 四川雅安宝兴县, 辽宁朝阳)."""
    names = _names()
    found = list(names.get(words, ()))
    for cut in range(2, len(words) - 1):
        inner = names.get(words[cut:])
        if inner:
            outer = _named_by(words[:cut])
            found += [d for d in inner if any(_within(d, o) for o in outer)]
    return list(dict.fromkeys(found))


def _within(division: Division, outer: Division) -> bool:
    return outer.level < division.level and division.code.startswith(outer.code[: 2 * (1 + outer.level)])


@functools.cache
def _names() -> dict[str, tuple[Division, ...]]:
    names: dict[str, list[Division]] = {}
    for division in load_gazetteer().by_code.values():
        for name in dict.fromkeys((division.name, short_name(division.name))):
            if len(name) >= 2:
                names.setdefault(name, []).append(division)
    return {name: tuple(divisions) for name, divisions in names.items()}


def _path(gazetteer: Gazetteer, division: Division) -> str:
    return " ".join(name for name in gazetteer.admin(division) if name)
