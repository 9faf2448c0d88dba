"""Logging in and out, sessions, CSRF, rate limits and API tokens — through HTTP, as a browser or client would."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from tests.factories import PASSWORD, create_api_token, create_tenant, create_user, login
from wenzheng.audit.models import AuditEvent
from wenzheng.db import utcnow
from wenzheng.staff.models import ApiToken, StaffSession, User
from wenzheng.staff.roles import Role


def _post_login(client: TestClient, username: str, password: str) -> object:
    client.get("/login")
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": client.cookies.get("wz_login_csrf")},
        follow_redirects=False,
    )


def test_login_opens_a_session_and_lands_on_the_agency(client: TestClient, db: Session) -> None:
    tenant = create_tenant(db, "t")
    response = client.get("/login")
    assert "登录" in response.text
    login(client, tenant.operator.username)
    home = client.get("/console")
    assert home.status_code == 200
    assert tenant.agency.name in home.text
    assert tenant.account.name in home.text
    stored = db.execute(select(StaffSession)).scalar_one()
    assert client.cookies.get("wz_session") not in stored.token_hash  # only the hash is at rest
    assert db.execute(select(AuditEvent).where(AuditEvent.action == "console:session:login")).scalar_one()


def test_wrong_password_is_refused_with_a_code(client: TestClient, db: Session) -> None:
    user = create_user(db)
    response = _post_login(client, user.username, "not-the-password")
    assert response.status_code == 401  # type: ignore[attr-defined]
    assert 'data-code="invalid_credentials"' in response.text  # type: ignore[attr-defined]
    assert "wz_session" not in client.cookies


def test_login_without_its_csrf_token_is_refused(client: TestClient, db: Session) -> None:
    user = create_user(db)
    client.get("/login")
    response = client.post(
        "/login",
        data={"username": user.username, "password": PASSWORD},
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "csrf_failed"


def test_login_is_rate_limited_per_user(client: TestClient, db: Session) -> None:
    user = create_user(db)
    for _ in range(5):
        assert _post_login(client, user.username, "wrong-password-1").status_code == 401  # type: ignore[attr-defined]
    response = _post_login(client, user.username, PASSWORD)  # even the right password now waits
    assert response.status_code == 429  # type: ignore[attr-defined]
    assert response.headers["retry-after"] == "900"  # type: ignore[attr-defined]


def test_login_is_rate_limited_per_address(client: TestClient, db: Session) -> None:
    for n in range(20):
        assert _post_login(client, f"nobody{n}", "wrong-password-1").status_code == 401  # type: ignore[attr-defined]
    other = create_user(db)
    assert _post_login(client, other.username, PASSWORD).status_code == 429  # type: ignore[attr-defined]


def test_expired_session_sends_the_console_to_login_and_the_api_a_code(client: TestClient, db: Session) -> None:
    tenant = create_tenant(db, "t")
    login(client, tenant.operator.username)
    db.execute(update(StaffSession).values(expires_at=utcnow() - dt.timedelta(minutes=1)))
    db.commit()
    page = client.get(f"/console/agencies/{tenant.agency.id}", follow_redirects=False)
    assert page.status_code == 303
    assert "reason=session_expired" in page.headers["location"]
    login(client, tenant.operator.username)
    db.execute(update(StaffSession).values(expires_at=utcnow() - dt.timedelta(minutes=1)))
    db.commit()
    api = client.get("/api/v1/me")
    assert api.status_code == 401
    assert api.json()["error"]["code"] == "session_expired"


def test_console_write_without_csrf_is_refused_and_changes_nothing(client: TestClient, db: Session) -> None:
    tenant = create_tenant(db, "t")
    login(client, tenant.admin.username)
    response = client.post(f"/console/accounts/{tenant.account.id}/rename", data={"name": "别的名字"})
    assert response.status_code == 403
    assert "csrf_failed" in response.text
    db.refresh(tenant.account)
    assert tenant.account.name == "t 公众号"


def test_logout_ends_the_session(client: TestClient, db: Session) -> None:
    tenant = create_tenant(db, "t")
    csrf = login(client, tenant.operator.username)
    assert client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False).status_code == 303
    assert db.execute(select(func.count()).select_from(StaffSession)).scalar_one() == 0
    assert client.get("/api/v1/me").status_code == 401


def test_api_token_acts_for_its_agency_with_its_role(client: TestClient, db: Session) -> None:
    tenant = create_tenant(db, "t")
    token, raw = create_api_token(db, tenant.agency, Role.VIEWER)
    headers = {"Authorization": f"Bearer {raw}"}
    me = client.get("/api/v1/me", headers=headers).json()
    assert me["roles"] == {str(tenant.agency.id): "viewer"}
    assert client.get(f"/api/v1/agencies/{tenant.agency.id}/accounts", headers=headers).status_code == 200
    refused = client.post(f"/api/v1/agencies/{tenant.agency.id}/departments", json={"name": "x"}, headers=headers)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "role_required"
    stored = db.get(ApiToken, token.id)
    assert stored is not None and raw not in stored.token_hash and stored.prefix == raw[:10]


def test_revoked_and_unknown_tokens_are_refused(client: TestClient, db: Session) -> None:
    tenant = create_tenant(db, "t")
    token, raw = create_api_token(db, tenant.agency)
    csrf = login(client, tenant.admin.username)
    revoke = client.post(
        f"/console/agencies/{tenant.agency.id}/tokens/{token.id}/revoke",
        data={"csrf_token": csrf},
        follow_redirects=False,
    )
    assert revoke.status_code == 303
    client.cookies.clear()
    for bad in (raw, "wzt_unknown", "something-else"):
        response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {bad}"})
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "invalid_token"


def test_token_is_shown_once_in_the_console(client: TestClient, db: Session) -> None:
    tenant = create_tenant(db, "t")
    csrf = login(client, tenant.admin.username)
    created = client.post(
        f"/console/agencies/{tenant.agency.id}/tokens",
        data={"csrf_token": csrf, "name": "open311", "role": "operator"},
    )
    assert created.status_code == 201
    raw = created.text.split('id="new-token">')[1].split("<")[0]
    assert raw.startswith("wzt_")
    listing = client.get(f"/console/agencies/{tenant.agency.id}/tokens")
    assert raw not in listing.text
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {raw}"}).status_code == 200


def test_disabled_user_cannot_log_in(client: TestClient, db: Session) -> None:
    user = create_user(db)
    db.execute(update(User).where(User.id == user.id).values(is_active=False))
    db.commit()
    assert _post_login(client, user.username, PASSWORD).status_code == 401  # type: ignore[attr-defined]
