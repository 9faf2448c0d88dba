"""The queue's channel, time and assignee filters, and its bulk assign, close and merge."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.cases.helpers import csrf, write_in
from tests.factories import SYSTEM, create_tenant, create_user, login
from wenzheng.audit.actions import record_audit
from wenzheng.cases.access import QueueFilter, queue_counts, queue_of_agency
from wenzheng.cases.models import Case
from wenzheng.staff.roles import Role

TEXTS = (
    "龙门乡青龙场村道路塌方，车辆无法通行",
    "龙门乡中心校安置点缺饮用水和帐篷，约40人",
    "请问龙门乡的捐赠物资在哪里登记？",
)


def test_filters_by_channel_time_and_assignee(client: TestClient, db: Session) -> None:
    tenant = create_tenant(db, "qf")
    cases = [write_in(client, db, tenant, text)[0] for text in TEXTS]
    agency = tenant.agency.id
    assert len(queue_of_agency(db, SYSTEM, agency, QueueFilter(channel="web"))) == 3
    assert queue_of_agency(db, SYSTEM, agency, QueueFilter(channel="wechat")) == []

    old = db.get_one(Case, cases[0].id)
    old.created_at = old.created_at - dt.timedelta(hours=30)
    record_audit(db, SYSTEM, "test:case:age", agency_id=agency, subject_type="case", subject_id=old.id)
    db.commit()
    recent = {c.id for c in queue_of_agency(db, SYSTEM, agency, QueueFilter(hours=24))}
    assert recent == {cases[1].id, cases[2].id}

    taken = db.get_one(Case, cases[2].id)
    taken.assignee_id = tenant.operator.id
    record_audit(db, SYSTEM, "test:case:take", agency_id=agency, subject_type="case", subject_id=taken.id)
    db.commit()
    mine = queue_of_agency(db, SYSTEM, agency, QueueFilter(assignee_id=tenant.operator.id))
    assert [c.id for c in mine] == [cases[2].id]

    lushan = write_in(client, db, tenant, "芦山县宝盛乡中坝村房屋倒塌，有人被困")[0]
    in_lushan = queue_of_agency(db, SYSTEM, agency, QueueFilter(region="芦山县"))
    assert [c.id for c in in_lushan] == [lushan.id]
    assert queue_of_agency(db, SYSTEM, agency, QueueFilter(region="宝兴县")) == []
    assert sum(v for k, v in queue_counts(db, SYSTEM, agency, QueueFilter(region="芦山县")).items()) == 1

    login(client, tenant.operator.username)
    page = client.get(f"/console/agencies/{agency}/cases?channel=web&hours=24")
    assert page.status_code == 200 and cases[1].ref in page.text and cases[0].ref not in page.text


def test_bulk_assign_close_and_merge_each_audited_and_skipping_what_cannot(client: TestClient, db: Session) -> None:
    tenant = create_tenant(db, "qb")
    supervisor = create_user(db, tenant.agency, Role.SUPERVISOR, username="qb-supervisor")
    cases = [write_in(client, db, tenant, text)[0] for text in TEXTS]
    login(client, supervisor.username)
    queue = f"/console/agencies/{tenant.agency.id}/cases"
    token = csrf(client.get(queue).text)
    ids = [c.id for c in cases]

    assigned = client.post(
        f"{queue}/bulk",
        data={"csrf_token": token, "action": "assign", "case_ids": ids[:2], "assignee_id": tenant.operator.id},
        follow_redirects=False,
    )
    assert assigned.status_code == 303 and "done=2" in assigned.headers["location"]
    db.expire_all()
    assert [db.get_one(Case, i).assignee_id for i in ids[:2]] == [tenant.operator.id] * 2

    merged = client.post(
        f"{queue}/bulk", data={"csrf_token": token, "action": "merge", "case_ids": ids[1:]}, follow_redirects=False
    )
    assert "done=1" in merged.headers["location"]
    db.expire_all()
    into = {db.get_one(Case, i).merged_into_id for i in ids[1:]} - {None}
    assert len(into) == 1 and into <= set(ids[1:])

    closed = client.post(
        f"{queue}/bulk", data={"csrf_token": token, "action": "close", "case_ids": ids}, follow_redirects=True
    )
    assert closed.status_code == 200
    db.expire_all()
    states = {i: db.get_one(Case, i).state for i in ids}
    assert states[ids[0]] == "resolved"
    assert "件完成" in closed.text or "done" in closed.text

    other = create_tenant(db, "qb-other")
    foreign = client.post(
        f"/console/agencies/{other.agency.id}/cases/bulk",
        data={"csrf_token": token, "action": "close", "case_ids": ids},
        follow_redirects=False,
    )
    assert foreign.status_code == 404
    audit = db.execute(select(Case.id).where(Case.id.in_(ids))).all()
    assert len(audit) == 3
