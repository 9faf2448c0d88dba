"""The offline gazetteer: China's provinces, cities and counties with coordinates, from the ``cpca`` package's data.

Only cpca's data file is read (``cpca/resources/adcodes.csv``); importing cpca itself would pull in pandas.
Short names (雅安 for 雅安市) are matched for provinces and cities; a county's short name only when it is at
least three characters or the same text names its province or city, since short county names are often words.
"""

from __future__ import annotations

import csv
import functools
import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import ahocorasick_rs

_SUFFIXES = (
    "特别行政区",
    "维吾尔自治区",
    "壮族自治区",
    "回族自治区",
    "自治区",
    "自治州",
    "自治县",
    "地区",
    "林区",
    "新区",
    "省",
    "市",
    "县",
    "区",
    "盟",
    "旗",
)
_SKIP = {"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划", "城区", "郊区", "矿区"}


@dataclass(frozen=True, slots=True)
class Division:
    code: str
    name: str
    level: int  # 0 province, 1 city, 2 county
    lat: float | None
    lon: float | None


class Match(NamedTuple):
    start: int
    end: int
    candidates: tuple[Division, ...]
    short: bool


class Gazetteer:
    """Find administrative divisions in text and resolve them to ``[province, city, county]`` and coordinates."""

    def __init__(self, divisions: list[Division]) -> None:
        self.by_code = {d.code: d for d in divisions}
        names: dict[str, list[tuple[Division, bool]]] = {}
        for division in divisions:
            names.setdefault(division.name, []).append((division, False))
            short = short_name(division.name)
            if short != division.name and len(short) >= 2:
                names.setdefault(short, []).append((division, True))
        self._entries: list[tuple[tuple[Division, ...], bool]] = []
        for entries in names.values():
            full = tuple(d for d, is_short in entries if not is_short)
            self._entries.append((full or tuple(d for d, _ in entries), not full))
        self._automaton = ahocorasick_rs.AhoCorasick(list(names), matchkind=ahocorasick_rs.MatchKind.LeftmostLongest)

    def find(self, text: str) -> list[Match]:
        """Longest non-overlapping matches, with every division each name may mean."""
        entries = self._entries
        found = [
            Match(start, end, *entries[index]) for index, start, end in self._automaton.find_matches_as_indexes(text)
        ]
        if not any(m.short for m in found):
            return found
        codes = {c.code for m in found for c in m.candidates if len(m.candidates) == 1 and (not m.short or c.level < 2)}
        return [m for m in found if self._plausible(m, codes)]

    def _plausible(self, match: Match, context: set[str]) -> bool:
        if not match.short or match.end - match.start >= 3:
            return True
        division = match.candidates[0]
        if division.level < 2:
            return True
        return any(division.code.startswith(code[: 2 * (1 + self.by_code[code].level)]) for code in context)

    def resolve(self, match: Match, context: list[Match]) -> Division | None:
        """The one division a match means, using the other matches in the text to tell namesakes apart."""
        if len(match.candidates) == 1:
            return match.candidates[0]
        others = [c for m in context if m is not match and len(m.candidates) == 1 for c in m.candidates]
        fitting = [c for c in match.candidates if any(c.code.startswith(_prefix(o)) for o in others)]
        return fitting[0] if len(fitting) == 1 else None

    def admin(self, division: Division) -> tuple[str | None, str | None, str | None]:
        """``(province, city, county)`` names of a division and its parents."""
        province = self.by_code.get(division.code[:2] + "0" * 10)
        city = self.by_code.get(division.code[:4] + "0" * 8)
        return (
            province.name if province else None,
            city.name if city and division.level >= 1 else None,
            division.name if division.level == 2 else None,
        )


def _prefix(division: Division) -> str:
    return division.code[: 2 * (1 + division.level)]


def short_name(name: str) -> str:
    """雅安市 → 雅安, 芦山县 → 芦山; only the administrative suffix is cut (not ethnic names inside it)."""
    for suffix in _SUFFIXES:
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            return name[: -len(suffix)]
    return name


def _data_file() -> Path:
    spec = importlib.util.find_spec("cpca")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the cpca package (the gazetteer's data) is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "resources" / "adcodes.csv"


def _level(code: str) -> int:
    if code[2:] == "0" * 10:
        return 0
    return 1 if code[4:] == "0" * 8 else 2


@functools.cache
def load_gazetteer() -> Gazetteer:
    """The process-wide gazetteer (about 3,500 divisions; built once, in well under a second)."""
    divisions = []
    with _data_file().open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["name"] in _SKIP or len(row["adcode"]) != 12:
                continue
            lat = float(row["latitude"]) if row["latitude"] else None
            lon = float(row["longitude"]) if row["longitude"] else None
            divisions.append(Division(row["adcode"], row["name"], _level(row["adcode"]), lat, lon))
    divisions.sort(key=lambda d: d.code)
    return Gazetteer(divisions)
