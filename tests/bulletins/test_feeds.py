"""The Atom feeds (RFC 4287) of bulletins and alerts, and the public routes that serve them with CAP documents."""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any

import defusedxml.ElementTree as SafeET
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories import Tenant, create_tenant
from wenzheng.accounts.models import Account
from wenzheng.agencies.models import Agency
from wenzheng.bulletins import cap
from wenzheng.bulletins.feeds import atom_feed, cap_feed
from wenzheng.bulletins.models import Bulletin
from wenzheng.config import get_settings
from wenzheng.db import utcnow
from wenzheng.web.channels.feeds import router
from wenzheng.web.errors import install_error_handlers

ATOM = "{http://www.w3.org/2005/Atom}"
CAPNS = "{urn:oasis:names:tc:emergency:cap:1.2}"
BASE = "https://wz.example.gov.cn"
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:Z|[+-]\d\d:\d\d)$")
T0 = dt.datetime(2025, 6, 12, 0, 30, tzinfo=dt.UTC)


# --- the feeds as documents --------------------------------------------------------------------------------


def account() -> Account:
    return Account(id=3, slug="yaan", name="雅安发布", description="雅安市政府公众号", created_at=T0)


def agency() -> Agency:
    return Agency(id=2, slug="yaan-gov", name="雅安市人民政府")


def bulletin(**overrides: Any) -> Bulletin:
    fields: dict[str, Any] = {
        "id": 1,
        "agency_id": 2,
        "account_id": 3,
        "kind": "notice",
        "state": "sent",
        "title": "停水通知",
        "body": "明日 9 时至 17 时雨城区部分路段停水。",
        "link": "",
        "cap_event": "",
        "cap_category": "",
        "cap_urgency": "",
        "cap_severity": "",
        "cap_certainty": "",
        "cap_response_type": "",
        "cap_instruction": "",
        "warning_colour": "",
        "area_desc": "",
        "area_codes": [],
        "area_polygon": "",
        "expires_at": None,
        "msg_type": "Alert",
        "supersedes_id": None,
        "created_at": T0 - dt.timedelta(hours=1),
        "updated_at": T0,
        "started_at": T0,
    }
    fields.update(overrides)
    return Bulletin(**fields)


def an_alert(**overrides: Any) -> Bulletin:
    fields: dict[str, Any] = {
        "kind": "alert",
        "title": "芦山县发布暴雨红色预警",
        "cap_event": "暴雨",
        "cap_category": "Met",
        "cap_urgency": "Immediate",
        "cap_certainty": "Observed",
        "warning_colour": "red",
        "area_desc": "芦山县",
        "area_codes": ["511826"],
        "area_polygon": "30.1,103.0 30.2,103.0 30.2,103.1 30.1,103.0",
        "expires_at": T0 + dt.timedelta(days=1),
    }
    fields.update(overrides)
    return bulletin(**fields)


def parse_feed(raw: bytes) -> ET.Element:
    assert raw.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    feed = SafeET.fromstring(raw)
    assert feed.tag == f"{ATOM}feed"
    for required in ("id", "title", "updated"):
        assert (feed.findtext(ATOM + required) or "").strip(), f"feed without {required}"
    assert RFC3339.match(feed.findtext(ATOM + "updated") or "")
    assert feed.find(f"{ATOM}author/{ATOM}name") is not None, "a feed needs an author (entries have none)"
    for entry in feed.findall(ATOM + "entry"):
        for required in ("id", "title", "updated"):
            assert (entry.findtext(ATOM + required) or "").strip(), f"entry without {required}"
        for stamp in ("updated", "published"):
            assert RFC3339.match(entry.findtext(ATOM + stamp) or ""), stamp
        assert links(entry, "alternate"), "an entry needs an alternate link"
    return feed


def links(element: ET.Element, rel: str) -> dict[str, str]:
    """type → href of the element's links with this rel."""
    return {
        link.get("type", ""): link.get("href", "")
        for link in element.findall(ATOM + "link")
        if link.get("rel", "alternate") == rel
    }


def test_bulletins_feed_is_atom_with_self_alternate_and_author() -> None:
    feed = parse_feed(atom_feed([bulletin()], account=account(), agency=agency(), base_url=BASE + "/"))
    assert links(feed, "self") == {"application/atom+xml": f"{BASE}/c/yaan/bulletins.atom"}
    assert links(feed, "alternate") == {"text/html": f"{BASE}/c/yaan"}
    assert feed.findtext(f"{ATOM}author/{ATOM}name") == "雅安市人民政府"
    assert (feed.findtext(ATOM + "id") or "").startswith("tag:wz.example.gov.cn,2025-06-12:")
    assert feed.get("{http://www.w3.org/XML/1998/namespace}lang") == "zh-CN"


