from __future__ import annotations

import random

import pytest

from tests.triage.conftest import LUSHAN_PLEA
from wenzheng.triage import TriageModels
from wenzheng.triage.extract import find_people, find_phones, find_places, parse_number
from wenzheng.triage.normalize import normalize
from wenzheng.triage.world import load_towns


def test_lushan_plea_gives_township_and_the_full_place_phrase(models: TriageModels) -> None:
    places = find_places(normalize(LUSHAN_PLEA), models.gazetteer, "zh")
    assert [p.text for p in places] == ["姚桥镇初级中学附属教师职工宿舍"]
    assert places[0].admin == (None, None, None, "姚桥镇")


def test_gazetteer_resolves_county_with_coordinates(models: TriageModels) -> None:
    (place,) = find_places("位置为荥阳市王宗店村文化广场——", models.gazetteer, "zh")
    assert place.text == "荥阳市王宗店村文化广场"
    assert place.admin[:3] == ("河南省", "郑州市", "荥阳市")
    assert place.lat is not None and 34 < place.lat < 35.5
    assert place.lon is not None and 113 < place.lon < 114


def test_short_county_name_needs_its_city_nearby(models: TriageModels) -> None:
    (place,) = find_places("雅安芦山地震后", models.gazetteer, "zh")
    assert place.admin[:3] == ("四川省", "雅安市", "芦山县")
    assert find_places("芦山发生地震", models.gazetteer, "zh") == ()


def test_namesake_counties_get_no_coordinates_without_context(models: TriageModels) -> None:
    (place,) = find_places("鼓楼区医院", models.gazetteer, "zh")
    assert place.lat is None


def test_english_places() -> None:
    places = find_places("We are trapped in Delmas 33 near Port-au-Prince", None, "en")  # type: ignore[arg-type]
    assert [p.text for p in places] == ["Delmas 33", "Port-au-Prince"]


def test_creole_towns_in_lower_case_are_found_only_with_the_agencys_countries() -> None:
    text = "nou bezwen manje nan jakmel manje a fini, epi nan delma 33 tou"
    haiti = load_towns(["HT"])
    places = find_places(text, None, "other", haiti)  # type: ignore[arg-type]
    assert [(p.text, p.admin[1]) for p in places] == [("jakmel", "Jacmel"), ("delma 33", "Delmas")]
    assert find_places(text, None, "other") == ()  # type: ignore[arg-type]
    assert find_places("we met in march", None, "en", load_towns(["GB"])) == ()  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("we live in Port au Prince now", "Port au Prince"),
        ("need food at Croix des Bouquets and Noailles", "Croix des Bouquets"),
        ("a school in Anse a Galets on the island", "Anse a Galets"),
        ("camp at Village de la Paix", "Village de la Paix"),
        ("And in St. Marc, no water", "St. Marc"),
        ("floods in Lagos la semaine dernière", "Lagos"),  # a particle only between capitalized words
        ("nou bezwen dlo nan Delma 33, souple", "Delma 33"),  # Creole nan, lan, bò; French dans, à
        ("les femmes à Mbar Toubab ont", "Mbar Toubab"),
    ],
)
def test_english_place_phrases_keep_french_particles_between_words(text: str, phrase: str) -> None:
    assert [p.text for p in find_places(text, None, "en")] == [phrase]  # type: ignore[arg-type]


def test_phones() -> None:
    text = "联系电话：138 1234 5678，座机0835-2223333，call +509 3456 7890 or 3456-7890"
    assert find_phones(text) == ("13812345678", "08352223333", "+50934567890", "34567890")


def test_a_number_glued_to_a_word_is_not_a_phone() -> None:
    """The pattern's look-behinds see the text before a number even though only the number's stretch is scanned."""
    assert find_phones("abc+509 3456 7890") == ()
    assert find_phones("call +509 3456 7890") == ("+50934567890",)
    assert find_phones("编号x13812345678") == ("13812345678",)  # a letter before a mobile number is fine
    assert find_phones("编号913812345678") == ()


