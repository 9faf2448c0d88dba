"""Atom feeds (RFC 4287) of an account's published bulletins, and of its alerts in the CAP-feed style.

The bulletins feed is for people and feed readers. The alerts feed is for alert aggregators: each entry
links to the alert's CAP 1.2 document (``type="application/cap+xml"``) and repeats its key fields as
``cap:`` elements, as CAP index feeds do. Callers pass only published bulletins (``published_bulletins``).
Each feed also exists in English (``?lang=en``): every bulletin in its English version where it has one (its
Chinese otherwise), with English labels, its own feed id and entry ids.
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET  # builds documents only; nothing is parsed here
from collections.abc import Sequence

from wenzheng.accounts.models import Account
from wenzheng.agencies.models import Agency
from wenzheng.bulletins.cap import (
    CAP_MEDIA_TYPE,
    CAP_NAMESPACE,
    COLOUR_LABELS,
    COLOURS,
    GEOCODE_GB2260,
    SEVERITY_LABELS,
    alert_document_url,
    alert_identifier,
    alert_sender,
    alert_sent_at,
    alert_severity,
    bulletin_url,
    cap_circles,
    cap_time,
    deployment_host,
    xml_bytes,
)
from wenzheng.bulletins.languages import version_of
from wenzheng.bulletins.models import Bulletin, BulletinKind
from wenzheng.followers.languages import CAP_TAGS, CHINESE, language_query

ATOM_NAMESPACE = "http://www.w3.org/2005/Atom"
ATOM_MEDIA_TYPE = "application/atom+xml"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
KIND_LABELS = {BulletinKind.NOTICE: "通知", BulletinKind.NEWS: "新闻", BulletinKind.ALERT: "预警"}
SUMMARY_MAX = 200
# The words of each feed's own language (the bulletins' words come from their versions).
WORDS: dict[str, dict[str, str]] = {
    CHINESE: {
        "bulletins": "公告",
        "alerts": "预警信息",
        "severity": "严重程度：{}",
        "area": "区域：{}",
        "until": "有效期至：{}",
        "Update": "更新此前的预警",
        "Cancel": "解除此前的预警",
        "and": "；",
        **{f"kind_{kind}": label for kind, label in KIND_LABELS.items()},
        **{f"colour_{colour}": label for colour, label in COLOUR_LABELS.items()},
    },
    "en": {
        "bulletins": "Bulletins",
        "alerts": "Alerts",
        "severity": "Severity: {}",
        "area": "Area: {}",
        "until": "Valid until: {}",
        "Update": "Updates an earlier alert",
        "Cancel": "Lifts an earlier alert",
        "and": "; ",
        "kind_notice": "Notice",
        "kind_news": "News",
        "kind_alert": "Alert",
        **{f"colour_{colour}": f"{colour.capitalize()} warning" for colour in COLOURS},
    },
}


def bulletins_feed_url(account_slug: str, base_url: str, language: str = CHINESE) -> str:
    return f"{base_url.rstrip('/')}/c/{account_slug}/bulletins.atom{language_query(language)}"


def alerts_feed_url(account_slug: str, base_url: str, language: str = CHINESE) -> str:
    return f"{base_url.rstrip('/')}/c/{account_slug}/alerts.atom{language_query(language)}"


def tag_uri(base_url: str, day: dt.datetime, specific: str) -> str:
    """A tag URI (RFC 4151), ``tag:{host},{date}:{specific}``: stable and unique without a resolvable URL."""
    return f"tag:{deployment_host(base_url)},{day.astimezone(dt.UTC).date().isoformat()}:{specific}"


def bulletin_entry_id(bulletin: Bulletin, base_url: str, language: str = CHINESE) -> str:
    """The Atom id of a bulletin: the same in both feeds, as it is the same bulletin; its English entries have
    their own (a reader following both languages sees two entries, not one that changes language)."""
    specific = f"bulletins/{bulletin.id}" + ("" if language == CHINESE else f"/{language}")
    return tag_uri(base_url, bulletin.created_at, specific)


def atom_feed(
    bulletins: Sequence[Bulletin], *, account: Account, agency: Agency, base_url: str, language: str = CHINESE
) -> bytes:
    """An Atom feed of an account's published bulletins (newest first, as given), in ``language``."""
    words = WORDS[language]
    feed = _feed(
        account,
        agency,
        base_url,
        feed_id=tag_uri(base_url, account.created_at, f"accounts/{account.id}/bulletins{_suffix(language)}"),
        title=f"{account.name} · {words['bulletins']}",
        self_url=bulletins_feed_url(account.slug, base_url, language),
        bulletins=bulletins,
        language=language,
    )
    for bulletin in bulletins:
        version = version_of(bulletin, language)
        entry = _entry(feed, bulletin, account, base_url, title=version.title, language=language)
        page = bulletin_url(account.slug, bulletin.id, base_url=base_url, language=version.language)
        _link(entry, "alternate", page, "text/html")
        if bulletin.kind == BulletinKind.ALERT:
            _link(entry, "alternate", alert_document_url(account.slug, bulletin.id, base_url=base_url), CAP_MEDIA_TYPE)
        if bulletin.link:
            _link(entry, "related", bulletin.link)
        ET.SubElement(entry, "category", term=bulletin.kind, label=words.get(f"kind_{bulletin.kind}", bulletin.kind))
        _text(entry, "summary", _summary(version.body))
        _text(entry, "content", version.body, type="text")
    return xml_bytes(feed)


