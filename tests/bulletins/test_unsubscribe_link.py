"""The unsubscribe link of a bulletin mail: opening it changes nothing, its button or a mail program's one-click
POST unfollows, and a link that is not ours (altered, or another account's) finds no one."""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.bulletins.conftest import add_followers
from tests.factories import Tenant, create_tenant
from wenzheng.followers.links import unsubscribe_token, unsubscribe_url
from wenzheng.followers.models import Follower


def _path(url: str) -> str:
    return urlsplit(url).path


def test_opening_the_link_asks_and_its_button_unfollows(client: TestClient, db: Session, tenant: Tenant) -> None:
    [follower] = add_followers(db, tenant, "email", 1)
    path = _path(unsubscribe_url(tenant.account.slug, follower.id))
    page = client.get(path)
    assert page.status_code == 200 and "退订" in page.text and follower.handle not in page.text  # masked
    db.refresh(follower)
    assert follower.state == "following"  # a mail scanner opening the link changes nothing

    done = client.post(path)
    assert done.status_code == 200 and "已退订" in done.text
    db.refresh(follower)
    assert follower.state == "unfollowed"
    assert "已退订" in client.get(path).text  # and says so when opened again


def test_a_mail_programs_one_click_post_unfollows(client: TestClient, db: Session, tenant: Tenant) -> None:
    [follower] = add_followers(db, tenant, "email", 1)
    path = _path(unsubscribe_url(tenant.account.slug, follower.id))
    for _ in range(2):  # again is harmless
        answer = client.post(path, data={"List-Unsubscribe": "One-Click"})
        assert answer.status_code == 200 and answer.text == ""
    db.refresh(follower)
    assert follower.state == "unfollowed"


def test_a_link_that_is_not_ours_finds_no_one(client: TestClient, db: Session, tenant: Tenant) -> None:
    [follower, other] = add_followers(db, tenant, "email", 2)
    token = unsubscribe_token(follower.id)
    elsewhere = create_tenant(db, "un")
    forged = [
        f"/c/{tenant.account.slug}/unsubscribe/{other.id}.{token.split('.')[1]}",  # another follower's id
        f"/c/{tenant.account.slug}/unsubscribe/{token[:-1]}x",  # altered
        f"/c/{tenant.account.slug}/unsubscribe/{follower.id}",  # no code
        f"/c/{elsewhere.account.slug}/unsubscribe/{token}",  # another account
    ]
    for path in forged:
        for answer in (client.get(path, headers={"Accept": "application/json"}), client.post(path)):
            assert answer.status_code == 404, path
    assert answer.headers["content-type"].startswith("text/html")
    db.expire_all()
    assert {f.state for f in (db.get(Follower, follower.id), db.get(Follower, other.id)) if f} == {"following"}
