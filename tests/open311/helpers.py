"""Small helpers for the Open311 tests: a tenant with an API key, posting a request, reading XML."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any

from defusedxml.ElementTree import fromstring
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.factories import Tenant, create_api_token, create_tenant
from wenzheng.citizens.models import Citizen
from wenzheng.messages.models import Message
from wenzheng.staff.models import ApiToken
from wenzheng.staff.roles import Role

XML_DECLARATION = '<?xml version="1.0" encoding="utf-8"?>'


@dataclass
class Jurisdiction:
    tenant: Tenant
    token: ApiToken
    api_key: str

    @property
    def id(self) -> str:
        return self.tenant.account.slug

    @property
    def department_code(self) -> str:
        return f"{self.tenant.department.id}-complaint"


def make_jurisdiction(db: Session, label: str) -> Jurisdiction:
    tenant = create_tenant(db, label)
    token, raw = create_api_token(db, tenant.agency, Role.VIEWER)
    return Jurisdiction(tenant, token, raw)


def request_form(jurisdiction: Jurisdiction, **fields: str) -> dict[str, str]:
    """A valid POST form for the jurisdiction; keyword arguments override or add fields ('' drops one)."""
    form = {
        "jurisdiction_id": jurisdiction.id,
        "api_key": jurisdiction.api_key,
        "service_code": jurisdiction.department_code,
        "lat": "29.98",
        "long": "103.00",
        "description": "姚桥镇路口的红绿灯不亮了。",
    }
    form.update(fields)
    return {name: value for name, value in form.items() if value != ""}


def post_request(
    client: TestClient,
    jurisdiction: Jurisdiction,
    fmt: str = "json",
    headers: dict[str, str] | None = None,
    **fields: str,
) -> Response:
    return client.post(f"/open311/v2/requests.{fmt}", data=request_form(jurisdiction, **fields), headers=headers)


def created_ref(response: Response) -> str:
    assert response.status_code == 201, response.text
    return str(response.json()[0]["service_request_id"])


def xml_of(response: Response) -> ET.Element:
    """The parsed body of an XML answer, after checking the declaration and the content type."""
    assert response.headers["content-type"] == "text/xml; charset=utf-8"
    assert response.text.startswith(XML_DECLARATION)
    return fromstring(response.content)


def xml_items(root: ET.Element) -> list[dict[str, Any]]:
    """A list document's items as dicts of child element name → text."""
    return [{child.tag: child.text for child in item} for item in root]


def assert_open311_error(response: Response, status: int, code: int | None = None, fmt: str = "json") -> str:
    """The response is the spec's error list with this status; returns the description."""
    assert response.status_code == status, response.text
    if fmt == "xml":
        root = xml_of(response)
        assert root.tag == "errors" and [e.tag for e in root] == ["error"]
        assert [child.tag for child in root[0]] == ["code", "description"]
        assert root[0].findtext("code") == str(code or status)
        return root[0].findtext("description") or ""
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    body = response.json()
    assert isinstance(body, list) and len(body) == 1 and set(body[0]) == {"code", "description"}
    assert body[0]["code"] == (code or status)
    assert body[0]["description"]
    return str(body[0]["description"])


def count_messages(db: Session) -> int:
    return int(db.execute(select(func.count()).select_from(Message)).scalar_one())


def nothing_stored(db: Session) -> bool:
    citizens = db.execute(select(func.count()).select_from(Citizen)).scalar_one()
    return count_messages(db) == 0 and citizens == 0
