"""Bad POSTs: a clear 400 in the Open311 error format (with a more specific code in the body where there is
one), and nothing stored — no message, no citizen."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy.orm import Session

from tests.open311.helpers import (
    Jurisdiction,
    assert_open311_error,
    count_messages,
    nothing_stored,
    post_request,
    request_form,
)
from wenzheng.channels.open311.submit import MAX_BODY_BYTES

FORM_TYPE = "application/x-www-form-urlencoded"


def _post_raw(
    client: TestClient, body: bytes | Iterator[bytes], content_type: str | None, fmt: str = "json"
) -> Response:
    headers = {"content-type": content_type} if content_type else {}
    return client.post(f"/open311/v2/requests.{fmt}", content=body, headers=headers)


def _body(jurisdiction: Jurisdiction, **fields: str) -> bytes:
    return urlencode(request_form(jurisdiction, **fields)).encode()


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize(
    "content_type",
    [None, "application/json", "multipart/form-data; boundary=x", "text/plain", f"{FORM_TYPE}; charset=gbk"],
)
def test_wrong_content_types_are_refused(
    client: TestClient, db: Session, yaan: Jurisdiction, content_type: str | None, fmt: str
) -> None:
    response = _post_raw(client, _body(yaan), content_type, fmt)
    assert_open311_error(response, 400, code=415, fmt=fmt)
    assert nothing_stored(db)


def test_the_form_type_with_a_utf8_charset_is_accepted(client: TestClient, db: Session, yaan: Jurisdiction) -> None:
    response = _post_raw(client, _body(yaan), f"{FORM_TYPE}; charset=UTF-8")
    assert response.status_code == 201, response.text
    assert count_messages(db) == 1


@pytest.mark.parametrize("chunked", [False, True])
def test_oversized_bodies_are_refused(client: TestClient, db: Session, yaan: Jurisdiction, chunked: bool) -> None:
    body = _body(yaan, description="长" * (MAX_BODY_BYTES // 9 + 1))
    assert len(body) > MAX_BODY_BYTES
    content: bytes | Iterator[bytes] = (
        iter([body[i : i + 4096] for i in range(0, len(body), 4096)]) if chunked else body
    )
    response = _post_raw(client, content, FORM_TYPE, "xml")
    assert "larger than" in assert_open311_error(response, 400, code=413, fmt="xml")
    assert nothing_stored(db)


@pytest.mark.parametrize(
    "body",
    [b"description=\xff\xfe&service_code=help", b"description=%FF%FE&service_code=help", b"service_code=%E9%9B"],
    ids=["raw-bytes", "percent-escaped", "truncated-sequence"],
)
def test_invalid_utf8_is_refused(client: TestClient, db: Session, yaan: Jurisdiction, body: bytes) -> None:
    full = _body(yaan) + b"&" + body
    assert "UTF-8" in assert_open311_error(_post_raw(client, full, FORM_TYPE), 400)
    assert nothing_stored(db)


@pytest.mark.parametrize(
    ("fields", "expected", "code"),
    [
        ({"lat": "90.0001"}, "lat must be between -90 and 90", 400),
        ({"lat": "-91"}, "lat must be between -90 and 90", 400),
        ({"long": "180.5"}, "long must be between -180 and 180", 400),
        ({"long": "-181"}, "long must be between -180 and 180", 400),
        ({"lat": "north"}, "lat is not a number", 400),
        ({"lat": "nan"}, "not a finite number", 400),
        ({"long": "inf"}, "not a finite number", 400),
        ({"long": ""}, "lat and long go together", 400),
        ({"lat": "", "long": ""}, "Give a location", 400),
        ({"description": "长" * 4001}, "the most allowed is 4000", 422),
        ({"description": "bell\x07"}, "control characters", 422),
        ({"email": "not-an-address"}, "email is not an e-mail address", 400),
        ({"phone": "call me"}, "not a phone number", 422),
        ({"media_url": "javascript:alert(1)"}, "media_url must be an http or https URL", 400),
        ({"media_url": "ftp://example.org/a.jpg"}, "media_url must be an http or https URL", 400),
    ],
)
def test_invalid_fields_are_refused(
    client: TestClient, db: Session, yaan: Jurisdiction, fields: dict[str, str], expected: str, code: int
) -> None:
    response = client.post("/open311/v2/requests.json", data=request_form(yaan, **fields))
    assert expected in assert_open311_error(response, 400, code=code)
    assert nothing_stored(db)


def test_the_extremes_of_the_coordinates_and_description_are_accepted(
    client: TestClient, db: Session, yaan: Jurisdiction
) -> None:
    for lat, long in (("90", "-180"), ("-90", "180")):
        assert post_request(client, yaan, lat=lat, long=long, description="长" * 4000).status_code == 201
    assert count_messages(db) == 2


def test_a_field_given_twice_is_refused(client: TestClient, db: Session, yaan: Jurisdiction) -> None:
    body = _body(yaan) + b"&service_code=help"
    assert "service_code is given twice" in assert_open311_error(_post_raw(client, body, FORM_TYPE), 400)
    assert nothing_stored(db)


def test_too_many_fields_are_refused(client: TestClient, db: Session, yaan: Jurisdiction) -> None:
    body = _body(yaan) + b"".join(b"&attribute[a%d]=x" % i for i in range(200))
    assert "more than 200 fields" in assert_open311_error(_post_raw(client, body, FORM_TYPE), 400)
    assert nothing_stored(db)


@pytest.mark.parametrize("key", ["has space", "x" * 129, "中文"])
def test_a_malformed_idempotency_key_is_refused(client: TestClient, db: Session, yaan: Jurisdiction, key: str) -> None:
    response = client.post(
        "/open311/v2/requests.json", data=request_form(yaan), headers={"Idempotency-Key": key.encode()}
    )
    assert "Idempotency-Key" in assert_open311_error(response, 400)
    assert nothing_stored(db)
