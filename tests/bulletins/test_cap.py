"""CAP 1.2 documents: the structure of the OASIS standard (namespace, XSD order, enumerations, formats),
our profile (identifier, sender, colour, geocodes), and the compose form's checks."""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
from typing import Any

import defusedxml.ElementTree as SafeET
import pytest
from sqlalchemy.orm import Session

from tests.factories import create_tenant
from wenzheng.accounts.models import Account
from wenzheng.agencies.models import Agency
from wenzheng.bulletins import cap
from wenzheng.bulletins.models import Bulletin
from wenzheng.errors import InvalidInput

NS = "{urn:oasis:names:tc:emergency:cap:1.2}"
BASE = "https://wz.example.gov.cn"
CAP_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$")
STARTED = dt.datetime(2025, 6, 12, 0, 30, 5, 123456, tzinfo=dt.UTC)  # 08:30:05 in Beijing
NOW = dt.datetime(2025, 6, 12, 0, 0, tzinfo=dt.UTC)

# The XSD sequences, from the spec tables (protocols.md 3.1).
ALERT_SEQUENCE = [
    "identifier", "sender", "sent", "status", "msgType", "source", "scope", "restriction", "addresses",
    "code", "note", "references", "incidents", "info",
]  # fmt: skip
INFO_SEQUENCE = [
    "language", "category", "event", "responseType", "urgency", "severity", "certainty", "audience",
    "eventCode", "effective", "onset", "expires", "senderName", "headline", "description", "instruction",
    "web", "contact", "parameter", "resource", "area",
]  # fmt: skip
AREA_SEQUENCE = ["areaDesc", "polygon", "circle", "geocode", "altitude", "ceiling"]
REPEATABLE = {"code", "info", "category", "responseType", "eventCode", "parameter", "resource", "area"}
REPEATABLE |= {"polygon", "circle", "geocode"}


def account() -> Account:
    return Account(id=3, slug="yaan", name="雅安发布", description="", created_at=NOW)


def agency() -> Agency:
    return Agency(id=2, slug="yaan-gov", name="雅安市人民政府")


def alert(**overrides: Any) -> Bulletin:
    fields: dict[str, Any] = {
        "id": 7,
        "agency_id": 2,
        "account_id": 3,
        "kind": "alert",
        "state": "sent",
        "title": "雅安市发布暴雨橙色预警",
        "body": "预计今天中午至夜间芦山县将出现强降雨。",
        "link": "",
        "cap_event": "暴雨",
        "cap_category": "Met",
        "cap_urgency": "Expected",
        "cap_severity": "",
        "cap_certainty": "Likely",
        "cap_response_type": "Prepare",
        "cap_instruction": "避免前往低洼地带。",
        "warning_colour": "orange",
        "area_desc": "芦山县全境",
        "area_codes": ["511826", "511827"],
        "area_polygon": "30.10,103.00 30.20,103.00 30.20,103.10 30.10,103.00",
        "expires_at": STARTED + dt.timedelta(days=1),
        "msg_type": "Alert",
        "supersedes_id": None,
        "started_at": STARTED,
        "created_at": STARTED - dt.timedelta(hours=1),
        "updated_at": STARTED,
    }
    fields.update(overrides)
    return Bulletin(**fields)


def document(bulletin: Bulletin, references: list[Bulletin] | None = None) -> ET.Element:
    raw = cap.alert_document(bulletin, account=account(), agency=agency(), references=references or [], base_url=BASE)
    assert raw.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    return SafeET.fromstring(raw)


def local_names(element: ET.Element) -> list[str]:
    names = []
    for child in element:
        assert child.tag.startswith(NS), f"{child.tag} is not in the CAP 1.2 namespace"
        names.append(child.tag.removeprefix(NS))
    return names


def assert_in_sequence(names: list[str], sequence: list[str]) -> None:
    """The children follow the XSD sequence: known names, in order, repeated only where allowed."""
    positions = [sequence.index(name) for name in names]  # ValueError: an element the XSD does not have
    assert positions == sorted(positions), f"out of XSD order: {names}"
    repeated = {name for name in names if names.count(name) > 1}
    assert repeated <= REPEATABLE, f"repeated but at most one allowed: {repeated - REPEATABLE}"


def text(parent: ET.Element, name: str) -> str:
    return parent.findtext(NS + name) or ""


# --- the OASIS structure -----------------------------------------------------------------------------------


