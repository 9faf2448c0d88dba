"""Extraction: places (with the gazetteer and as free-form phrases), phone numbers, people and time expressions."""

from __future__ import annotations

import re

import ahocorasick_rs

from wenzheng.triage.cues import Screen, word_stems
from wenzheng.triage.gazetteer import Gazetteer, Match
from wenzheng.triage.models import People, Place
from wenzheng.triage.world import TownIndex

_CJK_PLACE_CHAR = r"[\u3400-\u9fffA-Za-z0-9#\-]"
_PLACE_CHARS = re.compile(_CJK_PLACE_CHAR + "*")
# Where a place phrase may begin: after a locative verb, or at a division the gazetteer or township rule knows.
_LOCATIVE = re.compile(r"(?:被困在|困在|住在|位于|在|于|到|地址[是为:]?|位置[是为:]?|地点[是为:]?|坐标[:]?)了?[:]?\s?")
_STOP_WORDS = re.compile(r"了|的人|目前|现在|已经|请|求|我们|我|有人|被|这|那|发生|附近的|,|。|!|\?|;|、|\s|$")
_PLACE_SUFFIX = re.compile(
    r"(?:省|市|区|县|镇|乡|村|组|社区|街道|街|路|巷|弄|号|栋|幢|楼|单元|室|小区|大厦|大楼|公寓|宿舍|家园|花园|苑|庄|屯|寨|湾|"
    r"学校|中学|小学|大学|学院|幼儿园|医院|卫生院|诊所|广场|公园|酒店|宾馆|车站|站|桥|隧道|地铁|商场|超市|市场|厂|公司|"
    r"水库|大坝|坝|河|山|堤|营地|安置点|服务区|高速|国道|省道)(?=[^省市区县镇乡村组街路巷弄号栋幢楼室]|$)"
)
_TOWNSHIP = re.compile(
    r"[^\W\d_a-zA-Z在了的是被我你他她们从到于和与及去来住困回和就都也还县市区省]{2,4}?(?:镇|乡|街道)"
)
_TOWNSHIP_NOT = re.compile(r"城镇|乡镇|城乡|家乡|老乡|下乡|故乡|村镇|集镇|重镇|坐镇")
# A capitalized word or number after in/at/near… (Creole nan/lan/bò, French dans/à), then up to four more, French
# and Creole particles allowed only between them (Port au Prince, Croix des Bouquets, Anse à Galets, Village de la
# Paix; "in Lagos la" is Lagos).
_EN_PLACE = re.compile(
    r"\b(?:in|at|near|from|around|to|nan|lan|bo|bò|dans|à)\s+((?:St\.|Ste\.|[A-Z][\w'\-]+|\d+)"
    r"(?:\s+(?:(?:des|de|du|la|le|les|aux|au|à|a|d')\s+){0,2}(?:St\.|Ste\.|[A-Z][\w'\-]+|\d+)){0,4})"
)
# After a place phrase: the kind of place it is when smaller than a town's name ("Longmen township"), and further
# places in apposition, as an address is written ("in Lushan County, Ya'an, Sichuan").
_SMALLER_PLACE = re.compile(r"\s+(township|town|village)\b")
_APPOSITION = re.compile(r",\s*([A-Z][\w'\-]+(?:\s+[A-Z][\w'\-]+){0,3})")
_LOWER_PLACE = re.compile(r"\b(?:nan|lan|bo|bò|dans|à|in|at)\s+([a-z][\w'\-]+(?:\s+(?:[a-z][\w'\-]+|\d+))?)")
_EN_NOT_PLACE = frozenset(
    ["I", "The", "We", "They", "He", "She", "It", "This", "That", "God", "Jesus", "Mr", "Mrs", "Dr", "Please", "Help"]
)

_FOUR_DIGITS = re.compile(r"\d{4}")
_PHONE = re.compile(
    r"(?<![\d+])(?:\+?86[\s-]?)?1[3-9]\d(?:[\s-]?\d{4}){2}(?!\d)"
    r"|(?<!\d)0\d{2,3}-\d{7,8}(?!\d)"
    r"|(?<![\w+])\+\d{1,3}[\s-]?\d{2,4}[\s-]?\d{3,4}[\s-]?\d{3,4}(?!\d)"
    r"|(?<![\d-])\d{3}[-.]\d{3}[-.]\d{4}(?![\d-])"
    r"|(?<![\d-])[2-4]\d{3}-\d{4}(?![\d-])"
)

