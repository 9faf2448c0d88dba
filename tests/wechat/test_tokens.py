"""The access token: one per account in the database, shared by every thread and process, refreshed by one."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Engine, select, text, update
from sqlalchemy.orm import Session

from tests.factories import Tenant, create_tenant
from tests.wechat.fake_api import FakeWeChat
from tests.wechat.helpers import APP_ID, APP_SECRET, wait_until
from wenzheng import db as wz_db
from wenzheng.channels.wechat import api
from wenzheng.channels.wechat.errors import AccessTokenRejected, WeChatNotConfigured, WeChatUnreachable
from wenzheng.channels.wechat.models import WeChatAccessToken
from wenzheng.channels.wechat.tokens import access_token, call_with_token
from wenzheng.config import reset_settings_cache
from wenzheng.db import utcnow

THREADS = 12
PROBE = "/cgi-bin/message/custom/send"


def stored(db: Session, tenant: Tenant) -> WeChatAccessToken:
    return db.scalars(
        select(WeChatAccessToken)
        .where(WeChatAccessToken.account_id == tenant.account.id)
        .execution_options(populate_existing=True)
    ).one()


def token_now(tenant: Tenant) -> str:
    """Get the token in a session of its own, as a request or a job would, and commit."""
    with wz_db.session_factory()() as session:
        token = access_token(session, tenant.account)
        session.commit()
    return token


def probe(tenant: Tenant) -> dict[str, Any]:
    """An API call made with the account's token (a customer-service text), in a session of its own."""
    body = {"touser": f"o-probe-{uuid.uuid4().hex}", "msgtype": "text", "text": {"content": "测试"}}
    with wz_db.session_factory()() as session:
        answer = call_with_token(session, tenant.account, lambda token: api.post_json(PROBE, token, body))
        session.commit()
    return answer


def in_threads(count: int, work: Callable[[], str]) -> list[str]:
    """Run ``work`` in ``count`` threads released together; their results (errors re-raised)."""
    barrier = threading.Barrier(count)
    results: list[str] = []
    errors: list[BaseException] = []

    def run() -> None:
        barrier.wait()
        try:
            results.append(work())
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    if errors:
        raise errors[0]
    return results


def test_the_first_call_gets_a_stable_token_and_stores_it_for_everyone(
    db: Session, tenant: Tenant, wechat: FakeWeChat
) -> None:
    token = token_now(tenant)

    assert token == wechat.current_token(APP_ID)
    [call] = wechat.calls("/cgi-bin/stable_token")
    assert call.json == {
        "grant_type": "client_credential",
        "appid": APP_ID,
        "secret": APP_SECRET,
        "force_refresh": False,
    }
    row = stored(db, tenant)
    assert row.access_token == token
    assert row.refresh_count == 1
    assert row.expires_at is not None and row.expires_at > utcnow() + dt.timedelta(hours=1)

    assert token_now(tenant) == token
    assert wechat.stable_token_calls == 1


@pytest.fixture(params=["no token yet", "token about to expire"])
def start(request: pytest.FixtureRequest, db: Session, tenant: Tenant, wechat: FakeWeChat) -> int:
    """Where the token stands before the threads start; how many stable_token calls that took."""
    if request.param == "no token yet":
        return 0
    token_now(tenant)
    wechat.expire_token(APP_ID)  # so that stable_token has a new one to give
    set_expiry(db, tenant, utcnow() + dt.timedelta(minutes=2))
    return 1


def test_many_threads_needing_a_token_cause_exactly_one_refresh(
    db: Session, tenant: Tenant, wechat: FakeWeChat, start: int
) -> None:
    tokens = in_threads(THREADS, lambda: token_now(tenant))

    assert wechat.stable_token_calls == start + 1
    assert set(tokens) == {wechat.current_token(APP_ID)}
    assert stored(db, tenant).refresh_count == start + 1