def cap_feed(
    alerts: Sequence[Bulletin], *, account: Account, agency: Agency, base_url: str, language: str = CHINESE
) -> bytes:
    """An Atom index of an account's published alerts, each entry linking to its CAP 1.2 document, in
    ``language`` (the CAP document itself carries every language)."""
    feed = _feed(
        account,
        agency,
        base_url,
        feed_id=tag_uri(base_url, account.created_at, f"accounts/{account.id}/alerts{_suffix(language)}"),
        title=f"{account.name} · {WORDS[language]['alerts']}",
        self_url=alerts_feed_url(account.slug, base_url, language),
        bulletins=alerts,
        language=language,
    )
    feed.set("xmlns:cap", CAP_NAMESPACE)
    for alert in alerts:
        entry = _entry(feed, alert, account, base_url, title=_alert_title(alert, language), language=language)
        _link(entry, "alternate", alert_document_url(account.slug, alert.id, base_url=base_url), CAP_MEDIA_TYPE)
        page = bulletin_url(account.slug, alert.id, base_url=base_url, language=version_of(alert, language).language)
        _link(entry, "related", page, "text/html")
        if alert.cap_category:
            ET.SubElement(entry, "category", term=alert.cap_category)
        _text(entry, "summary", _alert_summary(alert, language))
        _cap_fields(entry, alert, account, base_url, language)
    return xml_bytes(feed)


def _suffix(language: str) -> str:
    return "" if language == CHINESE else f"/{language}"


def _feed(
    account: Account,
    agency: Agency,
    base_url: str,
    *,
    feed_id: str,
    title: str,
    self_url: str,
    bulletins: Sequence[Bulletin],
    language: str,
) -> ET.Element:
    feed = ET.Element("feed", {"xmlns": ATOM_NAMESPACE, XML_LANG: CAP_TAGS[language]})
    _text(feed, "id", feed_id)
    _text(feed, "title", title)
    _text(feed, "subtitle", account.description)
    _text(feed, "updated", cap_time(max((_updated(b) for b in bulletins), default=account.created_at)))
    _link(feed, "self", self_url, ATOM_MEDIA_TYPE)
    _link(feed, "alternate", f"{base_url.rstrip('/')}/c/{account.slug}{language_query(language)}", "text/html")
    author = ET.SubElement(feed, "author")
    _text(author, "name", agency.name)
    _text(author, "uri", f"{base_url.rstrip('/')}/c/{account.slug}")
    _text(feed, "generator", "wenzheng")
    return feed


def _entry(
    feed: ET.Element, bulletin: Bulletin, account: Account, base_url: str, *, title: str, language: str
) -> ET.Element:
    entry = ET.SubElement(feed, "entry")
    _text(entry, "id", bulletin_entry_id(bulletin, base_url, language))
    _text(entry, "title", title)
    _text(entry, "updated", cap_time(_updated(bulletin)))
    _text(entry, "published", cap_time(alert_sent_at(bulletin)))
    return entry


def _updated(bulletin: Bulletin) -> dt.datetime:
    """The later of its last edit and its publication (publishing is the change a reader cares about)."""
    return max(bulletin.updated_at or alert_sent_at(bulletin), alert_sent_at(bulletin))


def _alert_title(alert: Bulletin, language: str = CHINESE) -> str:
    title = version_of(alert, language).title
    if alert.warning_colour in COLOURS:
        return f"【{WORDS[language][f'colour_{alert.warning_colour}']}】{title}"
    return title


def _alert_summary(alert: Bulletin, language: str = CHINESE) -> str:
    words, version = WORDS[language], version_of(alert, language)
    severity = alert_severity(alert)
    parts = [
        version.event or alert.cap_event or version.title,
        words["severity"].format(SEVERITY_LABELS[severity] if language == CHINESE else severity),
    ]
    if version.area_desc or alert.area_desc:
        parts.append(words["area"].format(version.area_desc or alert.area_desc))
    if alert.expires_at is not None:
        parts.append(words["until"].format(cap_time(alert.expires_at)[:16].replace("T", " ")))
    if alert.msg_type in ("Update", "Cancel"):
        parts.append(words[alert.msg_type])
    return words["and"].join(parts)


def _cap_fields(entry: ET.Element, alert: Bulletin, account: Account, base_url: str, language: str = CHINESE) -> None:
    """The alert's key CAP fields inside the entry, so aggregators can filter without fetching it."""
    version = version_of(alert, language)
    values = [
        ("identifier", alert_identifier(alert, base_url=base_url)),
        ("sender", alert_sender(account, base_url=base_url)),
        ("sent", cap_time(alert_sent_at(alert))),
        ("status", "Actual"),
        ("msgType", alert.msg_type),
        ("event", version.event or alert.cap_event),
        ("category", alert.cap_category),
        ("urgency", alert.cap_urgency or "Unknown"),
        ("severity", alert_severity(alert)),
        ("certainty", alert.cap_certainty or "Unknown"),
        ("expires", cap_time(alert.expires_at) if alert.expires_at else ""),
        ("areaDesc", version.area_desc or alert.area_desc),
        ("polygon", alert.area_polygon),
    ]
    for name, value in values:
        _text(entry, f"cap:{name}", value)
    for circle in cap_circles(alert):
        _text(entry, "cap:circle", circle)
    for code in alert.area_codes or ():
        geocode = ET.SubElement(entry, "cap:geocode")
        _text(geocode, "cap:valueName", GEOCODE_GB2260)
        _text(geocode, "cap:value", code)


def _summary(body: str) -> str:
    text = " ".join(body.split())
    return text if len(text) <= SUMMARY_MAX else text[: SUMMARY_MAX - 1] + "…"


def _link(parent: ET.Element, rel: str, href: str, media_type: str = "") -> None:
    attributes = {"rel": rel, "href": href}
    if media_type:
        attributes["type"] = media_type
    ET.SubElement(parent, "link", attributes)


def _text(parent: ET.Element, tag: str, value: str, **attributes: str) -> None:
    if value:
        ET.SubElement(parent, tag, attributes).text = value