# A number is made of digits, "+", spaces, "-" and "."; it starts with a digit or "+" and is at least 9 long.
# The phone pattern (look-behinds at every position) is only run over such stretches of a message.
_PHONE_SEGMENT = re.compile(r"[\d+][\d\s+.\-]{8,}")
_PHONE_JOINERS = re.compile(r"[\s.\-]")

_CN_UNITS = {"十": 10, "百": 100, "千": 1000, "万": 10000}
_CN_DIGITS = {"零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_NUM = r"([\d一二两三四五六七八九十百千万几]{1,4})"
_ZH_COUNT = re.compile(
    _NUM + r"(?:多|余|来)?(?:个|位|名|口)?(?:人|家人|老人|孩子|小孩|学生|村民|群众|户)(?!员|民币|数)"
)
_ZH_FAMILY = re.compile(r"一家" + _NUM + r"口")
_ZH_INJURED = re.compile(_NUM + r"(?:多|余)?(?:个|位|名)?人?(?:受伤|伤员|重伤|轻伤|骨折)")
_ZH_HURT_WORDS = re.compile(r"受伤|伤员|重伤|轻伤|骨折")
_ZH_DEAD_WORDS = re.compile(r"死亡|遇难|身亡|去世")
_ZH_DEAD = re.compile(_NUM + r"(?:多|余)?(?:个|位|名)?人?(?:死亡|遇难|身亡|去世)")
_EN_NUMBER_WORDS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "fifteen": 15,
    "twenty": 20,
    "thirty": 30,
    "fifty": 50,
    "hundred": 100,
}
_EN_NUM = r"(\d{1,5}|" + "|".join(_EN_NUMBER_WORDS) + r")"
_ANY_DIGIT = re.compile(r"[\d一二两三四五六七八九十百千万几]")
_ANY_EN_NUMBER = re.compile(r"\d|\b(?:" + "|".join(_EN_NUMBER_WORDS) + r")\b")
_EN_COUNT = re.compile(
    _EN_NUM + r"\s+(?:people|persons|families|children|kids|adults|of us|survivors|victims|men|women)\b"
)
_EN_INJURED = re.compile(_EN_NUM + r"\s+(?:people\s+|persons\s+)?(?:are\s+|were\s+)?(?:injured|wounded|hurt)\b")
_EN_DEAD = re.compile(_EN_NUM + r"\s+(?:people\s+|persons\s+)?(?:are\s+|were\s+)?(?:dead|died|killed)\b")

# (group, Chinese terms, English pattern): Chinese is matched as plain substrings, English as words.
_VULNERABLE_TERMS = (
    (
        "elderly",
        ("老人", "老年", "爷爷", "奶奶", "外婆", "外公", "姥姥", "姥爷"),
        r"\belderly\b|\bold (?:man|woman|people|lady)\b|\bgranmoun\b",
    ),
    (
        "children",
        ("孩子", "小孩", "儿童", "婴儿", "宝宝", "女婴", "男婴", "幼儿"),
        r"\bchild|\bkids?\b|\bbab(?:y|ies)\b|\binfants?\b|\btimoun\w*|\bbebe\b",
    ),
    ("pregnant", ("孕妇", "怀孕", "产妇", "临产", "待产", "预产期"), r"\bpregnant\b|\bin labou?r\b|\bansent\b"),
    ("disabled", ("残疾", "瘫痪", "卧床", "行动不便", "轮椅"), r"\bdisabled\b|\bwheelchair\b|\bparaly|\bandikap\w*"),
    (
        "sick",
        ("病人", "患者", "透析", "胰岛素", "发烧", "高烧"),
        r"\bsick\b|\bpatients?\b|\bdialysis\b|\binsulin\b|\bmalad\b",
    ),
)
_VULNERABLE_EN = tuple((name, re.compile(pattern)) for name, _, pattern in _VULNERABLE_TERMS)
# Which English groups have a term's first letters in a text (one pass); only those patterns are searched.
_VULNERABLE_EN_SCREEN = Screen({name: word_stems(pattern) for name, _, pattern in _VULNERABLE_TERMS})
_VULNERABLE_ZH_GROUP = [group for group, (_, terms, _) in enumerate(_VULNERABLE_TERMS) for _term in terms]
_VULNERABLE_ZH = ahocorasick_rs.AhoCorasick([term for _, terms, _ in _VULNERABLE_TERMS for term in terms])
# Chinese times in two patterns, each starting with a plain character (a digit, or a word's first character) so
# the regex engine skips ahead to where one can begin; a word inside a numbered time (7月21日凌晨) is part of it.
_TIMES_ZH_NUMBERED = re.compile(
    r"\d(?:\d?月\d{1,2}[日号](?:[上下]午|晚上?|凌晨|早上)?|\d?[:：]\d{2}|\d?点(?:\d{1,2}分|半)?|"
    r"\d{0,2}(?:多|余)?个?(?:小时|天|分钟)(?:了|以来)?)"
)
_TIMES_ZH_WORDS = re.compile(r"昨天|今天|今晚|昨晚|前天|明天|凌晨|早上|上午|中午|下午|傍晚|晚上|半夜|刚才|刚刚")
_TIMES_EN = re.compile(
    r"\b(?:yesterday|today|tonight|last night|this (?:morning|afternoon|evening)|since (?:yesterday|last \w+))\b|"
    r"\b\d{1,3}\s+(?:hours|days|minutes)\b|\b\d{1,2}(?::\d{2})?\s?[ap]\.?m\b",
)