def test_bulletin_entries_link_to_the_citizen_page_with_kind_and_text() -> None:
    notice = bulletin(id=4, link="https://www.yaan.gov.cn/tingshui")
    feed = parse_feed(atom_feed([notice], account=account(), agency=agency(), base_url=BASE))
    (entry,) = feed.findall(ATOM + "entry")
    assert links(entry, "alternate") == {"text/html": f"{BASE}/c/yaan/bulletins/4"}
    assert links(entry, "related") == {"": "https://www.yaan.gov.cn/tingshui"}
    assert entry.findtext(ATOM + "title") == "停水通知"
    assert entry.findtext(ATOM + "published") == "2025-06-12T08:30:00+08:00"
    category = entry.find(ATOM + "category")
    assert category is not None and category.get("term") == "notice" and category.get("label") == "通知"
    content = entry.find(ATOM + "content")
    assert content is not None and content.get("type") == "text" and content.text == notice.body


def test_the_english_feeds_give_each_bulletin_in_english_where_it_has_a_version() -> None:
    english = {"title": "Water off tomorrow", "body": "No tap water in Yucheng from 9:00 to 17:00 tomorrow."}
    translated, plain = bulletin(id=5, translations={"en": english}), bulletin(id=6)
    raw = atom_feed([translated, plain], account=account(), agency=agency(), base_url=BASE, language="en")
    feed = parse_feed(raw)
    assert feed.get("{http://www.w3.org/XML/1998/namespace}lang") == "en-US"
    assert links(feed, "self") == {"application/atom+xml": f"{BASE}/c/yaan/bulletins.atom?lang=en"}
    assert feed.findtext(ATOM + "title") == "雅安发布 · Bulletins"
    first, second = feed.findall(ATOM + "entry")
    assert first.findtext(ATOM + "title") == "Water off tomorrow"
    assert first.findtext(ATOM + "content") == english["body"]
    assert links(first, "alternate") == {"text/html": f"{BASE}/c/yaan/bulletins/5?lang=en"}
    category = first.find(ATOM + "category")
    assert category is not None and category.get("label") == "Notice"
    assert second.findtext(ATOM + "title") == "停水通知"  # no English version: the Chinese, linked as such
    assert links(second, "alternate") == {"text/html": f"{BASE}/c/yaan/bulletins/6"}
    chinese = parse_feed(atom_feed([translated], account=account(), agency=agency(), base_url=BASE))
    # Its own feed and entry ids: a reader of both feeds sees two entries, not one that changes language.
    assert feed.findtext(ATOM + "id") != chinese.findtext(ATOM + "id")
    assert first.findtext(ATOM + "id") != chinese.findall(ATOM + "entry")[0].findtext(ATOM + "id")

    alert = an_alert(
        id=7,
        translations={"en": {"title": "Red rainstorm warning", "event": "Rainstorm", "area_desc": "Lushan County"}},
    )
    alerts = parse_feed(cap_feed([alert], account=account(), agency=agency(), base_url=BASE, language="en"))
    (entry,) = alerts.findall(ATOM + "entry")
    assert entry.findtext(ATOM + "title") == "【Red warning】Red rainstorm warning"
    assert entry.findtext(ATOM + "summary") == (
        "Rainstorm; Severity: Extreme; Area: Lushan County; Valid until: 2025-06-13 08:30"
    )
    assert entry.findtext(CAPNS + "event") == "Rainstorm" and entry.findtext(CAPNS + "areaDesc") == "Lushan County"
    assert entry.findtext(CAPNS + "severity") == "Extreme"  # CAP's own values stay as they are


def test_entry_ids_are_stable_uris_and_unique() -> None:
    def ids() -> list[str]:
        feed = parse_feed(
            atom_feed([bulletin(id=1), bulletin(id=2)], account=account(), agency=agency(), base_url=BASE)
        )
        return [e.findtext(ATOM + "id") or "" for e in feed.findall(ATOM + "entry")]

    first = ids()
    assert first == ids()
    assert len(set(first)) == 2
    assert all(re.match(r"^tag:wz\.example\.gov\.cn,\d{4}-\d\d-\d\d:bulletins/\d+$", i) for i in first)


def test_feed_updated_is_the_newest_entry_or_the_account_when_empty() -> None:
    later = bulletin(id=2, started_at=T0 + dt.timedelta(hours=3), updated_at=T0 + dt.timedelta(hours=3))
    feed = parse_feed(atom_feed([later, bulletin()], account=account(), agency=agency(), base_url=BASE))
    assert feed.findtext(ATOM + "updated") == "2025-06-12T11:30:00+08:00"
    empty = parse_feed(atom_feed([], account=account(), agency=agency(), base_url=BASE))
    assert empty.findtext(ATOM + "updated") == "2025-06-12T08:30:00+08:00"
    assert empty.findall(ATOM + "entry") == []


