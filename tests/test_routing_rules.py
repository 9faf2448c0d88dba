"""An agency's routing rules, managed in the console, decide the department triage suggests."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories import create_department, login
from tests.wechat.callback_helpers import connect, send_text
from wenzheng.assessments.models import Assessment
from wenzheng.audit.models import AuditEvent
from wenzheng.cases.models import Case


def test_a_matching_rule_routes_the_case_to_its_department(client: TestClient, db: Session) -> None:
    connected = connect(db, mode="plaintext")
    tenant = connected.tenant
    roads = create_department(db, tenant.agency, name="交通抢修队")
    csrf = login(client, tenant.admin.username)
    created = client.post(
        f"/console/agencies/{tenant.agency.id}/routing-rules",
        data={
            "csrf_token": csrf,
            "department_id": str(roads.id),
            "name": "道路",
            "keywords": "塌方，道路",
            "priority": "10",
        },
        follow_redirects=False,
    )
    assert created.status_code == 303
    page = client.get(f"/console/agencies/{tenant.agency.id}").text
    assert "交通抢修队" in page and "塌方" in page
    send_text(client, connected, "宝兴县通往灵关镇的道路塌方，车辆无法通行", openid="o_road")
    assessment = db.execute(select(Assessment)).scalar_one()
    assert (assessment.department_id, assessment.department_confidence) == (roads.id, 1.0)
    assert db.execute(select(Case.department_id)).scalar_one() == roads.id
    assert db.execute(select(AuditEvent).where(AuditEvent.action == "console:routing_rule:create")).scalar_one()


def test_an_empty_rule_is_refused(client: TestClient, db: Session) -> None:
    connected = connect(db, mode="plaintext")
    tenant = connected.tenant
    csrf = login(client, tenant.admin.username)
    refused = client.post(
        f"/console/agencies/{tenant.agency.id}/routing-rules",
        data={"csrf_token": csrf, "department_id": str(tenant.department.id)},
    )
    assert refused.status_code == 422 and "empty_rule" in refused.text