def mask_phones(text: str, mask: str) -> str:
    """``text`` with each phone number the way :func:`find_phones` reads them replaced by ``mask``."""
    if not _FOUR_DIGITS.search(text):
        return text
    return _PHONE.sub(mask, text)


def find_phones(text: str) -> tuple[str, ...]:
    """Phone numbers, digits only (with a leading + kept), in order of appearance, without repeats."""
    seen: dict[str, None] = {}
    if not _FOUR_DIGITS.search(text):  # every number we accept has four digits in a row somewhere
        return ()
    for segment in _PHONE_SEGMENT.finditer(text):
        # Scanned in place (pos/endpos), so the look-behinds still see the characters before the segment.
        for match in _PHONE.finditer(text, segment.start(), segment.end()):
            seen.setdefault(_PHONE_JOINERS.sub("", match.group()), None)
    return tuple(seen)


def find_people(text: str, lang: str = "zh") -> People:
    """Head count, injured, dead, vulnerable groups and time expressions in a message (Chinese or English)."""
    text = text.lower()  # the English patterns are lower-case (case-insensitive matching is slow)
    count = injured = dead = None
    if (_ANY_DIGIT if lang == "zh" else _ANY_EN_NUMBER).search(text):
        if lang == "zh":
            count = _first_number(_ZH_FAMILY, text) or _first_number(_ZH_COUNT, text)
            injured = _first_number(_ZH_INJURED, text) if _ZH_HURT_WORDS.search(text) else None
            dead = _first_number(_ZH_DEAD, text) if _ZH_DEAD_WORDS.search(text) else None
        else:
            count = _first_number(_EN_COUNT, text)
            injured = _first_number(_EN_INJURED, text)
            dead = _first_number(_EN_DEAD, text)
    times = _times_zh(text) if lang == "zh" else _TIMES_EN.findall(text)
    return People(
        count=count,
        injured=injured,
        dead=dead,
        vulnerable=_vulnerable(text, lang),
        times=tuple(dict.fromkeys(t.strip() for t in times))[:5],
    )


def _times_zh(text: str) -> list[str]:
    """Time expressions in order of appearance, as one left-to-right scan of both patterns would find them."""
    numbered = [(m.start(), m.end(), m.group()) for m in _TIMES_ZH_NUMBERED.finditer(text)]
    words = [(m.start(), m.end(), m.group()) for m in _TIMES_ZH_WORDS.finditer(text)]
    if numbered and words:
        words = [w for w in words if not any(start <= w[0] < end for start, end, _ in numbered)]
        return [found for _, _, found in sorted(numbered + words)]
    return [found for _, _, found in numbered or words]


def _vulnerable(text: str, lang: str) -> tuple[str, ...]:
    if lang == "zh":
        groups = {
            _VULNERABLE_ZH_GROUP[index]
            for index, _, _ in _VULNERABLE_ZH.find_matches_as_indexes(text, overlapping=True)
        }
        return tuple(_VULNERABLE_TERMS[group][0] for group in sorted(groups))
    possible = _VULNERABLE_EN_SCREEN(text)
    return tuple(name for name, pattern in _VULNERABLE_EN if name in possible and pattern.search(text))


def _first_number(pattern: re.Pattern[str], text: str) -> int | None:
    for match in pattern.finditer(text):
        raw = next((group for group in match.groups() if group), None)
        value = parse_number(raw) if raw else None
        if value:
            return value
    return None


