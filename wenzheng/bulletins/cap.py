"""CAP 1.2 (OASIS Common Alerting Protocol): the alert fields' vocabulary, their checks, and the documents.

The profile we emit is described in docs/cap.md. In short:

* ``identifier`` is ``{host}-bulletin-{id}``: stable for a bulletin, unique in a deployment (``host`` is the
  host name of ``WENZHENG_BASE_URL``). An update or a withdrawal is a new bulletin, so a new identifier.
* ``sender`` is ``{account slug}@{host}``: one stable sender per account.
* Times are Beijing time, ``YYYY-MM-DDThh:mm:ss+08:00``, as CAP's pattern and GB/T 35965.1 want.
* ``severity`` follows the warning colour (red Extreme, orange Severe, yellow Moderate, blue Minor), and the
  colour itself travels in a ``parameter`` named ``colorLevel`` (``Red``, ``Orange``, ``Yellow``, ``Blue``).
* Each administrative area is a ``geocode`` named ``GB/T 2260`` with its six-digit code.
"""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET  # builds documents only; parse_alert reads through defusedxml
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException
from sqlalchemy.orm import Session

from wenzheng.accounts.models import Account
from wenzheng.agencies.models import Agency
from wenzheng.bulletins.access import published_bulletin
from wenzheng.bulletins.languages import Version, version_of, written_in
from wenzheng.bulletins.models import Bulletin
from wenzheng.config import get_settings
from wenzheng.db import utcnow
from wenzheng.errors import InvalidInput, NotFound
from wenzheng.followers.languages import CAP_TAGS, CHINESE, language_query
from wenzheng.validation import clean_text

CAP_NAMESPACE = "urn:oasis:names:tc:emergency:cap:1.2"
CAP_MEDIA_TYPE = "application/cap+xml"

# CAP 1.2 enumerations, spelled exactly as the standard (case-sensitive).
STATUSES = ("Actual", "Exercise", "System", "Test", "Draft")
MSG_TYPES = ("Alert", "Update", "Cancel", "Ack", "Error")
SCOPES = ("Public", "Restricted", "Private")
CATEGORIES = (
    "Geo",
    "Met",
    "Safety",
    "Security",
    "Rescue",
    "Fire",
    "Health",
    "Env",
    "Transport",
    "Infra",
    "CBRNE",
    "Other",
)
RESPONSE_TYPES = ("Shelter", "Evacuate", "Prepare", "Execute", "Avoid", "Monitor", "Assess", "AllClear", "None")
URGENCIES = ("Immediate", "Expected", "Future", "Past", "Unknown")
SEVERITIES = ("Extreme", "Severe", "Moderate", "Minor", "Unknown")
CERTAINTIES = ("Observed", "Likely", "Possible", "Unlikely", "Unknown")

# What an agency composes: a first alert, an adjustment (调整) or a lifting (解除) of an earlier one.
COMPOSABLE_MSG_TYPES = ("Alert", "Update", "Cancel")
SUPERSEDING_MSG_TYPES = ("Update", "Cancel")

# The four warning levels of China's emergency law, most severe first, and "no level" ("").
COLOURS = ("red", "orange", "yellow", "blue")
COLOUR_SEVERITY = {"red": "Extreme", "orange": "Severe", "yellow": "Moderate", "blue": "Minor", "": "Unknown"}
COLOUR_LABELS = {"red": "红色预警", "orange": "橙色预警", "yellow": "黄色预警", "blue": "蓝色预警", "": "无预警级别"}
COLOUR_PARAMETER = "colorLevel"  # our valueName for the colour; its values are the colour capitalised
GEOCODE_GB2260 = "GB/T 2260"

