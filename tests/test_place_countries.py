"""An agency names the countries it works in; English place names in its messages are then pinned on the map."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories import create_api_token, login
from tests.wechat.callback_helpers import connect, send_text
from wenzheng.agencies.actions import do_set_place_countries
from wenzheng.agencies.models import Agency
from wenzheng.assessments.core import warm_towns
from wenzheng.assessments.models import Assessment
from wenzheng.audit.models import AuditEvent
from wenzheng.cases.geo import MapFilter, located_cases_of_agency
from wenzheng.db import utcnow
from wenzheng.staff.actor import Actor
from wenzheng.staff.roles import Role
from wenzheng.triage import world
from wenzheng.triage.world import load_towns

PLEA = "We are trapped under the school in Delmas 33, four children, please send help"


def test_an_admin_sets_the_countries_and_english_places_reach_the_map(client: TestClient, db: Session) -> None:
    connected = connect(db, mode="plaintext")
    tenant = connected.tenant
    csrf = login(client, tenant.admin.username)
    assert "英文地名" in client.get(f"/console/agencies/{tenant.agency.id}").text
    saved = client.post(
        f"/console/agencies/{tenant.agency.id}/place-countries",
        data={"csrf_token": csrf, "countries": "ht, do"},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    page_text = client.get(f"/console/agencies/{tenant.agency.id}").text
    assert "HT · Haiti" in page_text and "DO · Dominican Republic" in page_text
    db.expire_all()
    assert db.get(Agency, tenant.agency.id).place_countries == ["HT", "DO"]  # type: ignore[union-attr]
    event = db.execute(select(AuditEvent).where(AuditEvent.action == "console:agency:place_countries")).scalar_one()
    assert event.data == {"before": [], "after": ["HT", "DO"]}

    send_text(client, connected, PLEA, openid="o_delmas")
    assessment = db.execute(select(Assessment)).scalar_one()
    delmas = load_towns(["HT"]).resolve("Delmas")
    assert delmas is not None
    assert [(p["text"], p["lat"], p["lon"]) for p in assessment.places] == [("Delmas 33", delmas.lat, delmas.lon)]
    located = located_cases_of_agency(db, Actor.system(), tenant.agency.id, MapFilter(intents=()), now=utcnow())
    (point,) = located.points
    assert (point.position.lat, point.position.lon, point.position.exact) == (
        pytest.approx(delmas.lat),
        pytest.approx(delmas.lon),
        False,
    )


def test_without_countries_an_english_place_keeps_its_text_and_no_pin(client: TestClient, db: Session) -> None:
    connected = connect(db, mode="plaintext")
    send_text(client, connected, PLEA, openid="o_plain")
    assessment = db.execute(select(Assessment)).scalar_one()
    assert [(p["text"], p["lat"]) for p in assessment.places] == [("Delmas 33", None)]
    located = located_cases_of_agency(
        db, Actor.system(), connected.tenant.agency.id, MapFilter(intents=()), now=utcnow()
    )
    assert located.points == [] and located.without_position == 1


def test_bad_codes_are_refused_and_only_admins_may_set_them(client: TestClient, db: Session) -> None:
    tenant = connect(db, mode="plaintext").tenant
    csrf = login(client, tenant.admin.username)
    url = f"/console/agencies/{tenant.agency.id}/place-countries"
    refused = client.post(url, data={"csrf_token": csrf, "countries": "HT, Haiti"})
    assert refused.status_code == 422 and "invalid_country" in refused.text and "HAITI" in refused.text
    flood = client.post(url, data={"csrf_token": csrf, "countries": "Q" * 5000 + " " + " ".join(["ZZ"] * 40)})
    assert flood.status_code == 422 and "invalid_country" in flood.text and "Q" * 13 not in flood.text  # not echoed
    many = ", ".join(["HT", "DO", "CN", "US", "GB", "FR", "DE", "JP", "KR", "IN", "BR"])
    assert "too_many_countries" in client.post(url, data={"csrf_token": csrf, "countries": many}).text
    db.expire_all()
    assert db.get(Agency, tenant.agency.id).place_countries == []  # type: ignore[union-attr]
    client.post("/logout", data={"csrf_token": csrf})
    csrf = login(client, tenant.operator.username)
    denied = client.post(url, data={"csrf_token": csrf, "countries": "HT"})
    assert denied.status_code in (403, 404)
    db.expire_all()
    assert db.get(Agency, tenant.agency.id).place_countries == []  # type: ignore[union-attr]


def test_the_api_reads_and_sets_the_countries(client: TestClient, db: Session) -> None:
    tenant = connect(db, mode="plaintext").tenant
    _token, admin_secret = create_api_token(db, tenant.agency, Role.ADMIN)
    _token, viewer_secret = create_api_token(db, tenant.agency, Role.VIEWER)
    url = f"/api/v1/agencies/{tenant.agency.id}"
    as_admin = {"Authorization": f"Bearer {admin_secret}"}
    assert client.get(url, headers=as_admin).json()["place_countries"] == []
    put = client.put(f"{url}/place-countries", json={"place_countries": ["ht"]}, headers=as_admin)
    assert put.status_code == 200 and put.json()["place_countries"] == ["HT"]
    bad = client.put(f"{url}/place-countries", json={"place_countries": ["ZZ"]}, headers=as_admin)
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_country"
    as_viewer = {"Authorization": f"Bearer {viewer_secret}"}
    denied = client.put(f"{url}/place-countries", json={"place_countries": []}, headers=as_viewer)
    assert denied.status_code in (403, 404)
    assert client.get(url, headers=as_admin).json()["place_countries"] == ["HT"]


def test_a_start_indexes_the_towns_every_agency_asked_for(db: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    tenant = connect(db, mode="plaintext").tenant
    do_set_place_countries(db, Actor.system(), tenant.agency, ["HT", "DO"])
    monkeypatch.setattr(world, "_by_country", {})
    world._index_of.cache_clear()
    assert warm_towns() == 2
    assert set(world._by_country) == {"DO", "HT"}
    assert world._index_of.cache_info().currsize == 1  # the agency's one combination, indexed
    world._index_of.cache_clear()