def parse_number(raw: str) -> int | None:
    """3, 三, 十五, 二十, 两百, four → the integer; 几 and other vague counts → None."""
    raw = raw.lower()
    if raw.isdigit():
        return int(raw)
    if any(ch.isdigit() for ch in raw):
        return None
    if raw in _EN_NUMBER_WORDS:
        return _EN_NUMBER_WORDS[raw]
    if "几" in raw:
        return None
    total, current = 0, 0
    for ch in raw:
        if ch in _CN_DIGITS:
            current = _CN_DIGITS[ch]
        elif ch in _CN_UNITS:
            total += (current or 1) * _CN_UNITS[ch]
            current = 0
    return total + current or None


def find_places(text: str, gazetteer: Gazetteer, lang: str, towns: TownIndex | None = None) -> tuple[Place, ...]:
    """Places named in a normalized message: free-form phrases, resolved against the gazetteer where possible.

    English phrases are resolved against ``towns`` (the towns of the agency's countries) when given.
    """
    if lang == "en":
        return _english_places(text, towns)
    if lang == "other":
        return _english_places(text, towns) + _lower_case_towns(text, towns)
    matches = gazetteer.find(text)
    spans = _phrase_spans(text, matches)
    places = [_place(text, span, matches, gazetteer) for span in spans]
    for match in matches:
        if not any(start <= match.start < end for start, end in spans):
            places.append(_place(text, (match.start, match.end), [match], gazetteer))
    return tuple(places)


def _phrase_spans(text: str, matches: list[Match]) -> list[tuple[int, int]]:
    starts = {m.end() for m in _LOCATIVE.finditer(text)}
    starts.update(m.start for m in matches)
    starts.update(m.start() for m in _townships(text, 0, len(text)))
    spans: list[tuple[int, int]] = []
    for start in sorted(starts):
        if spans and start < spans[-1][1]:
            continue
        end = _phrase_end(text, start)
        if end - start >= 2:
            spans.append((start, end))
    return spans


def _phrase_end(text: str, start: int) -> int:
    """Extend over place-like characters up to a stop word, then back to the last place suffix.

    芦山县发生地震 → 芦山县; 姚桥镇初级中学附属教师职工宿舍了 → 姚桥镇初级中学附属教师职工宿舍.
    """
    # Place characters first, then a stop word among them: every stop word is made of place characters or of
    # characters that end the run anyway, so this is the stop word search of the first 40 characters, made short.
    end = _PLACE_CHARS.match(text, start, start + 40).end()  # type: ignore[union-attr]
    stop = _STOP_WORDS.search(text, start + 1, end)
    last = start
    for suffix in _PLACE_SUFFIX.finditer(text, start, stop.start() if stop else end):
        last = suffix.end()
    return last


def _townships(text: str, start: int, end: int) -> list[re.Match[str]]:
    """Township names (姚桥镇, 龙门乡, 新华街道) between ``start`` and ``end``, without 城镇, 家乡 and the like.

    The pattern, tried at every position, is slow; it is only run where a match can be. A match ends with 镇, 乡
    or 街道 two to four characters after it begins, so it lies within [anchor - 4, anchor + 2) of one of them.
    Overlapping stretches are merged, and a scan of each stretch finds what a scan of the whole text would.
    """
    stretches: list[list[int]] = []
    for anchor in _anchors(text, start, end):
        low, high = max(start, anchor - 4), min(end, anchor + 2)
        if stretches and low <= stretches[-1][1]:
            stretches[-1][1] = max(stretches[-1][1], high)
        else:
            stretches.append([low, high])
    return [
        match
        for low, high in stretches
        for match in _TOWNSHIP.finditer(text, low, high)
        if not _TOWNSHIP_NOT.search(match.group())
    ]


def _anchors(text: str, start: int, end: int) -> list[int]:
    """Where 镇, 乡 and 街道 begin between ``start`` and ``end``, in order."""
    found = []
    for word in ("镇", "乡", "街道"):
        at = text.find(word, start, end)
        while at >= 0:
            found.append(at)
            at = text.find(word, at + 1, end)
    return sorted(found)


