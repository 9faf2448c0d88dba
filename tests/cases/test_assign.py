"""Round-robin assignment: a department's cases go in turn to its on-duty staff, each up to their capacity,
the most urgent and then the oldest first; cases wait for someone to free up or come on duty."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tests.cases.helpers import LUSHAN, write_in
from tests.factories import SYSTEM, create_department, create_tenant, create_user, login
from wenzheng.audit.models import AuditEvent
from wenzheng.cases.assign import Seat, next_seat
from wenzheng.cases.models import Case
from wenzheng.jobs.queue import enqueue
from wenzheng.routing.actions import do_create_routing_rule
from wenzheng.staff.models import Membership
from wenzheng.staff.roles import Role


def test_the_turn_goes_round_and_skips_whoever_is_full() -> None:
    seats = [Seat(7, 2, 0), Seat(3, 2, 2), Seat(5, 2, 1)]
    assert next_seat(seats, None).user_id == 5  # 3 is full
    assert next_seat(seats, 5).user_id == 7
    assert next_seat(seats, 7).user_id == 5  # wraps round, past the full one
    assert next_seat([Seat(3, 1, 1)], None) is None


def _staff_up(client: TestClient, db: Session, label: str):  # type: ignore[no-untyped-def]
    """A department whose two operators take at most one case each, and a rule routing water cuts to it."""
    tenant = create_tenant(db, label)
    second = create_user(db, tenant.agency, Role.OPERATOR, username=f"{label}-operator2")
    do_create_routing_rule(db, SYSTEM, tenant.department, keywords="停水，坍塌")
    csrf = login(client, tenant.admin.username)
    for user in (tenant.operator, second):
        saved = client.post(
            f"/console/agencies/{tenant.agency.id}/staff/{user.id}/staffing",
            data={"csrf_token": csrf, "department_id": str(tenant.department.id), "capacity": "1"},
            follow_redirects=False,
        )
        assert saved.status_code == 303
    client.cookies.clear()
    return tenant, second


def _go_on_duty(client: TestClient, agency_id: int, username: str, on: bool = True) -> None:
    client.cookies.clear()
    csrf = login(client, username)
    response = client.post(
        f"/console/agencies/{agency_id}/duty", data={"csrf_token": csrf, "on_duty": "1" if on else "0"}
    )
    assert response.status_code == 200  # followed to the duty page


def test_dispatched_cases_go_round_robin_within_capacity_most_urgent_first(client: TestClient, db: Session) -> None:
    tenant, second = _staff_up(client, db, "rr")
    first = tenant.operator
    assert first.id < second.id
    _go_on_duty(client, tenant.agency.id, first.username)
    _go_on_duty(client, tenant.agency.id, second.username)
    one, _ = write_in(client, db, tenant, "幸福小区停水三天了，请尽快处理")
    two, _ = write_in(client, db, tenant, "光明街停水了，老人没水喝")
    three, _ = write_in(client, db, tenant, "城东停水一周了")
    urgent, _ = write_in(client, db, tenant, LUSHAN + "房屋坍塌")
    for case in (one, two, three, urgent):
        db.refresh(case)
        assert case.department_id == tenant.department.id
    assert (one.assignee_id, one.state) == (first.id, "in_progress")
    assert (two.assignee_id, two.state) == (second.id, "in_progress")
    assert (three.assignee_id, three.state) == (None, "dispatched")  # everyone is full
    assert (urgent.assignee_id, urgent.urgency) == (None, "P0")
    # The first operator resolves theirs: the P0 goes to them before the older water cut.
    client.cookies.clear()
    csrf = login(client, first.username)
    client.post(f"/console/cases/{one.id}/move", data={"csrf_token": csrf, "to_state": "resolved"})
    db.refresh(urgent)
    db.refresh(three)
    assert (urgent.assignee_id, three.assignee_id) == (first.id, None)
    # Off duty, the second operator gets nothing when they free up; back on duty, the waiting case is theirs.
    _go_on_duty(client, tenant.agency.id, second.username, on=False)
    csrf = login(client, second.username)
    client.post(f"/console/cases/{two.id}/move", data={"csrf_token": csrf, "to_state": "resolved"})
    db.refresh(three)
    assert three.assignee_id is None
    _go_on_duty(client, tenant.agency.id, second.username)
    db.refresh(three)
    assert (three.assignee_id, three.state) == (second.id, "in_progress")
    audited = db.execute(select(AuditEvent.data).where(AuditEvent.action == "system:case:auto_assign")).scalars()
    assert [d["to"] for d in audited] == [first.id, second.id, first.id, second.id]
    page = client.get(f"/console/agencies/{tenant.agency.id}/duty").text
    assert "在岗" in page and tenant.department.name in page


def test_a_supervisor_dispatches_by_hand_to_whoever_is_next(client: TestClient, db: Session) -> None:
    tenant = create_tenant(db, "hand")
    other = create_department(db, tenant.agency, name="hand 其他部门")
    supervisor = create_user(db, tenant.agency, Role.SUPERVISOR)
    db.execute(
        update(Membership)
        .where(Membership.user_id == tenant.operator.id)
        .values(department_id=other.id, on_duty=True, capacity=5)
    )
    case, _ = write_in(client, db, tenant, "请问低保怎么申请？", kind="consultation")
    assert (case.department_id, case.state) == (None, "received")
    csrf = login(client, tenant.operator.username)
    refused = client.post(
        f"/console/cases/{case.id}/dispatch", data={"csrf_token": csrf, "department_id": str(other.id)}
    )
    assert refused.status_code == 403
    client.cookies.clear()
    csrf = login(client, supervisor.username)
    foreign = create_tenant(db, "hand-b").department
    missing = client.post(
        f"/console/cases/{case.id}/dispatch", data={"csrf_token": csrf, "department_id": str(foreign.id)}
    )
    assert missing.status_code == 404
    done = client.post(
        f"/console/cases/{case.id}/dispatch",
        data={"csrf_token": csrf, "department_id": str(other.id)},
        follow_redirects=False,
    )
    assert done.status_code == 303
    db.refresh(case)
    assert (case.department_id, case.assignee_id, case.state) == (other.id, tenant.operator.id, "in_progress")
    actions = set(db.execute(select(AuditEvent.action).where(AuditEvent.subject_id == case.id)).scalars())
    assert {"console:case:dispatch", "system:case:auto_assign"} <= actions
    # Manual assignment keeps working alongside.
    client.post(f"/console/cases/{case.id}/assign", data={"csrf_token": csrf, "assignee_id": str(supervisor.id)})
    db.refresh(case)
    assert case.assignee_id == supervisor.id


def test_the_periodic_sweep_assigns_what_waits(client: TestClient, db: Session, tx_db: Session) -> None:
    tenant = create_tenant(db, "sweep")
    do_create_routing_rule(db, SYSTEM, tenant.department, keywords="停水")
    case, _ = write_in(client, db, tenant, "幸福小区停水三天了")
    assert case.assignee_id is None and case.state == "dispatched"
    # Someone put on duty behind the actions' back (a script, another tool): the sweep still finds them.
    db.execute(
        update(Membership)
        .where(Membership.user_id == tenant.operator.id)
        .values(department_id=tenant.department.id, on_duty=True)
    )
    enqueue(tx_db, "cases.assign_waiting")
    tx_db.commit()  # jobs run inline in tests, right after this commit
    db.refresh(case)
    assert case.assignee_id == tenant.operator.id


def test_staffing_is_for_admins_and_checked(client: TestClient, db: Session) -> None:
    tenant = create_tenant(db, "staffing")
    url = f"/console/agencies/{tenant.agency.id}/staff/{tenant.operator.id}/staffing"
    csrf = login(client, tenant.operator.username)
    data = {"csrf_token": csrf, "department_id": str(tenant.department.id), "capacity": "3"}
    assert client.post(url, data=data).status_code == 403
    client.cookies.clear()
    csrf = login(client, tenant.admin.username)
    too_many = client.post(url, data={**data, "csrf_token": csrf, "capacity": "9999"})
    assert too_many.status_code == 422 and "invalid_capacity" in too_many.text
    assert client.post(url, data={**data, "csrf_token": csrf}, follow_redirects=False).status_code == 303
    membership = db.execute(select(Membership).where(Membership.user_id == tenant.operator.id)).scalar_one()
    assert (membership.department_id, membership.capacity, membership.on_duty) == (tenant.department.id, 3, False)
    assert db.execute(select(AuditEvent).where(AuditEvent.action == "console:staff:staffing")).scalar_one()
    assert db.execute(select(Case)).first() is None