def test_document_is_a_cap_1_2_alert_in_xsd_order() -> None:
    root = document(alert(cap_response_type="Prepare Monitor"))
    assert root.tag == f"{NS}alert"
    assert_in_sequence(local_names(root), ALERT_SEQUENCE)
    info = root.find(NS + "info")
    assert info is not None
    assert_in_sequence(local_names(info), INFO_SEQUENCE)
    area = info.find(NS + "area")
    assert area is not None
    assert_in_sequence(local_names(area), AREA_SEQUENCE)
    for required in ("identifier", "sender", "sent", "status", "msgType", "scope"):
        assert text(root, required), required
    for required in ("category", "event", "urgency", "severity", "certainty"):
        assert text(info, required), required
    assert text(area, "areaDesc") == "芦山县全境"
    assert [e.text for e in info.findall(NS + "responseType")] == ["Prepare", "Monitor"]


def test_enumerated_values_are_cap_1_2_spellings() -> None:
    root = document(alert(cap_category="Geo", cap_urgency="Immediate", cap_certainty="Observed"))
    info = root.find(NS + "info")
    assert info is not None
    assert text(root, "status") in cap.STATUSES and text(root, "status") == "Actual"
    assert text(root, "msgType") in cap.MSG_TYPES
    assert text(root, "scope") == "Public"
    assert text(info, "category") == "Geo"
    assert text(info, "urgency") == "Immediate"
    assert text(info, "certainty") == "Observed"
    assert text(info, "severity") in cap.SEVERITIES
    assert text(info, "language") == "zh-CN"


def test_enumerations_are_exactly_those_of_the_standard() -> None:
    assert cap.CATEGORIES == (
        "Geo", "Met", "Safety", "Security", "Rescue", "Fire", "Health", "Env", "Transport", "Infra", "CBRNE", "Other",
    )  # fmt: skip
    assert cap.RESPONSE_TYPES == (
        "Shelter", "Evacuate", "Prepare", "Execute", "Avoid", "Monitor", "Assess", "AllClear", "None",
    )  # fmt: skip
    assert cap.CERTAINTIES == ("Observed", "Likely", "Possible", "Unlikely", "Unknown")
    assert "Very Likely" not in cap.CERTAINTIES  # CAP 1.0 only
    for values, labels in [
        (cap.STATUSES, cap.STATUS_LABELS),
        (cap.MSG_TYPES, cap.MSG_TYPE_LABELS),
        (cap.SCOPES, cap.SCOPE_LABELS),
        (cap.CATEGORIES, cap.CATEGORY_LABELS),
        (cap.RESPONSE_TYPES, cap.RESPONSE_TYPE_LABELS),
        (cap.URGENCIES, cap.URGENCY_LABELS),
        (cap.SEVERITIES, cap.SEVERITY_LABELS),
        (cap.CERTAINTIES, cap.CERTAINTY_LABELS),
    ]:
        assert set(labels) == set(values), f"labels do not match {values}"


def test_times_are_beijing_whole_seconds_never_z() -> None:
    root = document(alert())
    info = root.find(NS + "info")
    assert info is not None
    times = [text(root, "sent"), text(info, "effective"), text(info, "expires")]
    for value in times:
        assert CAP_TIME.match(value), value
        assert "Z" not in value and "." not in value
    assert times == ["2025-06-12T08:30:05+08:00", "2025-06-12T08:30:05+08:00", "2025-06-13T08:30:05+08:00"]


def test_cap_time_converts_any_zone_and_refuses_naive() -> None:
    assert cap.cap_time(dt.datetime(2025, 12, 31, 20, 0, 0, 999999, tzinfo=dt.UTC)) == "2026-01-01T04:00:00+08:00"
    with pytest.raises(ValueError, match="aware"):
        cap.cap_time(dt.datetime(2025, 1, 1))


def test_identifier_and_sender_follow_the_profile_and_character_rules() -> None:
    root = document(alert(id=42))
    identifier, sender = text(root, "identifier"), text(root, "sender")
    assert identifier == "wz.example.gov.cn-bulletin-42"
    assert sender == "yaan@wz.example.gov.cn"
    for value in (identifier, sender):
        assert not re.search(r"[\s,<&]", value)


def test_identifier_host_ignores_port_path_and_case() -> None:
    bulletin = alert(id=5)
    assert (
        cap.alert_identifier(bulletin, base_url="HTTPS://Alerts.Example.cn:8443/wz/") == "alerts.example.cn-bulletin-5"
    )
    assert cap.alert_identifier(bulletin, base_url=BASE) == cap.alert_identifier(alert(id=5, title="x"), base_url=BASE)