# Chinese labels for the compose form, one per enumeration value.
STATUS_LABELS = {"Actual": "正式发布", "Exercise": "演练", "System": "系统消息", "Test": "测试", "Draft": "草稿"}
MSG_TYPE_LABELS = {"Alert": "首次发布", "Update": "调整（更新）", "Cancel": "解除", "Ack": "确认", "Error": "错误"}
SCOPE_LABELS = {"Public": "公开", "Restricted": "限定范围", "Private": "指定接收者"}
CATEGORY_LABELS = {
    "Geo": "地质灾害（地震、滑坡等）",
    "Met": "气象灾害",
    "Safety": "公共安全",
    "Security": "社会安全",
    "Rescue": "救援",
    "Fire": "火灾",
    "Health": "公共卫生",
    "Env": "环境污染",
    "Transport": "交通运输",
    "Infra": "基础设施（水电气、通信）",
    "CBRNE": "化学、生物、放射、核与爆炸",
    "Other": "其他",
}
RESPONSE_TYPE_LABELS = {
    "Shelter": "就地避险",
    "Evacuate": "撤离转移",
    "Prepare": "做好准备",
    "Execute": "按预案行动",
    "Avoid": "避开危险区域",
    "Monitor": "关注后续信息",
    "Assess": "评估研判",
    "AllClear": "危险解除",
    "None": "无需行动",
}
URGENCY_LABELS = {
    "Immediate": "立即行动",
    "Expected": "尽快行动（一小时内）",
    "Future": "近期行动",
    "Past": "已无需行动",
    "Unknown": "未知",
}
SEVERITY_LABELS = {"Extreme": "特别严重", "Severe": "严重", "Moderate": "较重", "Minor": "一般", "Unknown": "未知"}
CERTAINTY_LABELS = {
    "Observed": "已经发生",
    "Likely": "很可能发生（大于50%）",
    "Possible": "可能发生",
    "Unlikely": "不太可能发生",
    "Unknown": "未知",
}

BEIJING = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")  # no daylight saving: a fixed +08:00
NATIONAL_PER_SECOND = 10  # N is one digit
HEADLINE_MAX = 160
MAX_AREA_CODES = 100
RESPONSE_TYPES_MAX_LENGTH = 16  # the bulletins.cap_response_type column
_FORBIDDEN_IN_ID = re.compile(r"[\s,<&]")
_NUMBER = re.compile(r"^[-+]?(?:\d+(?:\.\d*)?|\.\d+)$")
_AREA_CODE = re.compile(r"^\d{6}$")


# --- times, identifiers and URLs ---------------------------------------------------------------------------


def cap_time(value: dt.datetime) -> str:
    """A CAP date-time: Beijing time, whole seconds, an explicit ``+08:00`` (never ``Z``)."""
    if value.tzinfo is None:
        raise ValueError("CAP times need an aware datetime")
    return value.astimezone(BEIJING).replace(microsecond=0).isoformat()


def deployment_host(base_url: str | None = None) -> str:
    """The host name of the deployment's public base URL, safe inside CAP identifiers."""
    host = urlsplit(base_url or get_settings().base_url).hostname or "localhost"
    return _FORBIDDEN_IN_ID.sub("", host.lower()) or "localhost"


def alert_identifier(bulletin: Bulletin, *, base_url: str | None = None) -> str:
    """The CAP identifier of a bulletin, the same in every export of it: the national one it got when it went out
    (``national_identifier``), or else ``{host}-bulletin-{id}``."""
    return bulletin.cap_identifier or f"{deployment_host(base_url)}-bulletin-{bulletin.id}"


def national_identifier(unit_code: str, sent: dt.datetime, taken: Callable[[str], int]) -> str | None:
    """``ZZZZZZDDDUUUXX_YYYYMMDDhhmmss_N`` (31 characters): the issuing unit's 14-digit code, the time in
    Beijing, and N, 0–9, for several alerts of one unit in one second. ``taken(prefix)`` says how many
    identifiers with that prefix exist; None when the second's ten are used (the alert keeps the deployment's
    own identifier)."""
    prefix = f"{unit_code}_{sent.astimezone(BEIJING):%Y%m%d%H%M%S}_"
    count = taken(prefix)
    return f"{prefix}{count}" if count < NATIONAL_PER_SECOND else None


def alert_sender(account: Account, *, base_url: str | None = None) -> str:
    """``{account slug}@{host}``: an e-mail-like, globally unique sender per account."""
    return f"{_FORBIDDEN_IN_ID.sub('', account.slug)}@{deployment_host(base_url)}"


def alert_sent_at(bulletin: Bulletin) -> dt.datetime:
    """When the bulletin went public (CAP ``sent``); before that, when it was written (a preview)."""
    return bulletin.started_at or bulletin.created_at or utcnow()