def _place(text: str, span: tuple[int, int], matches: list[Match], gazetteer: Gazetteer) -> Place:
    start, end = span
    inside = [m for m in matches if start <= m.start < end]
    resolved = [d for d in (gazetteer.resolve(m, matches) for m in inside) if d is not None]
    township = next((m.group() for m in _townships(text, start, end)), None)
    if not resolved:
        return Place(text=text[start:end], admin=(None, None, None, township))
    finest = max(resolved, key=lambda d: d.level)
    province, city, county = gazetteer.admin(finest)
    return Place(text=text[start:end], admin=(province, city, county, township), lat=finest.lat, lon=finest.lon)


def _english_places(text: str, towns: TownIndex | None) -> tuple[Place, ...]:
    found: dict[str, None] = {}
    for match in _EN_PLACE.finditer(text):
        for phrase in _phrases_from(text, match):
            if phrase.split()[0] not in _EN_NOT_PLACE and not phrase.isdigit():
                found.setdefault(phrase, None)
    places = tuple(_english_place(phrase, towns) for phrase in found)
    if towns is None or all(place.lat is not None for place in places):
        return places
    return tuple(_told_apart(place, places, towns) for place in places)


def _phrases_from(text: str, match: re.Match[str]) -> list[str]:
    """The phrase after a preposition, with its kind when it is a township's ("Longmen township": not 龙门县),
    then the places written after it in apposition ("Lushan County, Ya'an, Sichuan")."""
    phrase, end = match.group(1).strip(), match.end()
    smaller = _SMALLER_PLACE.match(text, end)
    if smaller is not None:
        phrase, end = f"{phrase} {smaller.group(1)}", smaller.end()
    phrases = [phrase]
    if phrase.isdigit():
        return phrases  # "in 2010, MR has…": a year, and what follows it is no address
    following = _APPOSITION.match(text, end)
    while following is not None and len(phrases) < 4 and len(following.group(1)) >= 3:
        phrases.append(following.group(1))
        following = _APPOSITION.match(text, following.end())
    return phrases


def _told_apart(place: Place, places: tuple[Place, ...], towns: TownIndex) -> Place:
    """A name several Chinese divisions share, told apart by another place of the message: "Lushan County, Ya'an"
    is 芦山县, the one in 雅安市 (鲁山县 is in Henan, 庐山市 in Jiangxi). Only when exactly one of them lies in a
    division named elsewhere in the message."""
    if place.lat is not None:
        return place
    others = [p.admin for p in places if p.lat is not None and p.admin[0] is not None]
    inside = [
        town
        for town in towns.namesakes(place.text)
        if town.admin is not None and any(_within(town.admin, other) for other in others)
    ]
    if len(inside) != 1:
        return place
    return Place(text=place.text, admin=inside[0].admin_names(), lat=inside[0].lat, lon=inside[0].lon)


def _within(admin: tuple[str | None, ...], larger: tuple[str | None, ...]) -> bool:
    """Whether a division lies in another one: their names agree wherever the larger one's are given."""
    named = [i for i, name in enumerate(larger) if name is not None]
    return bool(named) and all(admin[i] == larger[i] for i in named)


def _lower_case_towns(text: str, towns: TownIndex | None) -> tuple[Place, ...]:
    """Towns written in lower case after a Creole or French preposition ("nan delma 33", "lopital jakmel"), as SMS
    are typed: only a run of words that names a town of the agency's countries counts, so without countries none.
    Not for English, where "in march" is a month."""
    if towns is None:
        return ()
    found: dict[str, Place] = {}
    for match in _LOWER_PLACE.finditer(text):
        place = _english_place(_town_words(match.group(1), towns), towns)
        if place.lat is not None:
            found.setdefault(place.text, place)
    return tuple(found.values())


def _town_words(phrase: str, towns: TownIndex) -> str:
    """The words of a lower-case phrase that name its town: "jakmel manje" → jakmel, "vil tigwav" → tigwav,
    "delma 33" stays (the number is a part of the town)."""
    words = phrase.split()
    if len(words) == 2 and not words[1].isdigit():
        town = towns.resolve(phrase)
        for word in words:
            if town is not None and towns.resolve(word) == town:
                return word
    return phrase


def _english_place(phrase: str, towns: TownIndex | None) -> Place:
    town = towns.resolve(phrase) if towns is not None else None
    if town is None:
        return Place(text=phrase)
    # A GeoNames town is a city-level place: its name goes where a Chinese city's would; a Chinese division named
    # in pinyin has its divisions from the gazetteer.
    return Place(text=phrase, admin=town.admin_names(), lat=town.lat, lon=town.lon)