def test_headline_description_instruction_and_absolute_web_link() -> None:
    info = document(alert(title="标" * 120)).find(NS + "info")
    assert info is not None
    assert len(text(info, "headline")) <= 160
    assert text(info, "senderName") == "雅安市人民政府"
    assert text(info, "description") == "预计今天中午至夜间芦山县将出现强降雨。"
    assert text(info, "instruction") == "避免前往低洼地带。"
    assert text(info, "web") == f"{BASE}/c/yaan/bulletins/7"


def test_polygon_is_closed_with_at_least_four_pairs_and_geocodes_are_gbt_2260() -> None:
    area = document(alert()).find(f"{NS}info/{NS}area")
    assert area is not None
    pairs = text(area, "polygon").split(" ")
    assert len(pairs) >= 4 and pairs[0] == pairs[-1]
    for pair in pairs:
        lat, lon = (float(v) for v in pair.split(","))
        assert -90 <= lat <= 90 and -180 <= lon <= 180
    geocodes = [(text(g, "valueName"), text(g, "value")) for g in area.findall(NS + "geocode")]
    assert geocodes == [("GB/T 2260", "511826"), ("GB/T 2260", "511827")]


def test_no_area_element_without_an_area() -> None:
    info = document(alert(area_desc="", area_codes=[], area_polygon="")).find(NS + "info")
    assert info is not None
    assert info.find(NS + "area") is None


@pytest.mark.parametrize(
    ("colour", "severity", "value"),
    [
        ("red", "Extreme", "Red"),
        ("orange", "Severe", "Orange"),
        ("yellow", "Moderate", "Yellow"),
        ("blue", "Minor", "Blue"),
    ],
)
def test_colour_sets_severity_and_travels_as_a_parameter(colour: str, severity: str, value: str) -> None:
    parsed = cap.parse_alert(_raw(alert(warning_colour=colour, cap_severity="Unknown")))
    assert parsed["severity"] == severity
    assert parsed["parameters"] == {"colorLevel": value}


def test_without_colour_the_chosen_severity_stays_and_no_colour_parameter() -> None:
    parsed = cap.parse_alert(_raw(alert(warning_colour="", cap_severity="Moderate")))
    assert parsed["severity"] == "Moderate"
    assert parsed["parameters"] == {}
    assert cap.parse_alert(_raw(alert(warning_colour="", cap_severity="")))["severity"] == "Unknown"
    assert cap.COLOUR_SEVERITY[""] == "Unknown"
    assert cap.COLOUR_LABELS["red"] == "红色预警"


def test_update_references_every_earlier_message_as_sender_identifier_sent() -> None:
    first = alert(id=7)
    second = alert(id=8, msg_type="Update", supersedes_id=7, started_at=STARTED + dt.timedelta(hours=2))
    third = alert(id=9, msg_type="Cancel", supersedes_id=8, started_at=STARTED + dt.timedelta(hours=5))
    earlier = [cap.parse_alert(_raw(b)) for b in (first, second)]
    root = document(third, references=[first, second])
    assert text(root, "msgType") == "Cancel"
    triples = text(root, "references").split(" ")
    assert triples == [f"{e['sender']},{e['identifier']},{e['sent']}" for e in earlier]
    assert triples[1] == "yaan@wz.example.gov.cn,wz.example.gov.cn-bulletin-8,2025-06-12T10:30:05+08:00"
    assert text(root, "identifier") not in {e["identifier"] for e in earlier}  # a new message, a new identifier


def test_a_first_alert_has_no_references() -> None:
    root = document(alert(msg_type="Alert"), references=[alert(id=3)])
    assert root.find(NS + "references") is None


# --- reading documents -------------------------------------------------------------------------------------


OASIS_EXAMPLE_2 = """<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>KSTO1055887203</identifier><sender>KSTO@NWS.NOAA.GOV</sender>
  <sent>2003-06-17T14:57:00-07:00</sent><status>Actual</status><msgType>Alert</msgType><scope>Public</scope>
  <info><category>Met</category><event>SEVERE THUNDERSTORM</event><responseType>Shelter</responseType>
    <urgency>Immediate</urgency><severity>Severe</severity><certainty>Observed</certainty>
    <area><areaDesc>TUOLUMNE</areaDesc>
      <polygon>38.47,-120.14 38.34,-119.95 38.52,-119.74 38.62,-119.89 38.47,-120.14</polygon>
      <geocode><valueName>SAME</valueName><value>006109</value></geocode></area></info>
</alert>"""


