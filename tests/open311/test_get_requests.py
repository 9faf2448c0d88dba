"""GET requests and GET a request: what was filed through Open311 is visible at once with status open,
with the spec's fields and filters, and nothing about the reporter."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import update
from sqlalchemy.orm import Session

from tests.open311.helpers import Jurisdiction, assert_open311_error, created_ref, post_request, xml_items, xml_of
from wenzheng.db import utcnow
from wenzheng.messages.models import Message

REQUEST_FIELDS = [
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "lat",
    "long",
    "media_url",
]


def _get(client: TestClient, jurisdiction: Jurisdiction, fmt: str = "json", **params: str) -> Response:
    return client.get(f"/open311/v2/requests.{fmt}", params={"jurisdiction_id": jurisdiction.id, **params})


def _refs(client: TestClient, jurisdiction: Jurisdiction, **params: str) -> list[str]:
    response = _get(client, jurisdiction, **params)
    assert response.status_code == 200, response.text
    return [item["service_request_id"] for item in response.json()]


def _set(db: Session, ref: str, **values: object) -> None:
    db.execute(update(Message).where(Message.ref == ref).values(**values))


def test_a_posted_request_is_visible_at_once_with_status_open(client: TestClient, yaan: Jurisdiction) -> None:
    ref = created_ref(
        post_request(
            client,
            yaan,
            address_string="雨城区姚桥镇",
            media_url="https://example.org/p.jpg",
            email="reporter@example.org",
            phone="13800138000",
            first_name="小明",
            last_name="王",
            device_id="device-secret-7",
        )
    )
    response = _get(client, yaan)
    assert response.status_code == 200
    [item] = response.json()
    assert list(item) == REQUEST_FIELDS
    department = yaan.tenant.department.name
    assert item == {
        "service_request_id": ref,
        "status": "open",
        "status_notes": "已受理，正在分派处理。Received; being dispatched.",
        "service_name": f"{department} · 投诉 Complaint",
        "service_code": yaan.department_code,
        "description": "姚桥镇路口的红绿灯不亮了。",
        "agency_responsible": department,
        "service_notice": f"已受理，受理编号 {ref}。Received; reference {ref}.",
        "requested_datetime": item["requested_datetime"],
        "updated_datetime": None,
        "expected_datetime": None,
        "address": "雨城区姚桥镇",
        "address_id": None,
        "zipcode": None,
        "lat": 29.98,
        "long": 103.0,
        "media_url": "https://example.org/p.jpg",
    }
    requested = dt.datetime.fromisoformat(item["requested_datetime"])
    assert item["requested_datetime"].endswith("+08:00")  # the agency's zone (Asia/Shanghai), with its offset
    assert abs(requested - utcnow()) < dt.timedelta(minutes=5)
    for private in ("reporter@example.org", "138", "小明", "device-secret-7", yaan.api_key):
        assert private not in response.text
    by_id = client.get(f"/open311/v2/requests/{ref}.json", params={"jurisdiction_id": yaan.id})
    assert by_id.status_code == 200
    assert by_id.json() == [item]


def test_xml_uses_service_requests_and_request_elements(client: TestClient, yaan: Jurisdiction) -> None:
    ref = created_ref(post_request(client, yaan, service_code="help"))
    for response in (
        _get(client, yaan, "xml"),
        client.get(f"/open311/v2/requests/{ref}.xml?jurisdiction_id={yaan.id}"),
    ):
        root = xml_of(response)
        assert root.tag == "service_requests"
        assert [item.tag for item in root] == ["request"]
        [item] = xml_items(root)
        assert list(item) == REQUEST_FIELDS
        assert (item["service_request_id"], item["status"], item["service_code"]) == (ref, "open", "help")
        assert (item["lat"], item["long"], item["address"]) == ("29.98", "103.0", None)
        assert item["agency_responsible"] == yaan.tenant.agency.name


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_requests_of_other_jurisdictions_and_channels_are_not_found(
    client: TestClient, db: Session, yaan: Jurisdiction, other: Jurisdiction, fmt: str
) -> None:
    theirs = created_ref(post_request(client, other))
    db.add(
        Message(
            agency_id=yaan.tenant.agency.id,
            account_id=yaan.tenant.account.id,
            direction="in",
            channel="wechat",
            channel_message_id="wx-1",
            kind="text",
            text="我们被困了，私信",
            ref="20130420-000123",
            payload={},
            status="received",
            received_at=utcnow(),
        )
    )
    db.flush()
    for ref in (theirs, "20130420-000123", "20990101-000001"):
        response = client.get(f"/open311/v2/requests/{ref}.{fmt}", params={"jurisdiction_id": yaan.id})
        assert "No request" in assert_open311_error(response, 404, fmt=fmt)
    assert _refs(client, yaan) == []
    assert _refs(client, yaan, service_request_id=f"{theirs},20130420-000123") == []
    assert _refs(client, other) == [theirs]


def test_resolved_and_closed_messages_are_closed_with_the_state_in_status_notes(
    client: TestClient, db: Session, yaan: Jurisdiction
) -> None:
    received, resolved, closed = (created_ref(post_request(client, yaan)) for _ in range(3))
    _set(db, resolved, status="resolved")
    _set(db, closed, status="closed")
    items = {item["service_request_id"]: item for item in _get(client, yaan).json()}
    assert {ref: (i["status"], i["status_notes"]) for ref, i in items.items()} == {
        received: ("open", "已受理，正在分派处理。Received; being dispatched."),
        resolved: ("closed", "已办结。Resolved."),
        closed: ("closed", "已归档。Closed."),
    }
    assert _refs(client, yaan, status="open") == [received]
    assert set(_refs(client, yaan, status="closed")) == {resolved, closed}
    assert set(_refs(client, yaan, status="open,closed")) == {received, resolved, closed}
    assert set(_refs(client, yaan, status="")) == {received, resolved, closed}
    assert "status is open, closed" in assert_open311_error(_get(client, yaan, status="pending"), 400)


def test_service_request_id_overrides_the_other_filters(client: TestClient, db: Session, yaan: Jurisdiction) -> None:
    first, second, third = (created_ref(post_request(client, yaan)) for _ in range(3))
    _set(db, first, received_at=utcnow() - dt.timedelta(days=400))
    wanted = _refs(client, yaan, service_request_id=f"{first}, {second}", status="closed", service_code="help")
    assert set(wanted) == {first, second}
    assert third not in wanted


def test_service_code_filter(client: TestClient, yaan: Jurisdiction) -> None:
    help_ref = created_ref(post_request(client, yaan, service_code="help"))
    department_ref = created_ref(post_request(client, yaan))
    suggestion = created_ref(post_request(client, yaan, service_code=f"{yaan.tenant.department.id}-suggestion"))
    assert _refs(client, yaan, service_code="help") == [help_ref]
    assert _refs(client, yaan, service_code=yaan.department_code) == [department_ref]
    assert set(_refs(client, yaan, service_code=f"help,{yaan.department_code}")) == {help_ref, department_ref}
    assert _refs(client, yaan, service_code="nonsense,x-help") == []
    assert suggestion in _refs(client, yaan)


def test_date_filters_and_the_default_window_of_90_days(client: TestClient, db: Session, yaan: Jurisdiction) -> None:
    recent, old, ancient = (created_ref(post_request(client, yaan)) for _ in range(3))
    now = utcnow()
    _set(db, old, received_at=now - dt.timedelta(days=100))
    _set(db, ancient, received_at=now - dt.timedelta(days=200))
    assert _refs(client, yaan) == [recent]
    window = {"start_date": _w3c(now - dt.timedelta(days=120)), "end_date": _w3c(now - dt.timedelta(days=50))}
    assert _refs(client, yaan, **window) == [old]
    assert _refs(client, yaan, start_date=_w3c(now - dt.timedelta(days=210))) == [ancient]
    assert _refs(client, yaan, end_date=_w3c(now - dt.timedelta(days=150))) == [ancient]
    in_shanghai = (now - dt.timedelta(days=101)).astimezone(dt.timezone(dt.timedelta(hours=8))).isoformat()
    # Written into the URL unencoded, the "+" of "+08:00" arrives as a space; it still means +08:00.
    unencoded = client.get(f"/open311/v2/requests.json?jurisdiction_id={yaan.id}&start_date={in_shanghai}")
    assert "+08:00" in in_shanghai
    assert [item["service_request_id"] for item in unencoded.json()] == [old]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"start_date": "2013-01-01T00:00:00Z", "end_date": "2013-06-01T00:00:00Z"}, "more than 90 days"),
        ({"start_date": "2013-04-20T00:00:00Z", "end_date": "2013-04-19T00:00:00Z"}, "end_date is before start_date"),
        ({"start_date": "2013-04-20T00:00:00"}, "start_date needs a time zone"),
        ({"end_date": "yesterday"}, "end_date is not a W3C date-time"),
        ({"page_size": "1001"}, "page_size is a whole number"),
        ({"page": "0"}, "page is a whole number"),
    ],
)
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_bad_filters_are_400(
    client: TestClient, yaan: Jurisdiction, params: dict[str, str], expected: str, fmt: str
) -> None:
    assert expected in assert_open311_error(_get(client, yaan, fmt, **params), 400, fmt=fmt)


def test_pages_newest_first(client: TestClient, yaan: Jurisdiction) -> None:
    refs = [created_ref(post_request(client, yaan)) for _ in range(5)]
    newest_first = list(reversed(refs))
    assert _refs(client, yaan) == newest_first
    assert _refs(client, yaan, page_size="2") == newest_first[:2]
    assert _refs(client, yaan, page_size="2", page="3") == newest_first[4:]


def _w3c(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