def _base(base_url: str | None) -> str:
    return (base_url or get_settings().base_url).rstrip("/")


def bulletin_url(account_slug: str, bulletin_id: int, *, base_url: str | None = None, language: str = CHINESE) -> str:
    """The bulletin's public page on the citizen site, shown in ``language``."""
    return f"{_base(base_url)}/c/{account_slug}/bulletins/{bulletin_id}{language_query(language)}"


def alert_document_url(account_slug: str, bulletin_id: int, *, base_url: str | None = None) -> str:
    """Where the alert's CAP 1.2 document is served."""
    return f"{bulletin_url(account_slug, bulletin_id, base_url=base_url)}/cap.xml"


def is_current(bulletin: Bulletin, now: dt.datetime | None = None) -> bool:
    """Not yet expired (an alert without an expiry stays current)."""
    return bulletin.expires_at is None or bulletin.expires_at > (now or utcnow())


# --- checking what the compose form sends ------------------------------------------------------------------


def parse_polygon(text: str) -> str:
    """A CAP polygon, normalised to ``lat,lon lat,lon …`` with single spaces; InvalidInput when it is not one.

    Accepts spaces around commas, full-width commas and line breaks. The ring needs at least four points,
    the last equal to the first, latitudes within ±90 and longitudes within ±180 (WGS84).
    """
    flat = re.sub(r"\s*[,，]\s*", ",", (text or "").strip())
    pairs = [_polygon_point(token) for token in flat.split()]
    if len(pairs) < 4:
        raise _bad("area_polygon", "A polygon needs at least 4 points (lat,lon), the last repeating the first.")
    if _coordinates(pairs[0]) != _coordinates(pairs[-1]):
        raise _bad("area_polygon", f"Close the polygon: end it with its first point again ({pairs[0]}).")
    if len({_coordinates(pair) for pair in pairs}) < 3:
        raise _bad("area_polygon", "A polygon needs at least 3 different points.")
    return " ".join(pairs)


def _polygon_point(token: str) -> str:
    parts = token.split(",")
    if len(parts) != 2 or not all(_NUMBER.match(part) for part in parts):
        raise _bad("area_polygon", f"{token!r} is not a point: write each as latitude,longitude, e.g. 30.01,103.02.")
    lat, lon = (float(part) for part in parts)
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise _bad("area_polygon", f"{token!r} is off the earth: latitude first (−90…90), then longitude (−180…180).")
    return ",".join(part.lstrip("+") for part in parts)


def _coordinates(pair: str) -> tuple[float, float]:
    lat, lon = pair.split(",")
    return float(lat), float(lon)


def parse_area_codes(text: str) -> list[str]:
    """Six-digit GB/T 2260 codes, separated by spaces, commas or 、, without repeats (in the order given)."""
    codes = [code for code in re.split(r"[\s,，、;；]+", (text or "").strip()) if code]
    for code in codes:
        if not _AREA_CODE.match(code):
            raise _bad("area_codes", f"{code!r} is not an area code: each is 6 digits (GB/T 2260), e.g. 511826.")
    if len(codes) > MAX_AREA_CODES:
        raise _bad("area_codes", f"Give at most {MAX_AREA_CODES} area codes; use a larger area's code instead.")
    return list(dict.fromkeys(codes))


def parse_expiry(text: str, *, now: dt.datetime | None = None, timezone: str = "Asia/Shanghai") -> dt.datetime:
    """An aware UTC expiry from ``YYYY-MM-DDThh:mm`` (the agency's local time) or an ISO time with an offset."""
    try:
        value = dt.datetime.fromisoformat((text or "").strip())
    except ValueError:
        raise _bad("expires_at", "Give the expiry as a date and time, e.g. 2025-06-13T08:00.") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=_zone(timezone))
    value = value.astimezone(dt.UTC)
    if value <= (now or utcnow()):
        raise _bad("expires_at", "The expiry is in the past; choose a time after now.")
    return value


def _zone(name: str) -> dt.tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return BEIJING


# The compose form's field names: the Bulletin attributes they fill.
ALERT_FIELDS = (
    "msg_type",
    "supersedes_id",
    "cap_event",
    "cap_category",
    "cap_urgency",
    "cap_severity",
    "cap_certainty",
    "cap_response_type",
    "cap_instruction",
    "warning_colour",
    "area_desc",
    "area_codes",
    "area_polygon",
    "expires_at",
)