def test_parse_alert_reads_the_oasis_example() -> None:
    parsed = cap.parse_alert(OASIS_EXAMPLE_2.encode())
    assert parsed["identifier"] == "KSTO1055887203"
    assert parsed["language"] == "en-US"  # CAP's default when absent
    assert parsed["categories"] == ["Met"] and parsed["response_types"] == ["Shelter"]
    assert parsed["geocodes"] == [("SAME", "006109")]


def test_parse_alert_refuses_other_namespaces_and_bad_xml() -> None:
    cap_1_1 = OASIS_EXAMPLE_2.replace("cap:1.2", "cap:1.1").encode()
    with pytest.raises(InvalidInput) as caught:
        cap.parse_alert(cap_1_1)
    assert caught.value.code == "not_cap_1_2"
    with pytest.raises(InvalidInput) as caught:
        cap.parse_alert(b"<alert>")
    assert caught.value.code == "not_xml"
    bomb = b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY e "x">]><alert>&e;</alert>'
    with pytest.raises(InvalidInput) as caught:
        cap.parse_alert(bomb)
    assert caught.value.code == "unsafe_xml"


# --- the compose form's checks -----------------------------------------------------------------------------


def form(**overrides: str) -> dict[str, str]:
    fields = {
        "msg_type": "Alert",
        "cap_event": " 暴雨 ",
        "cap_category": "Met",
        "cap_urgency": "Expected",
        "cap_severity": "",
        "cap_certainty": "Likely",
        "cap_response_type": "Prepare",
        "cap_instruction": "避免前往低洼地带。",
        "warning_colour": "orange",
        "area_desc": "芦山县全境",
        "area_codes": "511826，511827 511826",
        "area_polygon": "30.1, 103.0\n30.2 ,103.0   30.2,103.1 30.1,103.0",
        "expires_at": "2025-06-13T08:00",
    }
    fields.update(overrides)
    return fields


