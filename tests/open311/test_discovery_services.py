"""Discovery, the service list and service definitions, in the shapes of GeoReport v2 (protocols.md 2.1–2.4)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session

from tests.factories import create_department
from tests.open311.helpers import Jurisdiction, assert_open311_error, xml_items, xml_of
from wenzheng.agencies.models import Department

SERVICE_FIELDS = ["service_code", "service_name", "description", "metadata", "type", "keywords", "group"]
KINDS = ["help", "consultation", "complaint", "suggestion"]


def test_discovery_json_names_the_endpoint_and_its_formats(client: TestClient) -> None:
    response = client.get("/open311/v2/discovery.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    body = response.json()
    assert set(body) == {"changeset", "contact", "key_service", "endpoints"}
    [endpoint] = body["endpoints"]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"].endswith("/open311/v2")
    assert endpoint["type"] == "production"
    assert endpoint["changeset"] == body["changeset"]
    assert endpoint["formats"] == ["text/xml", "application/json"]


def test_discovery_xml_uses_the_standard_element_names(client: TestClient) -> None:
    root = xml_of(client.get("/open311/v2/discovery.xml"))
    assert root.tag == "discovery"
    assert [child.tag for child in root] == ["changeset", "contact", "key_service", "endpoints"]
    endpoint = root.find("endpoints/endpoint")
    assert endpoint is not None
    assert [child.tag for child in endpoint] == ["specification", "url", "changeset", "type", "formats"]
    assert [f.text for f in endpoint.findall("formats/format")] == ["text/xml", "application/json"]


def test_services_are_the_general_kinds_then_each_department_by_kind(
    client: TestClient, db: Session, yaan: Jurisdiction, other: Jurisdiction
) -> None:
    water = create_department(db, yaan.tenant.agency, name="水务局")
    response = client.get("/open311/v2/services.json", params={"jurisdiction_id": yaan.id})
    assert response.status_code == 200
    services = response.json()
    assert all(list(service) == SERVICE_FIELDS for service in services)
    departments = sorted([yaan.tenant.department, water], key=lambda d: d.name)
    expected_codes = KINDS + [f"{d.id}-{kind}" for d in departments for kind in KINDS]
    assert [s["service_code"] for s in services] == expected_codes
    assert all(s["metadata"] is False and s["type"] == "realtime" for s in services)
    assert {s["group"] for s in services[:4]} == {"综合 General"}
    complaint = next(s for s in services if s["service_code"] == f"{water.id}-complaint")
    assert complaint["group"] == "水务局"
    assert complaint["service_name"] == "水务局 · 投诉 Complaint"
    assert "水务局" in complaint["keywords"].split(",")
    assert str(other.tenant.department.id) not in {s["service_code"].split("-")[0] for s in services}


def test_services_xml_lists_service_elements_with_the_spec_fields(client: TestClient, yaan: Jurisdiction) -> None:
    root = xml_of(client.get("/open311/v2/services.xml", params={"jurisdiction_id": yaan.id}))
    assert root.tag == "services"
    assert {item.tag for item in root} == {"service"}
    items = xml_items(root)
    assert len(items) == 8
    assert all(list(item) == SERVICE_FIELDS for item in items)
    assert items[0] == {
        "service_code": "help",
        "service_name": "求助 Help",
        "description": items[0]["description"],
        "metadata": "false",
        "type": "realtime",
        "keywords": "求助,救援,help",
        "group": "综合 General",
    }


def test_a_renamed_department_keeps_its_service_codes(client: TestClient, db: Session, yaan: Jurisdiction) -> None:
    db.execute(update(Department).where(Department.id == yaan.tenant.department.id).values(name="应急管理局"))
    services = client.get("/open311/v2/services.json", params={"jurisdiction_id": yaan.id}).json()
    renamed = next(s for s in services if s["service_code"] == yaan.department_code)
    assert renamed["service_name"] == "应急管理局 · 投诉 Complaint"


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_service_definition_has_the_code_and_no_attributes(client: TestClient, yaan: Jurisdiction, fmt: str) -> None:
    response = client.get(f"/open311/v2/services/{yaan.department_code}.{fmt}", params={"jurisdiction_id": yaan.id})
    assert response.status_code == 200
    if fmt == "json":
        assert response.json() == {"service_code": yaan.department_code, "attributes": []}
    else:
        root = xml_of(response)
        assert root.tag == "service_definition"
        assert [(child.tag, child.text) for child in root] == [
            ("service_code", yaan.department_code),
            ("attributes", None),
        ]


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_unknown_services_are_404(client: TestClient, yaan: Jurisdiction, other: Jurisdiction, fmt: str) -> None:
    for code in ("rescue", "abc-help", "999999-help", other.department_code):
        response = client.get(f"/open311/v2/services/{code}.{fmt}", params={"jurisdiction_id": yaan.id})
        assert "No service" in assert_open311_error(response, 404, fmt=fmt)


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize("path", ["services", "requests", "services/help", "requests/20130420-000001"])
def test_jurisdiction_id_is_required_and_must_exist(
    client: TestClient, yaan: Jurisdiction, path: str, fmt: str
) -> None:
    url = f"/open311/v2/{path}.{fmt}"
    assert "jurisdiction_id is required" in assert_open311_error(client.get(url), 400, fmt=fmt)
    empty = client.get(url, params={"jurisdiction_id": ""})  # the spec: an empty parameter is an absent one
    assert "jurisdiction_id is required" in assert_open311_error(empty, 400, fmt=fmt)
    unknown = client.get(url, params={"jurisdiction_id": "nowhere"})
    assert "No jurisdiction" in assert_open311_error(unknown, 404, fmt=fmt)


def test_a_format_other_than_xml_or_json_is_404_in_json(client: TestClient, yaan: Jurisdiction) -> None:
    response = client.get("/open311/v2/services.html", params={"jurisdiction_id": yaan.id})
    assert ".xml or .json" in assert_open311_error(response, 404)
