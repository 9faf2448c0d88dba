"""POST requests: the api_key of the account's agency, the one intake door, and an idempotent retry."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories import SYSTEM, create_api_token
from tests.open311.helpers import (
    Jurisdiction,
    assert_open311_error,
    count_messages,
    created_ref,
    nothing_stored,
    post_request,
    request_form,
    xml_items,
    xml_of,
)
from wenzheng.citizens.models import CitizenHandle
from wenzheng.messages.models import Message
from wenzheng.staff.actions import do_revoke_api_token
from wenzheng.staff.roles import Role


def _message(db: Session, ref: str) -> Message:
    return db.execute(select(Message).where(Message.ref == ref)).scalar_one()


def test_a_request_is_stored_as_a_message_of_the_account(client: TestClient, db: Session, yaan: Jurisdiction) -> None:
    form = request_form(
        yaan,
        description="红绿灯不亮了\r\n第二行",
        address_string="雨城区姚桥镇 初级中学门口",
        email="Reporter@Example.org",
        phone="138 0013 8000",
        device_id="device-7",
        media_url="https://example.org/p.jpg",
    )
    attributes = {"attribute[side]": "north", "attribute[tags][]": ["light", "pole"]}
    response = client.post("/open311/v2/requests.json", data={**form, **attributes})
    ref = created_ref(response)
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert response.json() == [
        {"service_request_id": ref, "service_notice": f"已受理，受理编号 {ref}。Received; reference {ref}."}
    ]
    message = _message(db, ref)
    assert (message.account_id, message.channel, message.kind) == (yaan.tenant.account.id, "open311", "text")
    assert message.text == "红绿灯不亮了\n第二行"
    assert (message.latitude, message.longitude) == (29.98, 103.0)
    assert message.location_label == "雨城区姚桥镇 初级中学门口"
    assert (message.department_id, message.requested_kind) == (yaan.tenant.department.id, "complaint")
    assert "api_key" not in message.payload
    assert message.payload["service_code"] == yaan.department_code
    assert message.payload["attributes"] == {"side": "north", "tags": ["light", "pole"]}
    handles = db.execute(select(CitizenHandle.channel, CitizenHandle.handle)).all()
    assert set(handles) == {("open311", "device-7"), ("email", "reporter@example.org"), ("phone", "+8613800138000")}


def test_a_general_service_leaves_the_department_to_triage(client: TestClient, db: Session, yaan: Jurisdiction) -> None:
    ref = created_ref(post_request(client, yaan, service_code="help"))
    message = _message(db, ref)
    assert (message.department_id, message.requested_kind) == (None, "help")


def test_xml_answer_and_echoed_account_id(client: TestClient, yaan: Jurisdiction) -> None:
    response = post_request(client, yaan, fmt="xml", account_id="acct-42")
    assert response.status_code == 201
    root = xml_of(response)
    assert root.tag == "service_requests"
    assert [item.tag for item in root] == ["request"]
    [item] = xml_items(root)
    assert list(item) == ["service_request_id", "service_notice", "account_id"]
    assert item["account_id"] == "acct-42"
    assert item["service_request_id"] and item["service_request_id"] in (item["service_notice"] or "")


def test_api_key_may_also_come_in_the_query_string(client: TestClient, db: Session, yaan: Jurisdiction) -> None:
    response = client.post(
        f"/open311/v2/requests.json?api_key={yaan.api_key}&jurisdiction_id={yaan.id}",
        data={"service_code": "help", "address_string": "雨城区"},
    )
    assert count_messages(db) == 1
    assert _message(db, created_ref(response)).location_label == "雨城区"


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_missing_or_wrong_api_key_is_403_and_stores_nothing(
    client: TestClient, db: Session, yaan: Jurisdiction, other: Jurisdiction, fmt: str
) -> None:
    for api_key in ("", "nope", "wz_" + "x" * 40, other.api_key):
        response = post_request(client, yaan, fmt=fmt, api_key=api_key)
        assert "api_key" in assert_open311_error(response, 403, fmt=fmt)
    assert nothing_stored(db)


def test_a_revoked_api_key_is_403(client: TestClient, db: Session, yaan: Jurisdiction) -> None:
    assert post_request(client, yaan).status_code == 201
    do_revoke_api_token(db, SYSTEM, yaan.token)
    assert "revoked" in assert_open311_error(post_request(client, yaan), 403)
    assert count_messages(db) == 1


def test_any_role_of_the_agency_may_file(client: TestClient, yaan: Jurisdiction) -> None:
    # An Open311 client gets the least powerful token there is; it only ever files requests.
    assert yaan.token.role == Role.VIEWER.value
    assert post_request(client, yaan).status_code == 201


def test_the_other_agency_key_cannot_file_into_this_jurisdiction_but_its_own_works(
    client: TestClient, db: Session, yaan: Jurisdiction, other: Jurisdiction
) -> None:
    _token, raw = create_api_token(db, other.tenant.agency, Role.ADMIN)
    assert_open311_error(post_request(client, yaan, api_key=raw), 403)
    assert post_request(client, other).status_code == 201
    assert count_messages(db) == 1


def test_a_retry_with_the_same_idempotency_key_stores_once(client: TestClient, db: Session, yaan: Jurisdiction) -> None:
    headers = {"Idempotency-Key": "client-77-report-1"}
    first = post_request(client, yaan, headers=headers)
    ref = created_ref(first)
    again = post_request(client, yaan, headers=headers)
    assert again.status_code == 200
    assert again.json() == first.json()
    assert count_messages(db) == 1
    other_key = post_request(client, yaan, headers={"Idempotency-Key": "client-77-report-2"})
    assert created_ref(other_key) != ref
    without_key = [created_ref(post_request(client, yaan)) for _ in range(2)]
    assert len(set(without_key)) == 2
    assert count_messages(db) == 4


def test_idempotency_keys_are_per_api_token(client: TestClient, db: Session, yaan: Jurisdiction) -> None:
    _token, second_key = create_api_token(db, yaan.tenant.agency)
    headers = {"Idempotency-Key": "1"}
    first = created_ref(post_request(client, yaan, headers=headers))
    second = created_ref(post_request(client, yaan, headers=headers, api_key=second_key))
    assert first != second
    assert count_messages(db) == 2


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_service_and_jurisdiction_errors(
    client: TestClient, db: Session, yaan: Jurisdiction, other: Jurisdiction, fmt: str
) -> None:
    assert "service_code is required" in assert_open311_error(
        post_request(client, yaan, fmt, service_code=""), 400, fmt=fmt
    )
    for code in ("rescue", other.department_code):
        assert "No service" in assert_open311_error(post_request(client, yaan, fmt, service_code=code), 404, fmt=fmt)
    assert "jurisdiction_id" in assert_open311_error(post_request(client, yaan, fmt, jurisdiction_id=""), 400, fmt=fmt)
    assert_open311_error(post_request(client, yaan, fmt, jurisdiction_id="nowhere"), 404, fmt=fmt)
    assert nothing_stored(db)


def test_concurrent_retries_with_one_key_store_once(live_server: str, db: Session, yaan: Jurisdiction) -> None:
    form = request_form(yaan)
    headers = {"Idempotency-Key": "burst-1"}

    def post(_: int) -> httpx.Response:
        return httpx.post(f"{live_server}/open311/v2/requests.json", data=form, headers=headers, timeout=30)

    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(post, range(8)))
    assert sorted(r.status_code for r in responses) == [200] * 7 + [201]
    assert len({r.json()[0]["service_request_id"] for r in responses}) == 1
    assert count_messages(db) == 1
