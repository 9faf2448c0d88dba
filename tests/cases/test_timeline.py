"""A case's timeline shows what was done on it and to its messages: answers and views of personal data too."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.cases.helpers import csrf, write_in
from tests.citizen.test_web_page import send
from tests.factories import create_tenant, login
from wenzheng.cases.models import Case


def test_answers_and_personal_data_views_are_on_the_case_timeline(client: TestClient, db: Session) -> None:
    tenant = create_tenant(db, "timeline")
    sent = send(
        client, tenant.account.slug, text="幸福小区停水三天了", form_id="form-timeline-0001", phone="13800138000"
    )
    assert sent.status_code == 303
    first = db.execute(select(Case)).scalar_one()
    other, _ = write_in(client, db, tenant, "请问低保怎么申请？", kind="consultation")
    assert other.id != first.id
    login(client, tenant.admin.username)
    page = client.get(f"/console/messages/{first.first_message_id}").text  # the unmasked phone: a view, audited
    client.post(
        f"/console/messages/{first.first_message_id}/reply",
        data={"csrf_token": csrf(page), "text": "已通知自来水公司。", "channel": "web"},
    )
    timeline = client.get(f"/console/cases/{first.id}").text.split("处理记录")[1]
    assert "worker:case:open" in timeline
    assert "console:message:reply" in timeline and "console:message:view_personal_data" in timeline
    unrelated = client.get(f"/console/cases/{other.id}").text.split("处理记录")[1]
    assert "console:message:reply" not in unrelated and "view_personal_data" not in unrelated
