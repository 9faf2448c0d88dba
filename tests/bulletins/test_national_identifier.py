"""National alert identifiers (ZZZZZZDDDUUUXX_YYYYMMDDhhmmss_N, protocols.md 5.3): an agency's issuing-unit code,
set by its admin, gives each alert it sends an identifier the CAP export, the feeds and later references carry."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.bulletins.conftest import red_alert
from tests.bulletins.test_cap import alert, document, text
from tests.factories import Tenant, create_api_token, csrf_of, login
from wenzheng.agencies.actions import do_set_issuing_unit_code
from wenzheng.agencies.models import Agency
from wenzheng.audit.models import AuditEvent
from wenzheng.bulletins import cap
from wenzheng.bulletins.actions import do_create_bulletin, do_send_alert_alone
from wenzheng.bulletins.models import Bulletin
from wenzheng.errors import Forbidden, InvalidInput
from wenzheng.staff.auth import actor_for_user
from wenzheng.staff.roles import Role
from wenzheng.validation import clean_issuing_unit_code

UNIT = "51180005400000"  # 雅安市 (511800), an organisation code, unit 000, extension 00
SHAPE = re.compile(r"^\d{14}_\d{14}_\d$")


def test_the_identifier_is_the_unit_the_beijing_second_and_a_sequence_number() -> None:
    sent = dt.datetime(2026, 7, 1, 16, 30, 5, 900_000, tzinfo=dt.UTC)  # 2026-07-02 00:30:05 in Beijing
    issued: list[str] = []

    def taken(prefix: str) -> int:
        return sum(1 for identifier in issued if identifier.startswith(prefix))

    for _ in range(cap.NATIONAL_PER_SECOND):
        identifier = cap.national_identifier(UNIT, sent, taken)
        assert identifier is not None and len(identifier) == 31 and SHAPE.match(identifier)
        issued.append(identifier)
    assert issued[0] == "51180005400000_20260702003005_0" and issued[-1].endswith("_9")
    assert cap.national_identifier(UNIT, sent, taken) is None  # an eleventh in that second: none left
    assert cap.national_identifier(UNIT, sent + dt.timedelta(seconds=1), taken) == "51180005400000_20260702003006_0"


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("5118000540000", "invalid_unit_code"),
        ("51180005400000x", "invalid_unit_code"),
        ("99990005400000", "unknown_division"),
    ],
)
def test_a_bad_unit_code_is_refused_with_what_it_should_be(value: str, code: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        clean_issuing_unit_code(value)
    assert refused.value.code == code
    assert clean_issuing_unit_code(" 511800-054-000-00 ") == UNIT and clean_issuing_unit_code("") is None


def test_the_cap_document_and_references_carry_the_national_identifier() -> None:
    first = alert(id=7, cap_identifier="51180005400000_20250612083005_0")
    update = alert(id=8, msg_type="Update", supersedes_id=7, cap_identifier="51180005400000_20250612103005_0")
    root = document(update, references=[first])
    assert text(root, "identifier") == "51180005400000_20250612103005_0"
    assert text(root, "references").split(",")[1] == "51180005400000_20250612083005_0"
    assert text(document(alert(id=9)), "identifier") == "wz.example.gov.cn-bulletin-9"  # without: the host form


def test_an_alert_sent_by_an_agency_with_a_unit_code_gets_its_identifier(
    client: TestClient, db: Session, tenant: Tenant
) -> None:
    admin = actor_for_user(db, tenant.admin)
    unset = do_create_bulletin(db, admin, tenant.account, red_alert())
    do_send_alert_alone(db, admin, unset)
    with pytest.raises(Forbidden):
        do_set_issuing_unit_code(db, actor_for_user(db, tenant.operator), db.get_one(Agency, tenant.agency.id), UNIT)
    do_set_issuing_unit_code(db, admin, db.get_one(Agency, tenant.agency.id), UNIT)
    sent = do_create_bulletin(db, admin, tenant.account, red_alert())
    do_send_alert_alone(db, admin, sent)

    db.expire_all()
    assert db.get_one(Bulletin, unset.id).cap_identifier is None  # sent before the code: keeps its identifier
    identifier = db.get_one(Bulletin, sent.id).cap_identifier
    assert identifier is not None and identifier.startswith(f"{UNIT}_") and SHAPE.match(identifier)
    beijing = db.get_one(Bulletin, sent.id).started_at.astimezone(cap.BEIJING)  # type: ignore[union-attr]
    assert identifier[15:29] == f"{beijing:%Y%m%d%H%M%S}"
    served = client.get(f"/c/{tenant.account.slug}/bulletins/{sent.id}/cap.xml")
    assert served.status_code == 200 and f"<identifier>{identifier}</identifier>" in served.text
    event = db.execute(select(AuditEvent).where(AuditEvent.action == "console:agency:issuing_unit_code")).scalar_one()
    assert event.data == {"before": None, "after": UNIT}


def test_an_admin_sets_the_code_in_the_console_and_through_the_api(
    client: TestClient, db: Session, tenant: Tenant
) -> None:
    login(client, tenant.admin.username)
    page = client.get(f"/console/agencies/{tenant.agency.id}")
    assert 'id="issuing-unit"' in page.text
    saved = client.post(
        f"/console/agencies/{tenant.agency.id}/issuing-unit-code",
        data={"csrf_token": csrf_of(client), "code": UNIT},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    db.expire_all()
    assert db.get_one(Agency, tenant.agency.id).issuing_unit_code == UNIT

    _token, secret = create_api_token(db, tenant.agency, Role.ADMIN)
    headers = {"Authorization": f"Bearer {secret}"}
    path = f"/api/v1/agencies/{tenant.agency.id}/issuing-unit-code"
    refused = client.put(path, json={"issuing_unit_code": "12"}, headers=headers)
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "invalid_unit_code"
    cleared = client.put(path, json={"issuing_unit_code": None}, headers=headers)
    assert cleared.status_code == 200 and cleared.json()["issuing_unit_code"] is None


def test_an_admin_gives_the_agency_an_english_name_in_the_console_and_through_the_api(
    client: TestClient, db: Session, tenant: Tenant
) -> None:
    login(client, tenant.admin.username)
    assert 'id="english-name"' in client.get(f"/console/agencies/{tenant.agency.id}").text
    saved = client.post(
        f"/console/agencies/{tenant.agency.id}/english-name",
        data={"csrf_token": csrf_of(client), "name_en": "  Lushan Emergency Management Bureau "},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    db.expire_all()
    assert db.get_one(Agency, tenant.agency.id).name_en == "Lushan Emergency Management Bureau"
    event = db.execute(select(AuditEvent).where(AuditEvent.action == "console:agency:name_en")).scalar_one()
    assert event.data == {"before": None, "after": "Lushan Emergency Management Bureau"}

    _token, secret = create_api_token(db, tenant.agency, Role.ADMIN)
    headers = {"Authorization": f"Bearer {secret}"}
    path = f"/api/v1/agencies/{tenant.agency.id}/english-name"
    too_long = client.put(path, json={"name_en": "x" * 201}, headers=headers)
    assert too_long.status_code == 422
    cleared = client.put(path, json={"name_en": ""}, headers=headers)
    assert cleared.status_code == 200 and cleared.json()["name_en"] is None
    _token, operator_secret = create_api_token(db, tenant.agency, Role.OPERATOR)
    refused = client.put(path, json={"name_en": "X"}, headers={"Authorization": f"Bearer {operator_secret}"})
    assert refused.status_code == 403
