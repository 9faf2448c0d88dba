from __future__ import annotations

import json

import pytest

from tests.triage.conftest import LUSHAN_PLEA, SPAM_LINE
from wenzheng.triage import RoutingRule, TriageInput, triage, triage_batch

CONTRACT_KEYS = [
    "id",
    "lang",
    "normalized",
    "spam",
    "intent",
    "urgency",
    "score",
    "cues",
    "places",
    "phones",
    "people",
    "cluster",
    "department",
    "department_confidence",
    "model_version",
]


def test_lushan_plea_is_p0_rescue_with_its_place() -> None:
    result = triage({"id": "lushan", "text": LUSHAN_PLEA})
    assert result.urgency == "P0"
    assert result.intent == "rescue"
    assert not result.spam
    assert result.places[0].text == "姚桥镇初级中学附属教师职工宿舍"
    assert result.places[0].admin[3] == "姚桥镇"
    assert "danger:被困" in result.cues


def test_spam_line_is_flagged_and_kept_out_of_the_queue() -> None:
    result = triage(SPAM_LINE)
    assert result.spam
    assert result.urgency == "P3"


def test_json_contract_is_exactly_the_documented_keys() -> None:
    line = triage_batch([TriageInput(id="1", text=LUSHAN_PLEA)])[0].to_dict()
    assert list(line) == CONTRACT_KEYS
    assert list(line["places"][0]) == ["text", "admin", "lat", "lon"]
    assert len(line["places"][0]["admin"]) == 4
    json.dumps(line, ensure_ascii=False)  # serializable as it is


@pytest.mark.parametrize(
    ("text", "intent", "urgency"),
    [
        ("我家老人发烧三天了，村里断水断电，急需药品", "help", "P1"),
        ("寻人启事：我弟弟7月20日下午在郑州失联，有知道情况的请联系", "missing_person", "P1"),
        ("我们可以免费提供住宿和热饭，有需要的请联系", "offer", "P2"),
        ("请问捐款渠道有哪些？怎么捐款", "consultation", "P2"),
        ("小区物业乱收费，强烈要求查处", "complaint", "P2"),
        ("建议在学校门口增设红绿灯", "suggestion", "P2"),
        ("为雅安祈福，愿平安", "sympathy", "P3"),
        # Short statements of an urgent need of named people: help, P1 — whatever the plea model (trained on long
        # Weibo posts) thinks of them.
        ("龙门乡青龙场村有三位老人行动不便，需要转移", "help", "P1"),
        ("太平镇安置点缺饮用水和帐篷，约40人", "help", "P1"),
        ("我们村三户人家需要转移吗？", "consultation", "P2"),
        ("Praying for everyone in Haiti, stay strong", "sympathy", "P3"),
    ],
)
def test_intents_and_urgency(text: str, intent: str, urgency: str) -> None:
    result = triage(text)
    assert (result.intent, result.urgency) == (intent, urgency)


def test_a_plea_the_model_doubts_still_needs_a_look() -> None:
    from wenzheng.triage.cues import find_cues
    from wenzheng.triage.models import People
    from wenzheng.triage.urgency import decide

    hits = find_cues("我弟弟在郑州失联了", "zh")
    doubted = decide(hits, People(), spam=False, plea_probability=0.1, plea_threshold=0.55)
    believed = decide(hits, People(), spam=False, plea_probability=0.9, plea_threshold=0.55)
    assert (believed.intent, believed.urgency) == ("missing_person", "P1")
    assert doubted.intent != "missing_person"
    assert doubted.urgency == "P2"
    assert "model:plea=0.10" in doubted.cues


def test_a_brief_stated_need_keeps_its_plea_when_the_model_doubts_it() -> None:
    from wenzheng.triage.cues import find_cues
    from wenzheng.triage.models import People
    from wenzheng.triage.urgency import decide

    hits = find_cues("安置点缺饮用水和帐篷", "zh")
    brief = decide(hits, People(count=40), spam=False, brief=True, plea_probability=0.2, plea_threshold=0.55)
    long = decide(hits, People(count=40), spam=False, brief=False, plea_probability=0.2, plea_threshold=0.55)
    assert (brief.intent, brief.urgency) == ("help", "P1")
    assert long.intent != "help"


def test_english_rescue_plea_is_p0_with_the_model_cue() -> None:
    result = triage("We are trapped under the rubble in Delmas 33, my mother is injured, please help")
    assert result.lang == "en"
    assert result.urgency == "P0"
    assert any(cue.startswith("model:life_safety=") for cue in result.cues)


def test_a_creole_plea_gets_its_cues_and_a_plea_intent() -> None:
    trapped, hungry, missing = triage_batch(
        [
            {"id": "1", "text": "Nou anba dekonb lekol la nan Delma 33, manman m blese, tanpri voye sekou"},
            {"id": "2", "text": "Nou grangou, pa gen manje pa gen dlo, timoun yo malad"},
            {"id": "3", "text": "M pa jwenn pitit mwen depi jedi, pa gen nouvel li"},
        ]
    )
    assert trapped.lang == "other" and trapped.intent == "rescue"
    assert {"danger:anba dekonb", "danger:blese", "plea:sekou"} <= set(trapped.cues)
    assert trapped.urgency in ("P0", "P1")
    assert hungry.intent == "help" and set(hungry.people.vulnerable) == {"children", "sick"}
    assert missing.intent == "missing_person"


def test_scores_order_the_queue() -> None:
    plea, question, prayer = triage_batch(
        [{"id": "a", "text": LUSHAN_PLEA}, {"id": "b", "text": "请问怎么捐款？"}, {"id": "c", "text": "为雅安祈福"}]
    )
    assert plea.score > question.score > prayer.score
    assert 0.75 <= plea.score <= 1.0


def test_batch_keeps_order_and_ids() -> None:
    results = triage_batch([{"id": str(i), "text": f"请问{i}号线几点开"} for i in range(5)])
    assert [r.id for r in results] == ["0", "1", "2", "3", "4"]


def test_gov_message_is_routed_by_the_model() -> None:
    result = triage("A市某小学附近施工噪音扰民，孩子上课受影响，教育局能否协调学校周边施工时间？")
    assert result.department == "教育文体"
    assert 0.0 < result.department_confidence < 1.0


def test_matching_rule_wins_with_full_confidence() -> None:
    rules = [RoutingRule(department="交警支队", keywords=("红绿灯",), name="lights")]
    result = triage("建议在学校门口增设红绿灯", rules=rules)
    assert (result.department, result.department_confidence) == ("交警支队", 1.0)
    assert "rule:lights" in result.cues


def test_rules_as_plain_mappings_by_category_intent_and_region() -> None:
    rules = [
        {"department": "应急管理局", "categories": ["rescue"], "regions": ["荥阳市"], "priority": 5},
        {"department": "教育局", "keywords": ["学校"]},
    ]
    rescue = triage("我们被困在荥阳市王宗店村文化广场，房子塌了，救命", rules=rules)
    school = triage("建议学校门口增设斑马线", rules=rules)
    elsewhere = triage("我们被困在姚桥镇中学宿舍，救命", rules=rules)
    assert rescue.department == "应急管理局"
    assert school.department == "教育局"
    assert elsewhere.department != "应急管理局"


def test_rule_with_no_facets_matches_nothing() -> None:
    result = triage("建议增设红绿灯", rules=[{"department": "任何部门"}])
    assert result.department != "任何部门"


def test_empty_text_is_handled() -> None:
    result = triage({"id": "x", "text": "   "})
    assert (result.intent, result.urgency, result.cluster) == ("other", "P3", None)