def check_alert_fields(
    fields: Mapping[str, str], *, now: dt.datetime | None = None, timezone: str = "Asia/Shanghai"
) -> dict[str, Any]:
    """The CAP fields of an alert from the compose form, checked and typed, keyed by Bulletin attribute.

    ``fields`` holds the form's strings under the names in ``ALERT_FIELDS``. The result holds the same keys
    with typed values (``area_codes`` a list, ``expires_at`` an aware UTC datetime, ``supersedes_id`` an int
    or None, ``cap_severity`` taken from the colour when one is chosen). Every bad field is reported at once:
    InvalidInput with ``details={"field": first bad field, "fields": {field: message}}``; the code is the
    field's own (e.g. ``invalid_area_polygon``) when only one is bad, else ``invalid_alert``.
    """
    checks: dict[str, Callable[[], Any]] = {
        "msg_type": lambda: _choice(fields, "msg_type", COMPOSABLE_MSG_TYPES, MSG_TYPE_LABELS, default="Alert"),
        "cap_event": lambda: _event(fields),
        "cap_category": lambda: _choice(fields, "cap_category", CATEGORIES, CATEGORY_LABELS),
        "cap_urgency": lambda: _choice(fields, "cap_urgency", URGENCIES, URGENCY_LABELS),
        "cap_certainty": lambda: _choice(fields, "cap_certainty", CERTAINTIES, CERTAINTY_LABELS),
        "cap_response_type": lambda: _response_types(fields),
        "cap_instruction": lambda: _optional_text(fields, "cap_instruction", 2000),
        "warning_colour": lambda: _choice(fields, "warning_colour", COLOURS, COLOUR_LABELS, default=""),
        "area_desc": lambda: _optional_text(fields, "area_desc", 200),
        "area_codes": lambda: parse_area_codes(fields.get("area_codes", "")),
        "area_polygon": lambda: parse_polygon(fields["area_polygon"]) if _given(fields, "area_polygon") else "",
        "expires_at": lambda: _expiry(fields, now, timezone),
        "supersedes_id": lambda: _supersedes(fields),
    }
    checked, problems = _run_checks(checks)
    if "warning_colour" in checked:
        _run_into(checked, problems, "cap_severity", lambda: _severity(fields, checked["warning_colour"]))
    if {"area_desc", "area_codes", "area_polygon"} <= checked.keys():
        _run_into(checked, problems, "area_desc", lambda: _area_desc_given(checked))
    _raise_problems(problems)
    return checked


def _run_checks(checks: Mapping[str, Callable[[], Any]]) -> tuple[dict[str, Any], dict[str, InvalidInput]]:
    checked: dict[str, Any] = {}
    problems: dict[str, InvalidInput] = {}
    for name, check in checks.items():
        _run_into(checked, problems, name, check)
    return checked, problems


def _run_into(checked: dict[str, Any], problems: dict[str, InvalidInput], name: str, check: Callable[[], Any]) -> None:
    try:
        checked[name] = check()
    except InvalidInput as exc:
        problems[name] = exc


def _raise_problems(problems: Mapping[str, InvalidInput]) -> None:
    if not problems:
        return
    first_field, first = next(iter(problems.items()))
    details = {"field": first_field, "fields": {name: exc.message for name, exc in problems.items()}}
    if len(problems) == 1:
        raise InvalidInput(first.message, code=first.code, details=details)
    message = " ".join(exc.message for exc in problems.values())
    raise InvalidInput(message, code="invalid_alert", details=details)


_FIELD_NAMES = {
    "msg_type": "kind of message",
    "cap_category": "category",
    "cap_urgency": "urgency",
    "cap_severity": "severity",
    "cap_certainty": "certainty",
    "cap_response_type": "response",
    "warning_colour": "warning colour",
}


def _bad(field: str, message: str) -> InvalidInput:
    return InvalidInput(message, code=f"invalid_{field}", details={"field": field})


def _given(fields: Mapping[str, str], name: str) -> bool:
    return bool((fields.get(name) or "").strip())