def test_check_alert_fields_types_and_normalises() -> None:
    checked = cap.check_alert_fields(form(), now=NOW)
    assert checked["cap_event"] == "暴雨"
    assert checked["cap_severity"] == "Severe"  # from the orange colour
    assert checked["area_codes"] == ["511826", "511827"]
    assert checked["area_polygon"] == "30.1,103.0 30.2,103.0 30.2,103.1 30.1,103.0"
    assert checked["expires_at"] == dt.datetime(2025, 6, 13, 0, 0, tzinfo=dt.UTC)  # 08:00 Beijing
    assert checked["supersedes_id"] is None
    assert set(checked) == set(cap.ALERT_FIELDS)


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("cap_category", "Weather", "'Weather' is not one of them"),
        ("cap_urgency", "", "none was chosen"),
        ("cap_certainty", "Very Likely", "Observed"),
        ("cap_response_type", "Run", "Evacuate"),
        ("cap_response_type", "Shelter Evacuate Monitor", "Too many responses"),
        ("warning_colour", "purple", "红色预警"),
        ("msg_type", "Ack", "Choose the kind of message"),
        ("cap_event", "  ", "Name the event"),
        ("area_codes", "51182", "6 digits"),
        ("area_codes", "5118260", "6 digits"),
        ("area_polygon", "30.1,103.0 30.2,103.0 30.1,103.0", "at least 4 points"),
        ("area_polygon", "30.1,103.0 30.2,103.0 30.2,103.1 30.3,103.0", "Close the polygon"),
        ("area_polygon", "30.1,103.0 30.2;103.0 30.2,103.1 30.1,103.0", "not a point"),
        ("area_polygon", "30.1,103.0 91,103.0 30.2,103.1 30.1,103.0", "off the earth"),
        ("area_polygon", "30.1,103.0 30.2,190 30.2,103.1 30.1,103.0", "off the earth"),
        ("area_polygon", "30.1,103.0 30.1,103.0 30.2,103.1 30.1,103.0", "3 different points"),
        ("expires_at", "2025-06-12T07:59", "in the past"),
        ("expires_at", "tomorrow", "date and time"),
        ("expires_at", "", "Set when the alert expires"),
        ("area_desc", "", "Describe the area"),
    ],
)
def test_check_alert_fields_names_each_bad_field(field: str, value: str, words: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        cap.check_alert_fields(form(**{field: value}), now=NOW)
    assert words in caught.value.message
    assert caught.value.details["field"] == field
    assert caught.value.code == f"invalid_{field}"


def test_check_alert_fields_reports_every_bad_field_at_once() -> None:
    with pytest.raises(InvalidInput) as caught:
        cap.check_alert_fields(form(cap_category="", area_codes="12", expires_at="2020-01-01T00:00"), now=NOW)
    assert caught.value.code == "invalid_alert"
    assert set(caught.value.details["fields"]) == {"cap_category", "area_codes", "expires_at"}


def test_colour_and_a_different_severity_conflict() -> None:
    with pytest.raises(InvalidInput, match="Extreme") as caught:
        cap.check_alert_fields(form(warning_colour="red", cap_severity="Minor"), now=NOW)
    assert caught.value.details["field"] == "cap_severity"
    checked = cap.check_alert_fields(form(warning_colour="", cap_severity="Minor"), now=NOW)
    assert checked["cap_severity"] == "Minor"
    with pytest.raises(InvalidInput, match="severity"):
        cap.check_alert_fields(form(warning_colour="", cap_severity=""), now=NOW)


def test_update_and_cancel_name_the_alert_they_replace() -> None:
    with pytest.raises(InvalidInput) as caught:
        cap.check_alert_fields(form(msg_type="Update"), now=NOW)
    assert caught.value.details["field"] == "supersedes_id"
    assert cap.check_alert_fields(form(msg_type="Cancel", supersedes_id="12"), now=NOW)["supersedes_id"] == 12
    assert cap.check_alert_fields(form(msg_type="Alert", supersedes_id="12"), now=NOW)["supersedes_id"] is None


def test_expiry_with_an_offset_and_in_the_agency_zone() -> None:
    aware = cap.parse_expiry("2025-06-13T08:00:00+00:00", now=NOW)
    assert aware == dt.datetime(2025, 6, 13, 8, 0, tzinfo=dt.UTC)
    local = cap.parse_expiry("2025-06-13T08:00", now=NOW, timezone="Asia/Urumqi")
    assert local == dt.datetime(2025, 6, 13, 2, 0, tzinfo=dt.UTC)


def test_an_area_without_polygon_or_codes_is_fine() -> None:
    checked = cap.check_alert_fields(form(area_desc="", area_codes="", area_polygon=""), now=NOW)
    assert (checked["area_desc"], checked["area_codes"], checked["area_polygon"]) == ("", [], "")


# --- the thread of an update -------------------------------------------------------------------------------


def test_superseded_alerts_follow_the_published_thread_of_the_same_account(db: Session) -> None:
    a, b = create_tenant(db, "a"), create_tenant(db, "b")
    foreign = _stored(db, b.account, state="sent")
    first = _stored(db, a.account, supersedes_id=foreign.id)
    second = _stored(db, a.account, msg_type="Update", supersedes_id=first.id)
    third = _stored(db, a.account, msg_type="Cancel", supersedes_id=second.id)
    assert [x.id for x in cap.superseded_alerts(db, third)] == [first.id, second.id]
    draft = _stored(db, a.account, state="draft")
    assert cap.superseded_alerts(db, _stored(db, a.account, msg_type="Update", supersedes_id=draft.id)) == []


def _stored(db: Session, owner: Account, *, state: str = "sent", **overrides: Any) -> Bulletin:
    bulletin = Bulletin(
        agency_id=owner.agency_id,
        account_id=owner.id,
        kind="alert",
        state=state,
        title="暴雨预警",
        cap_event="暴雨",
        started_at=STARTED if state == "sent" else None,
        **overrides,
    )
    db.add(bulletin)
    db.flush()
    return bulletin


def _raw(bulletin: Bulletin) -> bytes:
    return cap.alert_document(bulletin, account=account(), agency=agency(), references=[], base_url=BASE)


def test_the_audiences_circles_are_cap_circles_between_polygon_and_geocodes() -> None:
    near = {"near": ["30.05000,102.95000,5", "29.98000,103.00000,0.5"]}
    area = document(alert(audience=near)).find(f"{NS}info/{NS}area")
    assert area is not None
    assert_in_sequence(local_names(area), AREA_SEQUENCE)
    assert [c.text for c in area.findall(NS + "circle")] == ["30.05,102.95 5", "29.98,103 0.5"]
    parsed = cap.parse_alert(
        cap.alert_document(alert(audience=near), account=account(), agency=agency(), references=[], base_url=BASE)
    )
    assert parsed["circles"] == ["30.05,102.95 5", "29.98,103 0.5"]
    only_circle = document(alert(area_desc="", area_codes=[], area_polygon="", audience=near)).find(
        f"{NS}info/{NS}area"
    )
    assert only_circle is not None and text(only_circle, "areaDesc") == "雅安市人民政府"  # the required areaDesc