def test_people_counts_and_vulnerable_groups() -> None:
    people = find_people("一家五口被困30多个小时，有孕妇和两个孩子，3人受伤")
    assert people.count == 5
    assert people.injured == 3
    assert set(people.vulnerable) == {"children", "pregnant"}
    assert "30多个小时" in people.times


def test_times_in_order_with_words_inside_a_date_kept_in_it() -> None:
    people = find_people("昨天下午3点涨水，7月21日凌晨被困，已经10个小时了，今晚怎么办")
    assert people.times == ("昨天", "下午", "3点", "7月21日凌晨", "10个小时了")


def test_english_people() -> None:
    people = find_people("Five people trapped since yesterday, 2 injured, an elderly woman", "en")
    assert (people.count, people.injured) == (5, 2)
    assert people.vulnerable == ("elderly",)
    assert "since yesterday" in people.times


def test_chinese_numbers() -> None:
    assert [parse_number(x) for x in ("三", "十五", "二十", "两千", "一万", "几十", "42")] == [
        3,
        15,
        20,
        2000,
        10000,
        None,
        42,
    ]


def _random_texts(alphabet: list[str], count: int, longest: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choice(alphabet) for _ in range(rng.randrange(longest))) for _ in range(count)]


def test_townships_are_found_near_their_anchors_as_a_whole_scan_finds_them() -> None:
    """The township pattern runs only in stretches around 镇/乡/街道; it must find what a scan of the span finds."""
    from wenzheng.triage import extract

    alphabet = [*"镇乡街道城家桥龙门姚在了的1a县 ,", "街道", "姚桥镇", "城镇"]
    texts = _random_texts(alphabet, 20_000, 30, seed=1)
    rng, found = random.Random(2), 0
    for text in texts:
        start = rng.randrange(len(text) + 1)
        end = rng.randrange(start, len(text) + 1)
        plain = [
            (m.start(), m.group())
            for m in extract._TOWNSHIP.finditer(text, start, end)
            if not extract._TOWNSHIP_NOT.search(m.group())
        ]
        assert [(m.start(), m.group()) for m in extract._townships(text, start, end)] == plain, (text, start, end)
        found += bool(plain)
    assert found > 500  # the alphabet makes townships often enough to test something


def test_a_place_phrase_ends_as_in_a_window_of_forty_characters() -> None:
    """The phrase end reads place characters first and stop words among them: the same end as cutting a
    40-character window at its first stop word and then at its first character that is not a place character."""
    from wenzheng.triage import extract

    def windowed(text: str, start: int) -> int:
        window = text[start : start + 40]
        stop = extract._STOP_WORDS.search(window, 1)
        window = window[: stop.start() if stop else len(window)]
        last = 0
        for suffix in extract._PLACE_SUFFIX.finditer(extract._PLACE_CHARS.match(window).group()):  # type: ignore[union-attr]
            last = suffix.end()
        return start + last

    alphabet = [
        *"镇乡城家桥龙在了的人目前我们请求有被发生附近省市区县村号楼宿舍中学 ,.!?;、\n1aA#-",
        "附近的",
        "的人",
        "职工宿舍",
    ]
    texts = _random_texts(alphabet, 30_000, 70, seed=3)
    rng, phrases = random.Random(4), 0
    for text in texts:
        start = rng.randrange(len(text) + 1)
        assert extract._phrase_end(text, start) == windowed(text, start), (text, start)
        phrases += extract._phrase_end(text, start) > start
    assert phrases > 3_000


def test_english_vulnerable_groups_screened_are_the_patterns_searched() -> None:
    from wenzheng.triage import extract

    texts = [
        "my old man and the kids are sick",
        "an elderly lady in labour, a baby and an infant",
        "pregnant woman in labor, paralysed father in a wheelchair",
        "children need insulin and dialysis, patients waiting",
        "bold mankind kidding babble",
        "disabled",
        "",
    ]
    for text in texts:
        every = tuple(name for name, pattern in extract._VULNERABLE_EN if pattern.search(text))
        assert extract._vulnerable(text, "en") == every
    assert extract._vulnerable(texts[0], "en") == ("elderly", "children", "sick")