def test_threads_waiting_on_the_refresher_use_its_token(
    engine: Engine, db: Session, tenant: Tenant, wechat: FakeWeChat, is_postgres: bool, start: int
) -> None:
    """The refresher is held inside stable_token while the others queue behind its lock; then all use its token."""
    if not is_postgres:
        pytest.skip("watching threads wait on a row lock needs PostgreSQL's pg_stat_activity")
    gate = wechat.stable_token_gate = threading.Event()
    results: list[str] = []
    threads = [threading.Thread(target=lambda: results.append(token_now(tenant))) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    wait_until(lambda: wechat.stable_token_calls == start + 1, what="the refresher to call stable_token")
    wait_until(lambda: waiting_on_locks(engine) == THREADS - 1, what="the other threads to wait on the row lock")
    gate.set()
    for thread in threads:
        thread.join(timeout=60)

    assert wechat.stable_token_calls == start + 1
    assert results == [wechat.current_token(APP_ID)] * THREADS
    assert stored(db, tenant).refresh_count == start + 1


def waiting_on_locks(engine: Engine) -> int:
    query = text(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    with engine.connect() as connection:
        return int(connection.execute(query).scalar_one())


def test_a_token_with_less_than_five_minutes_left_is_refreshed_before_use(
    db: Session, tenant: Tenant, wechat: FakeWeChat
) -> None:
    token_now(tenant)
    set_expiry(db, tenant, utcnow() + dt.timedelta(minutes=6))
    token_now(tenant)
    assert wechat.stable_token_calls == 1

    set_expiry(db, tenant, utcnow() + dt.timedelta(minutes=4))
    token_now(tenant)

    assert wechat.stable_token_calls == 2
    row = stored(db, tenant)
    assert row.refresh_count == 2
    assert row.expires_at is not None and row.expires_at > utcnow() + dt.timedelta(hours=1)


def set_expiry(db: Session, tenant: Tenant, expires_at: dt.datetime) -> None:
    db.execute(
        update(WeChatAccessToken).where(WeChatAccessToken.account_id == tenant.account.id).values(expires_at=expires_at)
    )


@pytest.mark.parametrize("make_stale", ["expire_token", "revoke_token"])  # 42001, 40001
def test_a_rejected_token_is_refreshed_once_and_the_call_retried_once(
    db: Session, tenant: Tenant, wechat: FakeWeChat, make_stale: str
) -> None:
    old = token_now(tenant)
    getattr(wechat, make_stale)(APP_ID)

    assert probe(tenant) == {"errcode": 0, "errmsg": "ok"}

    first, retry = wechat.calls(PROBE)
    assert first.params["access_token"] == old
    assert retry.params["access_token"] == wechat.current_token(APP_ID) != old
    assert wechat.stable_token_calls == 2
    assert stored(db, tenant).access_token == wechat.current_token(APP_ID)


def test_many_threads_hitting_an_expired_token_refresh_it_once(db: Session, tenant: Tenant, wechat: FakeWeChat) -> None:
    token_now(tenant)
    wechat.expire_token(APP_ID)

    in_threads(THREADS, lambda: str(probe(tenant)))

    # One initial token, one refresh: a thread whose call failed late does not throw away the new token.
    assert wechat.stable_token_calls == 2
    assert stored(db, tenant).refresh_count == 2
    new = wechat.current_token(APP_ID)
    succeeded = [c for c in wechat.calls(PROBE) if c.params["access_token"] == new]
    assert len(succeeded) == THREADS


def test_a_rejected_token_that_stable_token_hands_back_again_is_force_refreshed(
    tenant: Tenant, wechat: FakeWeChat
) -> None:
    old = token_now(tenant)
    wechat.stuck_tokens.add(old)

    assert probe(tenant) == {"errcode": 0, "errmsg": "ok"}

    forced = [c.json["force_refresh"] for c in wechat.calls("/cgi-bin/stable_token")]
    assert forced == [False, False, True]
    assert wechat.calls(PROBE)[-1].params["access_token"] == wechat.current_token(APP_ID) != old


def test_a_token_rejected_again_after_the_refresh_fails_without_a_third_try(tenant: Tenant, wechat: FakeWeChat) -> None:
    token_now(tenant)
    wechat.reject_all_tokens = True

    with pytest.raises(AccessTokenRejected) as raised:
        probe(tenant)

    assert wechat.count(PROBE) == 2
    assert raised.value.code == "wechat_token_rejected"
    assert "IP whitelist" in raised.value.message


def test_an_account_without_wechat_credentials_is_refused_clearly(db: Session, wechat: FakeWeChat) -> None:
    bare = create_tenant(db, "bare")
    with pytest.raises(WeChatNotConfigured) as raised:
        token_now(bare)
    assert raised.value.code == "wechat_not_configured"
    assert wechat.stable_token_calls == 0


def test_an_unreachable_wechat_is_a_retryable_error_that_names_no_secret(
    tenant: Tenant, wechat: FakeWeChat, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WENZHENG_WECHAT_API_BASE", "http://127.0.0.1:9")  # discard port: nothing listens
    reset_settings_cache()

    with pytest.raises(WeChatUnreachable) as raised:
        token_now(tenant)

    assert raised.value.retryable is True
    assert raised.value.status == 503
    assert APP_SECRET not in raised.value.message


GET_TOKEN = """
import sys
import wenzheng.models
from wenzheng.accounts.models import Account
from wenzheng.channels.wechat.tokens import access_token
from wenzheng.db import session_factory

with session_factory()() as session:
    print(access_token(session, session.get_one(Account, int(sys.argv[1]))))
    session.commit()
"""


def test_two_processes_share_one_token_and_one_refresh(
    engine: Engine, db: Session, tenant: Tenant, wechat: FakeWeChat, is_postgres: bool, start: int
) -> None:
    """Two worker-like processes need the token at once: one refreshes, the other waits for it and uses it."""
    if not is_postgres:
        pytest.skip("several processes sharing the database is PostgreSQL's deployment")
    gate = wechat.stable_token_gate = threading.Event()
    command = [sys.executable, "-c", GET_TOKEN, str(tenant.account.id)]
    processes = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    try:
        wait_until(lambda: wechat.stable_token_calls == start + 1, what="one process to call stable_token")
        wait_until(lambda: waiting_on_locks(engine) == 1, what="the other process to wait on the row lock")
        gate.set()
        outputs = [process.communicate(timeout=60) for process in processes]
    finally:
        gate.set()
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()

    assert [process.returncode for process in processes] == [0, 0], outputs
    assert [out.decode().strip() for out, _err in outputs] == [wechat.current_token(APP_ID)] * 2
    assert wechat.stable_token_calls == start + 1
    assert stored(db, tenant).refresh_count == start + 1
