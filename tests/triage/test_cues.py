"""The lexicon's matchers: the fast forms find exactly what the plain patterns find."""

from __future__ import annotations

import re

import pytest

from wenzheng.triage import cues

SENTENCES = [
    "we are trapped under the rubble in delmas 33, my mother is injured, please help us",
    "is there any water? when will the food come? can i get a tent",
    "stuck since yesterday, can't breathe, heart attack, emergency!!",
    "praying for haiti, stay strong. according to officials the death toll rose",
    "we can offer free food and shelter; volunteers needed at the clinic",
    "no food no water, hungry children, urgently need medicine",
    "my brother is missing, we have not heard from him; looking for him near the hospital",
    "a broken leg and a broken bones fracture; amputated; burning house on fire",
    # Haitian Creole, as the Haiti SMS were sent
    "nou anba dekonb lekol la nan delma 33, manman m blese, tanpri voye sekou",
    "nou grangou, pa gen manje pa gen dlo, timoun yo malad",
    "m pa jwenn pitit mwen depi jedi, pa gen nouvel li",
]


@pytest.mark.parametrize("category", sorted(cues._LEXICON))
def test_english_matchers_find_what_the_plain_patterns_find(category: str) -> None:
    plain = re.compile(cues._LEXICON[category][1])
    fast = cues._COMPILED["en"][category]
    assert [fast.findall(s) for s in SENTENCES] == [plain.findall(s) for s in SENTENCES]


def test_chinese_terms_are_found_overlapping_and_in_order() -> None:
    hits = cues.find_cues("我们被困在了宿舍,房子塌了,救救我们", "zh")
    assert hits.terms["danger"] == ("被困", "困在", "塌了")
    assert "救救" in hits.terms["plea"]
    assert "sos" in cues.find_cues("SOS 救命", "zh").terms["sos"]


def test_english_cues_skipping_categories_by_stem_find_what_every_pattern_finds() -> None:
    for sentence in SENTENCES:
        plain = {category: tuple(re.findall(pair[1], sentence)) for category, pair in cues._LEXICON.items()}
        expected = {category: tuple(dict.fromkeys(terms)) for category, terms in plain.items() if terms}
        assert cues.find_cues(sentence, "en").terms == expected


@pytest.mark.parametrize(
    ("term", "stem"),
    [
        (r"\binjur\w*", "inju"),
        (r"can'?t breathe", "can"),
        (r"\bkids?\b", "kid"),
        (r"\bno (?:food|water)\b", "no "),
        (r"\?", "?"),
        (r"\b\?", None),
        (r"\bha(?:ve|s)n'?t received\b", None),
    ],
)
def test_a_stem_is_what_every_match_of_the_term_begins_with(term: str, stem: str | None) -> None:
    assert cues._stem(term) == stem


@pytest.mark.parametrize(
    ("pattern", "openings"),
    [
        (r"(?:需要|急需|需)(?:转移|撤离)|缺.{0,3}(?:药|水)", ("需要", "急需", "需", "缺")),
        (r"讯\b|吗\?|吗$|向.{0,10}捐", ("讯", "吗", "向")),
        (r"需要的(?:朋友|人)?联系", ("需要的",)),
        (r"(?:请|求)?救援", None),  # an optional group: a match may begin with 救
        (r"救援?|.{0,3}帐篷", None),  # 救 alone can open the first term; the second opens with anything
    ],
)
def test_openings_are_what_every_match_of_a_chinese_pattern_begins_with(
    pattern: str, openings: tuple[str, ...] | None
) -> None:
    assert cues._openings(pattern) == openings


def test_chinese_patterns_are_scanned_only_where_their_openings_are() -> None:
    assert cues._ZH_SCREEN("我们需要转移，缺饮用水") >= {"urgent_need"}
    assert cues._ZH_SCREEN("大家好") == frozenset()
    assert cues.find_cues("老人需要转移", "zh").terms.get("urgent_need") == ("需要转移",)