def test_an_alert_in_the_bulletins_feed_also_links_its_cap_document() -> None:
    feed = parse_feed(atom_feed([an_alert(id=9)], account=account(), agency=agency(), base_url=BASE))
    entry = feed.find(ATOM + "entry")
    assert entry is not None
    assert links(entry, "alternate")[cap.CAP_MEDIA_TYPE] == f"{BASE}/c/yaan/bulletins/9/cap.xml"


def test_alerts_feed_entries_link_cap_xml_and_summarise_the_cap_fields() -> None:
    raw = cap_feed([an_alert(id=9)], account=account(), agency=agency(), base_url=BASE)
    feed = parse_feed(raw)
    assert links(feed, "self") == {"application/atom+xml": f"{BASE}/c/yaan/alerts.atom"}
    (entry,) = feed.findall(ATOM + "entry")
    assert links(entry, "alternate") == {"application/cap+xml": f"{BASE}/c/yaan/bulletins/9/cap.xml"}
    assert links(entry, "related") == {"text/html": f"{BASE}/c/yaan/bulletins/9"}
    assert entry.findtext(ATOM + "title") == "【红色预警】芦山县发布暴雨红色预警"
    assert "芦山县" in (entry.findtext(ATOM + "summary") or "")
    assert entry.findtext(CAPNS + "identifier") == "wz.example.gov.cn-bulletin-9"
    assert entry.findtext(CAPNS + "severity") == "Extreme"
    assert entry.findtext(CAPNS + "msgType") == "Alert"
    assert is_cap_time(entry.findtext(CAPNS + "expires"))
    assert [
        (g.findtext(CAPNS + "valueName"), g.findtext(CAPNS + "value")) for g in entry.findall(CAPNS + "geocode")
    ] == [("GB/T 2260", "511826")]
    assert (entry.findtext(ATOM + "id") or "") == entry_id_in_bulletins_feed(9)


