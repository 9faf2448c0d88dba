"""Agencies, departments, accounts and staff through the JSON API and the console, with their audit trail."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.factories import create_tenant, create_user, login
from wenzheng.accounts.models import AccountNameChange
from wenzheng.audit.models import AuditEvent
from wenzheng.staff.models import Membership
from wenzheng.staff.roles import Role


def _count(db: Session, model: type) -> int:
    return db.execute(select(func.count()).select_from(model)).scalar_one()


def test_admin_creates_a_department_and_it_is_audited(client: TestClient, db: Session) -> None:
    tenant = create_tenant(db, "t")
    csrf = login(client, tenant.admin.username)
    response = client.post(
        f"/api/v1/agencies/{tenant.agency.id}/departments",
        json={"name": "救援协调科", "description": "协调救援力量"},
        headers={"X-CSRF-Token": csrf},
    )
    assert response.status_code == 201
    body = response.json()
    assert body["name"] == "救援协调科"
    event = db.execute(
        select(AuditEvent)
        .where(AuditEvent.action == "console:department:create")
        .where(AuditEvent.subject_id == body["id"])
    ).scalar_one()
    assert event.actor_user_id == tenant.admin.id and event.agency_id == tenant.agency.id


def test_rename_keeps_the_name_history(client: TestClient, db: Session) -> None:
    tenant = create_tenant(db, "t")
    csrf = login(client, tenant.admin.username)
    url = f"/api/v1/accounts/{tenant.account.id}"
    assert client.patch(url, json={"name": "芦山地震救助"}, headers={"X-CSRF-Token": csrf}).status_code == 200
    history = client.get(f"{url}/name-history").json()
    assert [(h["old_name"], h["new_name"]) for h in history] == [("t 公众号", "芦山地震救助")]
    page = client.get(f"/console/accounts/{tenant.account.id}")
    assert "芦山地震救助" in page.text and "t 公众号" in page.text


def test_only_a_platform_admin_verifies_an_account(client: TestClient, db: Session) -> None:
    tenant = create_tenant(db, "t")
    csrf = login(client, tenant.admin.username)
    url = f"/api/v1/accounts/{tenant.account.id}/verification"
    refused = client.put(url, json={"verified": True}, headers={"X-CSRF-Token": csrf})
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "platform_admin_required"
    admin = create_user(db, platform_admin=True, username="root-admin")
    client.cookies.clear()
    csrf = login(client, admin.username)
    done = client.put(url, json={"verified": True}, headers={"X-CSRF-Token": csrf})
    assert done.status_code == 200 and done.json()["verified"] is True


def test_malformed_json_gets_a_code(client: TestClient, db: Session) -> None:
    tenant = create_tenant(db, "t")
    csrf = login(client, tenant.admin.username)
    response = client.post(
        f"/api/v1/agencies/{tenant.agency.id}/departments",
        content=b'{"name": "x",}',
        headers={"X-CSRF-Token": csrf, "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_json"


def test_over_long_fields_are_refused_and_nothing_is_written(client: TestClient, db: Session) -> None:
    tenant = create_tenant(db, "t")
    csrf = login(client, tenant.admin.username)
    before = (_count(db, AuditEvent), _count(db, AccountNameChange))
    api = client.patch(
        f"/api/v1/accounts/{tenant.account.id}", json={"name": "长" * 101}, headers={"X-CSRF-Token": csrf}
    )
    assert api.status_code == 422
    assert api.json()["error"]["code"] == "invalid_input"
    console = client.post(
        f"/console/accounts/{tenant.account.id}/rename", data={"name": "长" * 101, "csrf_token": csrf}
    )
    assert console.status_code == 422
    assert "field_too_long" in console.text
    assert (_count(db, AuditEvent), _count(db, AccountNameChange)) == before


def test_duplicate_names_conflict(client: TestClient, db: Session) -> None:
    tenant = create_tenant(db, "t")
    csrf = login(client, tenant.admin.username)
    response = client.post(
        f"/api/v1/agencies/{tenant.agency.id}/departments",
        json={"name": "t 部门"},
        headers={"X-CSRF-Token": csrf},
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "department_exists"


def test_operator_cannot_manage_staff(client: TestClient, db: Session) -> None:
    tenant = create_tenant(db, "t")
    csrf = login(client, tenant.operator.username)
    page = client.get(f"/console/agencies/{tenant.agency.id}/staff")
    assert page.status_code == 403
    added = client.post(
        f"/console/agencies/{tenant.agency.id}/staff",
        data={"csrf_token": csrf, "username": "newbie", "password": "long-enough-pw", "role": "admin"},
    )
    assert added.status_code == 403
    assert _count(db, Membership) == 2


def test_admin_adds_changes_and_removes_staff(client: TestClient, db: Session) -> None:
    tenant = create_tenant(db, "t")
    csrf = login(client, tenant.admin.username)
    base = f"/console/agencies/{tenant.agency.id}/staff"
    added = client.post(
        base,
        data={
            "csrf_token": csrf,
            "username": "newbie",
            "display_name": "新人",
            "password": "long-enough-pw",
            "role": "viewer",
        },
        follow_redirects=False,
    )
    assert added.status_code == 303
    staff = {s["username"]: s for s in client.get(f"/api/v1/agencies/{tenant.agency.id}/staff").json()}
    assert staff["newbie"]["role"] == "viewer"
    user_id = staff["newbie"]["user_id"]
    client.post(f"{base}/{user_id}/role", data={"csrf_token": csrf, "role": "supervisor"})
    assert db.execute(select(Membership.role).where(Membership.user_id == user_id)).scalar_one() == "supervisor"
    client.post(f"{base}/{user_id}/remove", data={"csrf_token": csrf})
    assert db.execute(select(Membership).where(Membership.user_id == user_id)).first() is None
    actions = set(db.execute(select(AuditEvent.action)).scalars())
    assert {"console:staff:add", "console:staff:role", "console:staff:remove"} <= actions


def test_the_last_admin_cannot_be_demoted(client: TestClient, db: Session) -> None:
    tenant = create_tenant(db, "t")
    csrf = login(client, tenant.admin.username)
    response = client.post(
        f"/console/agencies/{tenant.agency.id}/staff/{tenant.admin.id}/role",
        data={"csrf_token": csrf, "role": "operator"},
    )
    assert response.status_code == 409
    assert "last_admin" in response.text


def test_short_password_for_a_new_user_is_refused(client: TestClient, db: Session) -> None:
    tenant = create_tenant(db, "t")
    csrf = login(client, tenant.admin.username)
    response = client.post(
        f"/console/agencies/{tenant.agency.id}/staff",
        data={"csrf_token": csrf, "username": "shorty", "password": "short", "role": "viewer"},
    )
    assert response.status_code == 422
    assert "password_too_short" in response.text
    assert _count(db, Membership) == 2


def test_unknown_ids_are_404_with_a_code(client: TestClient, db: Session) -> None:
    tenant = create_tenant(db, "t")
    login(client, tenant.admin.username)
    response = client.get("/api/v1/accounts/999999")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert client.get("/console/accounts/999999").status_code == 404


def test_oversized_bodies_are_refused(client: TestClient, db: Session) -> None:
    tenant = create_tenant(db, "t")
    csrf = login(client, tenant.admin.username)
    response = client.post(
        f"/api/v1/agencies/{tenant.agency.id}/departments",
        content=b'{"name": "' + b"x" * 2_000_000 + b'"}',
        headers={"X-CSRF-Token": csrf, "Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


def test_platform_admin_creates_an_agency(client: TestClient, db: Session) -> None:
    admin = create_user(db, platform_admin=True, username="root-admin")
    csrf = login(client, admin.username)
    created = client.post(
        "/api/v1/agencies", json={"slug": "new-agency", "name": "新机构"}, headers={"X-CSRF-Token": csrf}
    )
    assert created.status_code == 201
    bad = client.post("/api/v1/agencies", json={"slug": "Bad Slug!", "name": "x"}, headers={"X-CSRF-Token": csrf})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_slug"
    zone = client.post(
        "/api/v1/agencies",
        json={"slug": "z", "name": "x", "timezone": "Mars/Base"},
        headers={"X-CSRF-Token": csrf},
    )
    assert zone.json()["error"]["code"] == "invalid_timezone"


def test_viewer_sees_but_cannot_write(client: TestClient, db: Session) -> None:
    tenant = create_tenant(db, "t")
    viewer = create_user(db, tenant.agency, Role.VIEWER)
    csrf = login(client, viewer.username)
    assert client.get(f"/console/agencies/{tenant.agency.id}").status_code == 200
    refused = client.patch(f"/api/v1/accounts/{tenant.account.id}", json={"name": "x"}, headers={"X-CSRF-Token": csrf})
    assert refused.status_code == 403


def test_admins_read_the_audit_log_and_operators_cannot(client: TestClient, db: Session) -> None:
    tenant = create_tenant(db, "t")
    csrf = login(client, tenant.admin.username)
    client.post(f"/console/accounts/{tenant.account.id}/rename", data={"name": "新名字", "csrf_token": csrf})
    page = client.get(f"/console/agencies/{tenant.agency.id}/audit")
    assert page.status_code == 200
    assert "console:account:rename" in page.text and "新名字" in page.text
    client.cookies.clear()
    login(client, tenant.operator.username)
    assert client.get(f"/console/agencies/{tenant.agency.id}/audit").status_code == 403


def test_admin_configures_the_account_channels(client: TestClient, db: Session) -> None:
    tenant = create_tenant(db, "t")
    csrf = login(client, tenant.admin.username)
    base = f"/console/accounts/{tenant.account.id}"
    client.post(f"{base}/channels/sms", data={"csrf_token": csrf, "number": "1065907777"})
    client.post(f"{base}/channels/email", data={"csrf_token": csrf, "address": "Help@Yaan.Example"})
    client.post(
        f"{base}/channels/wechat",
        data={
            "csrf_token": csrf,
            "app_id": "wx0123456789abcdef",
            "token": "tok3n",
            "aes_key": "A" * 43,
            "encryption_mode": "safe",
        },
    )
    client.post(
        f"{base}/auto-replies",
        data={"csrf_token": csrf, "match_type": "contains", "pattern": "捐款", "reply_text": "请认准官方渠道"},
    )
    page = client.get(f"{base}/channels")
    assert "1065907777" in page.text and "tok3n" in page.text and "请认准官方渠道" in page.text
    assert "help@yaan.example" in page.text
    assert f"/wechat/{tenant.account.slug}" in page.text
    bad = client.post(f"{base}/channels/wechat", data={"csrf_token": csrf, "app_id": "nope", "token": "t"})
    assert bad.status_code == 422 and "invalid_app_id" in bad.text
    client.cookies.clear()
    login(client, tenant.operator.username)
    assert client.get(f"{base}/channels").status_code == 403