def _choice(
    fields: Mapping[str, str], name: str, allowed: Iterable[str], labels: Mapping[str, str], default: str | None = None
) -> str:
    value = (fields.get(name) or "").strip()
    if not value and default is not None:
        return default
    if value not in allowed:
        options = ", ".join(f"{v} ({labels[v]})" if v else labels[v] for v in allowed)
        what = f"{value!r} is not one of them" if value else "none was chosen"
        raise _bad(name, f"Choose the {_FIELD_NAMES.get(name, name)} ({what}): {options}.")
    return value


def _event(fields: Mapping[str, str]) -> str:
    if not _given(fields, "cap_event"):
        raise _bad("cap_event", "Name the event, e.g. 暴雨 (rainstorm) or 地震 (earthquake).")
    return clean_text(fields["cap_event"], field="cap_event", max_length=100)


def _optional_text(fields: Mapping[str, str], name: str, max_length: int) -> str:
    return clean_text(fields.get(name, ""), field=name, max_length=max_length, required=False)


def _response_types(fields: Mapping[str, str]) -> str:
    """One or more response types, space-separated (the form's select sends one)."""
    values = re.split(r"[\s,，]+", (fields.get("cap_response_type") or "").strip())
    values = [value for value in values if value]
    for value in values:
        _choice({"cap_response_type": value}, "cap_response_type", RESPONSE_TYPES, RESPONSE_TYPE_LABELS)
    joined = " ".join(dict.fromkeys(values))
    if len(joined) > RESPONSE_TYPES_MAX_LENGTH:
        raise _bad("cap_response_type", "Too many responses for one alert; choose the main one or two.")
    return joined


def _severity(fields: Mapping[str, str], colour: str) -> str:
    given = (fields.get("cap_severity") or "").strip()
    if not colour:
        return _choice(fields, "cap_severity", SEVERITIES, SEVERITY_LABELS)
    implied = COLOUR_SEVERITY[colour]
    if given and given != implied:
        raise _bad(
            "cap_severity",
            f"A {colour} warning ({COLOUR_LABELS[colour]}) is {implied} severity: "
            f"leave severity empty or choose {implied}.",
        )
    return implied


def _expiry(fields: Mapping[str, str], now: dt.datetime | None, timezone: str) -> dt.datetime:
    if not _given(fields, "expires_at"):
        raise _bad("expires_at", "Set when the alert expires; receivers drop it after that time.")
    return parse_expiry(fields["expires_at"], now=now, timezone=timezone)


def _supersedes(fields: Mapping[str, str]) -> int | None:
    msg_type = (fields.get("msg_type") or "Alert").strip()
    raw = (fields.get("supersedes_id") or "").strip()
    if msg_type not in SUPERSEDING_MSG_TYPES:
        return None
    if not raw.isdigit():
        raise _bad("supersedes_id", f"An {msg_type} names the earlier alert it replaces; choose it.")
    return int(raw)


def _area_desc_given(checked: Mapping[str, Any]) -> str:
    if (checked["area_codes"] or checked["area_polygon"]) and not checked["area_desc"]:
        raise _bad("area_desc", "Describe the area in words (e.g. 雅安市芦山县全境) as well as its codes or polygon.")
    return str(checked["area_desc"])


# --- the CAP 1.2 document ----------------------------------------------------------------------------------


def alert_document(
    bulletin: Bulletin,
    *,
    account: Account,
    agency: Agency,
    references: list[Bulletin],
    base_url: str | None = None,
) -> bytes:
    """The bulletin as a CAP 1.2 ``<alert>`` (UTF-8 XML), elements in the XSD's order.

    ``references`` are the earlier alerts of the same account this one updates or cancels (oldest first);
    they are listed only when ``bulletin.msg_type`` is Update or Cancel.
    """
    root = ET.Element("alert", xmlns=CAP_NAMESPACE)
    _text(root, "identifier", alert_identifier(bulletin, base_url=base_url))
    _text(root, "sender", alert_sender(account, base_url=base_url))
    _text(root, "sent", cap_time(alert_sent_at(bulletin)))
    _text(root, "status", "Actual")
    _text(root, "msgType", bulletin.msg_type if bulletin.msg_type in MSG_TYPES else "Alert")
    _text(root, "scope", "Public")
    if bulletin.msg_type in SUPERSEDING_MSG_TYPES and references:
        _text(root, "references", references_text(references, account=account, base_url=base_url))
    for language in written_in(bulletin):  # one info per language, the Chinese first (CAP 1.2 §3.2.2)
        version = version_of(bulletin, language)
        _info(ET.SubElement(root, "info"), bulletin, version, account=account, agency=agency, base_url=base_url)
    return xml_bytes(root)


def xml_bytes(root: ET.Element) -> bytes:
    """An indented UTF-8 document with the usual declaration (ElementTree's own is single-quoted)."""
    ET.indent(root)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode").encode() + b"\n"


def references_text(references: Iterable[Bulletin], *, account: Account, base_url: str | None = None) -> str:
    """Space-separated ``sender,identifier,sent`` triples of earlier alerts (CAP ``references``)."""
    sender = alert_sender(account, base_url=base_url)
    return " ".join(
        f"{sender},{alert_identifier(earlier, base_url=base_url)},{cap_time(alert_sent_at(earlier))}"
        for earlier in references
    )


def superseded_alerts(session: Session, bulletin: Bulletin, *, limit: int = 50) -> list[Bulletin]:
    """The published alerts of the same account that this one updates or cancels, oldest first.

    Follows ``supersedes_id`` back through the thread, so an update of an update references every earlier
    message (Google's CAP profile asks for all of them); stops at anything unpublished or foreign.
    """
    thread: list[Bulletin] = []
    seen = {bulletin.id}
    earlier_id = bulletin.supersedes_id
    while earlier_id is not None and earlier_id not in seen and len(thread) < limit:
        try:
            earlier = published_bulletin(session, bulletin.account_id, earlier_id)
        except NotFound:
            break
        thread.append(earlier)
        seen.add(earlier.id)
        earlier_id = earlier.supersedes_id
    return thread[::-1]


def _info(
    info: ET.Element,
    bulletin: Bulletin,
    version: Version,
    *,
    account: Account,
    agency: Agency,
    base_url: str | None,
) -> None:
    """One ``info`` block: the words from ``version`` (its language), everything else the same in each."""
    _text(info, "language", CAP_TAGS[version.language])
    _text(info, "category", bulletin.cap_category if bulletin.cap_category in CATEGORIES else "Other")
    _text(info, "event", version.event or version.title)
    for response_type in (bulletin.cap_response_type or "").split():
        _text(info, "responseType", response_type)
    _text(info, "urgency", _enum(bulletin.cap_urgency, URGENCIES))
    _text(info, "severity", alert_severity(bulletin))
    _text(info, "certainty", _enum(bulletin.cap_certainty, CERTAINTIES))
    _text(info, "effective", cap_time(alert_sent_at(bulletin)))
    if bulletin.expires_at is not None:
        _text(info, "expires", cap_time(bulletin.expires_at))
    _text(info, "senderName", (agency.name_en or agency.name) if version.language != CHINESE else agency.name)
    _text(info, "headline", version.title[:HEADLINE_MAX])
    _text(info, "description", version.body)
    _text(info, "instruction", version.instruction)
    _text(info, "web", bulletin_url(account.slug, bulletin.id, base_url=base_url, language=version.language))
    if bulletin.warning_colour in COLOURS:
        _value_pair(info, "parameter", COLOUR_PARAMETER, bulletin.warning_colour.capitalize())
    if bulletin.area_desc or bulletin.area_codes or bulletin.area_polygon or cap_circles(bulletin):
        _area(ET.SubElement(info, "area"), bulletin, area_desc=version.area_desc or bulletin.area_desc or agency.name)


def cap_circles(bulletin: Bulletin) -> list[str]:
    """The audience's circles (``near``) as CAP writes a circle: ``lat,lon radius`` (WGS-84, kilometres)."""
    from wenzheng.bulletins.audience import circle_of

    return [f"{lat:g},{lon:g} {km:g}" for lat, lon, km in map(circle_of, (bulletin.audience or {}).get("near", []))]


def _area(area: ET.Element, bulletin: Bulletin, *, area_desc: str) -> None:
    _text(area, "areaDesc", area_desc)
    _text(area, "polygon", bulletin.area_polygon)
    for circle in cap_circles(bulletin):  # CAP's order: areaDesc, polygon, circle, geocode
        _text(area, "circle", circle)
    for code in bulletin.area_codes or ():
        _value_pair(area, "geocode", GEOCODE_GB2260, code)


def alert_severity(bulletin: Bulletin) -> str:
    """The colour decides when there is one (red Extreme … blue Minor); otherwise the chosen severity."""
    if bulletin.warning_colour in COLOURS:
        return COLOUR_SEVERITY[bulletin.warning_colour]
    return _enum(bulletin.cap_severity, SEVERITIES)


def _enum(value: str, allowed: tuple[str, ...]) -> str:
    return value if value in allowed else "Unknown"


def _text(parent: ET.Element, tag: str, value: str) -> None:
    """A child element with text; nothing at all for an empty value (CAP's optional elements)."""
    if value:
        ET.SubElement(parent, tag).text = value


def _value_pair(parent: ET.Element, tag: str, name: str, value: str) -> None:
    pair = ET.SubElement(parent, tag)
    ET.SubElement(pair, "valueName").text = name
    ET.SubElement(pair, "value").text = value


# --- reading a document back -------------------------------------------------------------------------------


def parse_alert(document: bytes) -> dict[str, Any]:
    """The key fields of a CAP 1.2 alert and of its first ``info`` (every ``info`` in ``infos``); InvalidInput
    for anything else.

    Parsed with defusedxml (no entities, no external references), so it is safe on documents from outside.
    """
    try:
        root = SafeET.fromstring(document)
    except SafeET.ParseError as exc:
        raise InvalidInput(f"This is not well-formed XML: {exc}.", code="not_xml") from None
    except DefusedXmlException as exc:  # entities or external references: refused, never expanded
        raise InvalidInput(f"This XML uses features we refuse to read: {exc}.", code="unsafe_xml") from None
    if root.tag != _q("alert"):
        raise InvalidInput(f"This is not a CAP 1.2 alert: the root is {root.tag!r}.", code="not_cap_1_2")
    fields: dict[str, Any] = {
        "identifier": _find(root, "identifier"),
        "sender": _find(root, "sender"),
        "sent": _find(root, "sent"),
        "status": _find(root, "status"),
        "msg_type": _find(root, "msgType"),
        "scope": _find(root, "scope"),
        "references": _find(root, "references").split(),
    }
    infos = [_parse_info(info) for info in root.findall(_q("info"))]
    if infos:
        fields.update(infos[0])
    fields["infos"] = infos
    return fields


def _parse_info(info: ET.Element) -> dict[str, Any]:
    area = info.find(_q("area"))
    return {
        "language": _find(info, "language") or "en-US",
        "categories": _find_all(info, "category"),
        "event": _find(info, "event"),
        "response_types": _find_all(info, "responseType"),
        "urgency": _find(info, "urgency"),
        "severity": _find(info, "severity"),
        "certainty": _find(info, "certainty"),
        "effective": _find(info, "effective"),
        "expires": _find(info, "expires"),
        "sender_name": _find(info, "senderName"),
        "headline": _find(info, "headline"),
        "description": _find(info, "description"),
        "instruction": _find(info, "instruction"),
        "web": _find(info, "web"),
        "parameters": _value_pairs(info, "parameter"),
        "area_desc": _find(area, "areaDesc") if area is not None else "",
        "polygons": _find_all(area, "polygon") if area is not None else [],
        "circles": _find_all(area, "circle") if area is not None else [],
        "geocodes": _value_pair_list(area, "geocode") if area is not None else [],
    }


def _q(tag: str) -> str:
    return f"{{{CAP_NAMESPACE}}}{tag}"


def _find(parent: ET.Element, tag: str) -> str:
    return (parent.findtext(_q(tag)) or "").strip()


def _find_all(parent: ET.Element, tag: str) -> list[str]:
    return [(element.text or "").strip() for element in parent.findall(_q(tag))]


def _value_pair_list(parent: ET.Element, tag: str) -> list[tuple[str, str]]:
    return [(_find(pair, "valueName"), _find(pair, "value")) for pair in parent.findall(_q(tag))]


def _value_pairs(parent: ET.Element, tag: str) -> dict[str, str]:
    return dict(_value_pair_list(parent, tag))