def is_cap_time(value: str | None) -> bool:
    return bool(re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$", value or ""))


def entry_id_in_bulletins_feed(bulletin_id: int) -> str:
    feed = parse_feed(atom_feed([an_alert(id=bulletin_id)], account=account(), agency=agency(), base_url=BASE))
    return feed.findtext(f"{ATOM}entry/{ATOM}id") or ""


# --- the routes --------------------------------------------------------------------------------------------


@pytest.fixture
def feeds_client() -> Iterator[TestClient]:
    """Just the feeds router with the app's error handlers, so these tests pass before app.py registers it."""
    app = FastAPI()
    install_error_handlers(app)
    app.include_router(router)
    with TestClient(app, base_url="http://testserver") as test_client:
        yield test_client


def stored(db: Session, tenant: Tenant, *, state: str = "sent", kind: str = "alert", **overrides: Any) -> Bulletin:
    now = utcnow()
    fields: dict[str, Any] = {
        "agency_id": tenant.agency.id,
        "account_id": tenant.account.id,
        "kind": kind,
        "state": state,
        "title": f"{kind} {state}",
        "body": "正文",
        "started_at": now - dt.timedelta(minutes=5) if state in ("sent", "sending") else None,
    }
    if kind == "alert":
        fields.update(
            cap_event="暴雨",
            cap_category="Met",
            cap_urgency="Expected",
            cap_certainty="Likely",
            warning_colour="orange",
            area_desc="芦山县",
            area_codes=["511826"],
            expires_at=now + dt.timedelta(days=1),
        )
    fields.update(overrides)
    bulletin = Bulletin(**fields)
    db.add(bulletin)
    db.flush()
    return bulletin


def entry_titles(raw: bytes) -> list[str]:
    return [e.findtext(ATOM + "title") or "" for e in parse_feed(raw).findall(ATOM + "entry")]


def test_bulletins_atom_lists_only_this_accounts_published_bulletins(feeds_client: TestClient, db: Session) -> None:
    a, b = create_tenant(db, "a"), create_tenant(db, "b")
    stored(db, a, kind="notice", state="sent", title="已发布通知")
    stored(db, a, kind="news", state="sending", title="发送中新闻")
    for state in ("draft", "pending", "scheduled", "cancelled"):
        stored(db, a, kind="notice", state=state, title=f"未发布 {state}")
    stored(db, b, kind="notice", state="sent", title="别家的通知")
    response = feeds_client.get(f"/c/{a.account.slug}/bulletins.atom")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/atom+xml")
    assert sorted(entry_titles(response.content)) == sorted(["已发布通知", "发送中新闻"])
    base = get_settings().base_url.rstrip("/")
    assert links(parse_feed(response.content), "self")["application/atom+xml"] == (
        f"{base}/c/{a.account.slug}/bulletins.atom"
    )
    english = parse_feed(feeds_client.get(f"/c/{a.account.slug}/bulletins.atom?lang=en").content)
    assert english.get("{http://www.w3.org/XML/1998/namespace}lang") == "en-US"
    unknown = parse_feed(feeds_client.get(f"/c/{a.account.slug}/bulletins.atom?lang=xx").content)
    assert unknown.get("{http://www.w3.org/XML/1998/namespace}lang") == "zh-CN"  # a language we have not: Chinese


def test_alerts_atom_lists_current_published_alerts_only(feeds_client: TestClient, db: Session) -> None:
    a = create_tenant(db, "a")
    current = stored(db, a, title="当前预警")
    stored(db, a, title="过期预警", expires_at=utcnow() - dt.timedelta(hours=1))
    stored(db, a, title="草稿预警", state="draft")
    stored(db, a, kind="notice", title="普通通知")
    response = feeds_client.get(f"/c/{a.account.slug}/alerts.atom")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/atom+xml")
    assert entry_titles(response.content) == ["【橙色预警】当前预警"]
    entry = parse_feed(response.content).find(ATOM + "entry")
    assert entry is not None
    cap_url = links(entry, "alternate")["application/cap+xml"]
    assert cap_url.endswith(f"/c/{a.account.slug}/bulletins/{current.id}/cap.xml")


def test_cap_xml_of_a_published_alert(feeds_client: TestClient, db: Session) -> None:
    a = create_tenant(db, "a")
    alert = stored(db, a)
    response = feeds_client.get(f"/c/{a.account.slug}/bulletins/{alert.id}/cap.xml")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/cap+xml")
    assert "max-age=" in response.headers["cache-control"]
    parsed = cap.parse_alert(response.content)
    assert parsed["identifier"].endswith(f"-bulletin-{alert.id}")
    assert parsed["sender"].startswith(f"{a.account.slug}@")
    assert parsed["sender_name"] == a.agency.name
    assert parsed["severity"] == "Severe"
    assert parsed["msg_type"] == "Alert" and parsed["references"] == []


def test_cap_xml_of_an_update_references_the_thread(feeds_client: TestClient, db: Session) -> None:
    a = create_tenant(db, "a")
    first = stored(db, a, title="首发")
    update = stored(db, a, title="调整", msg_type="Update", supersedes_id=first.id, warning_colour="red")
    first_doc = cap.parse_alert(feeds_client.get(f"/c/{a.account.slug}/bulletins/{first.id}/cap.xml").content)
    response = feeds_client.get(f"/c/{a.account.slug}/bulletins/{update.id}/cap.xml")
    parsed = cap.parse_alert(response.content)
    assert parsed["msg_type"] == "Update"
    assert parsed["references"] == [f"{first_doc['sender']},{first_doc['identifier']},{first_doc['sent']}"]
    assert parsed["severity"] == "Extreme"


def test_cap_xml_is_not_found_for_anything_but_this_accounts_published_alerts(
    feeds_client: TestClient, db: Session
) -> None:
    a, b = create_tenant(db, "a"), create_tenant(db, "b")
    hidden = [
        stored(db, a, kind="notice"),
        stored(db, a, state="draft"),
        stored(db, a, state="pending"),
        stored(db, a, state="scheduled"),
        stored(db, b),  # another account's published alert
    ]
    for bulletin in hidden:
        response = feeds_client.get(f"/c/{a.account.slug}/bulletins/{bulletin.id}/cap.xml")
        assert response.status_code == 404, (bulletin.kind, bulletin.state, bulletin.account_id)
    assert feeds_client.get(f"/c/{a.account.slug}/bulletins/999999/cap.xml").status_code == 404
    unknown = feeds_client.get("/c/no-such-account/alerts.atom", headers={"accept": "application/json"})
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "unknown_account"


def test_feeds_answer_304_to_a_matching_etag(feeds_client: TestClient, db: Session) -> None:
    a = create_tenant(db, "a")
    stored(db, a, kind="notice")
    url = f"/c/{a.account.slug}/bulletins.atom"
    first = feeds_client.get(url)
    etag = first.headers["etag"]
    again = feeds_client.get(url, headers={"if-none-match": etag})
    assert again.status_code == 304 and again.content == b""
    stored(db, a, kind="notice", title="新的通知")
    changed = feeds_client.get(url, headers={"if-none-match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag
