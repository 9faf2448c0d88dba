"""Web Push: the deployment's VAPID key, browsers subscribing from the citizen page, and pushes that a real
push service on 127.0.0.1 checks (VAPID, headers) and decrypts with each browser's own keys."""

from __future__ import annotations

import base64
import datetime as dt
import os
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.bulletins.push_service import Browser, PushService, PushState, b64url
from tests.factories import Tenant, create_tenant
from wenzheng.accounts.models import Account
from wenzheng.bulletins import webpush
from wenzheng.bulletins.models import Bulletin, DeploymentKey, PushSubscription
from wenzheng.citizens.models import CitizenHandle
from wenzheng.config import Settings, reset_settings_cache
from wenzheng.db import session_scope
from wenzheng.errors import InvalidInput, Unavailable
from wenzheng.followers.models import Follower, FollowerState
from wenzheng.vault import unseal
from wenzheng.web.channels import push as push_routes
from wenzheng.web.errors import install_error_handlers

JSON = {"Accept": "application/json"}


# --- Fixtures -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def push_service() -> Iterator[PushService]:
    service = PushService()
    service.start()
    yield service
    service.stop()


@pytest.fixture
def push(push_service: PushService) -> PushState:
    return push_service.reset()


@pytest.fixture
def account(db: Session) -> Account:
    tenant: Tenant = create_tenant(db, "push")
    return tenant.account


@pytest.fixture
def env() -> Iterator[Callable[..., None]]:
    """Set WENZHENG_* variables for one test; the settings are read again, and restored after."""
    saved: dict[str, str | None] = {}

    def set_env(**values: str) -> None:
        for name, value in values.items():
            key = f"WENZHENG_{name.upper()}"
            saved.setdefault(key, os.environ.get(key))
            os.environ[key] = value
        reset_settings_cache()

    yield set_env
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    reset_settings_cache()


@pytest.fixture
def push_client() -> Iterator[TestClient]:
    """The app when it registers the push router; until then, the router with the app's error handlers."""
    from wenzheng.app import ROUTERS, create_app

    if push_routes.router in ROUTERS:
        app = create_app()
    else:
        app = FastAPI()
        install_error_handlers(app)
        app.include_router(push_routes.router)
    with TestClient(app, base_url="http://testserver") as client:
        yield client


def subscribe(account: Account, browser: Browser | dict[str, Any], user_agent: str = "Firefox/128") -> int:
    body = browser.to_json() if isinstance(browser, Browser) else browser
    with session_scope() as session:
        return webpush.subscribe(session, account, body, user_agent=user_agent).id


def targets_of(account: Account) -> dict[int, webpush.PushTarget]:
    with session_scope() as session:
        followers = session.scalars(select(Follower.id).where(Follower.account_id == account.id)).all()
        return webpush.push_targets(session, followers)


def vapid() -> webpush.Vapid:
    with session_scope() as session:
        return webpush.vapid_for_sending(session)


def public_key() -> str:
    with session_scope() as session:
        return webpush.vapid_public_key(session)


def rows(db: Session, model: type[Any]) -> list[Any]:
    db.expire_all()
    return list(db.scalars(select(model)).all())


def raw_key(key: ec.EllipticCurvePrivateKey) -> str:
    return b64url(key.private_numbers().private_value.to_bytes(32, "big"))


# --- The VAPID key --------------------------------------------------------------------------------------


def test_the_key_pair_is_generated_once_and_kept_sealed(db: Session) -> None:
    first, second = public_key(), public_key()
    assert first == second
    point = base64.urlsafe_b64decode(first + "=" * (-len(first) % 4))
    assert len(point) == 65 and point[0] == 4 and "=" not in first
    [stored] = rows(db, DeploymentKey)
    assert stored.name == "vapid" and stored.public == first
    private = unseal(stored.value_sealed)
    assert private not in stored.value_sealed
    assert webpush.public_key_of(webpush.parse_private_key(private)) == first
    assert vapid().public_key == first


def test_concurrent_first_use_makes_one_key(db: Session) -> None:
    barrier = threading.Barrier(4)
    keys: list[str] = []

    def first_use() -> None:
        barrier.wait()
        keys.append(public_key())

    threads = [threading.Thread(target=first_use) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(keys) == 4 and len(set(keys)) == 1
    assert db.scalar(select(func.count()).select_from(DeploymentKey)) == 1


def test_a_lost_race_uses_the_winners_key(db: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    winner = public_key()
    # This process looked a moment before the other one inserted: its own insert must give way.
    monkeypatch.setattr(Session, "get", lambda self, *args, **kwargs: None)
    with session_scope() as session:
        assert webpush._stored_key(session).public == winner
    assert db.scalar(select(func.count()).select_from(DeploymentKey)) == 1


@pytest.mark.parametrize("form", ["raw", "pem"])
def test_the_key_from_settings_wins(db: Session, env: Callable[..., None], form: str) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    env(vapid_private_key=raw_key(key) if form == "raw" else pem, vapid_subject="https://yaan.example.cn")
    assert public_key() == webpush.public_key_of(key)
    signer = vapid()
    assert signer.public_key == webpush.public_key_of(key) and signer.subject == "https://yaan.example.cn"
    assert rows(db, DeploymentKey) == []


def test_a_bad_configured_key_or_subject_is_refused_clearly(env: Callable[..., None]) -> None:
    env(vapid_private_key="bm90LWEta2V5")
    with pytest.raises(Unavailable) as bad_key:
        public_key()
    assert bad_key.value.code == "vapid_key_invalid"
    env(vapid_private_key=raw_key(ec.generate_private_key(ec.SECP256R1())), vapid_subject="ops at agency")
    with pytest.raises(Unavailable) as bad_subject:
        vapid()
    assert bad_subject.value.code == "vapid_subject_invalid"


def test_one_jwt_per_origin_renewed_before_it_expires() -> None:
    signer = webpush.Vapid(ec.generate_private_key(ec.SECP256R1()), subject=webpush.DEFAULT_SUBJECT)
    now = 1_800_000_000
    one = signer.authorization("https://fcm.googleapis.com/fcm/send/a", now=now)
    assert signer.authorization("https://fcm.googleapis.com:443/fcm/send/b", now=now + 60) == one
    assert signer.authorization("https://updates.push.services.mozilla.com/wpush/v2/x", now=now) != one
    assert signer.authorization("https://fcm.googleapis.com/fcm/send/a", now=now + 11 * 3600 + 1) != one
    assert one.startswith("vapid t=") and f",k={signer.public_key}" in one


# --- Subscribing ----------------------------------------------------------------------------------------


def _with(browser: Browser, **changes: Any) -> dict[str, Any]:
    body = browser.to_json()
    keys = {**body["keys"], **changes.pop("keys", {})}
    return {**body, "keys": keys, **changes}


def _b64(raw: bytes) -> str:
    return b64url(raw)


BAD_SUBSCRIPTIONS: list[tuple[str, Callable[[Browser], Any], str]] = [
    ("not an object", lambda b: ["https://push.example.org/x"], "invalid_push_subscription"),
    ("no keys", lambda b: {"endpoint": b.endpoint}, "missing_push_keys"),
    ("no endpoint", lambda b: _with(b, endpoint=None), "invalid_push_endpoint"),
    (
        "endpoint too long",
        lambda b: _with(b, endpoint="https://push.example.org/" + "a" * 2100),
        "invalid_push_endpoint",
    ),
    (
        "endpoint with a password",
        lambda b: _with(b, endpoint="https://u:p@push.example.org/x"),
        "invalid_push_endpoint",
    ),
    ("endpoint not a URL", lambda b: _with(b, endpoint="https://push.example.org:99999/x"), "invalid_push_endpoint"),
    ("plain http", lambda b: _with(b, endpoint="http://push.example.org/x"), "insecure_push_endpoint"),
    ("not http at all", lambda b: _with(b, endpoint="ftp://push.example.org/x"), "insecure_push_endpoint"),
    ("private address", lambda b: _with(b, endpoint="https://10.1.2.3/push/x"), "push_endpoint_not_public"),
    ("p256dh too short", lambda b: _with(b, keys={"p256dh": _b64(b"\x04" + bytes(63))}), "invalid_push_key"),
    ("p256dh off the curve", lambda b: _with(b, keys={"p256dh": _b64(b"\x04" + bytes(64))}), "invalid_push_key"),
    ("p256dh not base64url", lambda b: _with(b, keys={"p256dh": "not base64!"}), "invalid_push_key"),
    ("p256dh missing", lambda b: _with(b, keys={"p256dh": None}), "invalid_push_key"),
    ("auth of 15 bytes", lambda b: _with(b, keys={"auth": _b64(bytes(15))}), "invalid_push_auth"),
    ("auth a number", lambda b: _with(b, keys={"auth": 16}), "invalid_push_auth"),
]


@pytest.mark.parametrize(("case", "make", "code"), BAD_SUBSCRIPTIONS, ids=[c[0] for c in BAD_SUBSCRIPTIONS])
def test_bad_subscriptions_are_refused_with_a_code(
    db: Session, account: Account, push_service: PushService, case: str, make: Callable[[Browser], Any], code: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        subscribe(account, make(push_service.new_browser()))
    assert refused.value.code == code, case
    assert rows(db, PushSubscription) == [] and rows(db, Follower) == []


def test_local_http_endpoints_only_in_tests_or_when_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    local = "http://127.0.0.1:8123/push/abc"
    assert webpush.checked_endpoint(local) == local  # test mode: the local push service

    class Development(Settings):
        webpush_allow_local_http: bool = False

    monkeypatch.setattr(webpush, "get_settings", lambda: Development(mode="development"))
    with pytest.raises(InvalidInput) as plain:
        webpush.checked_endpoint(local)
    assert plain.value.code == "insecure_push_endpoint"
    with pytest.raises(InvalidInput) as loopback:
        webpush.checked_endpoint("https://localhost/push/abc")
    assert loopback.value.code == "push_endpoint_not_public"
    monkeypatch.setattr(webpush, "get_settings", lambda: Development(mode="development", webpush_allow_local_http=True))
    assert webpush.checked_endpoint(local) == local
    assert webpush.checked_endpoint("https://fcm.googleapis.com/fcm/send/x") == "https://fcm.googleapis.com/fcm/send/x"


def test_subscribing_makes_a_webpush_follower_and_citizen(
    db: Session, account: Account, push: PushState, push_service: PushService
) -> None:
    browser = push_service.new_browser()
    subscribe(account, browser, user_agent="Mozilla/5.0 " + "x" * 300)
    [row] = rows(db, PushSubscription)
    [follower] = rows(db, Follower)
    assert row.endpoint == browser.endpoint and row.endpoint_hash == webpush.hash_endpoint(browser.endpoint)
    assert (row.p256dh, row.auth) == (browser.p256dh, b64url(browser.auth_secret))
    assert len(row.user_agent) == 200 and row.follower_id == follower.id and row.agency_id == account.agency_id
    assert (follower.channel, follower.handle, follower.state) == ("webpush", row.endpoint_hash, "following")
    handles = {(h.channel, h.handle) for h in rows(db, CitizenHandle) if h.citizen_id == follower.citizen_id}
    assert ("webpush", row.endpoint_hash) in handles


def test_subscribing_again_refreshes_and_refollows(db: Session, account: Account, push_service: PushService) -> None:
    browser = push_service.new_browser()
    first = subscribe(account, browser)
    renewed = Browser(endpoint=browser.endpoint)  # same endpoint, new keys
    assert subscribe(account, renewed) == first
    [row] = rows(db, PushSubscription)
    assert row.p256dh == renewed.p256dh and row.auth == b64url(renewed.auth_secret)

    with session_scope() as session:
        assert webpush.unsubscribe(session, account, browser.endpoint) is True
        assert webpush.unsubscribe(session, account, browser.endpoint) is False
    [follower] = rows(db, Follower)
    assert follower.state == FollowerState.UNFOLLOWED and follower.unfollowed_at is not None
    assert rows(db, PushSubscription) == []

    subscribe(account, renewed)
    [again] = rows(db, Follower)
    assert again.id == follower.id and again.state == FollowerState.FOLLOWING and again.unfollowed_at is None
    assert len(rows(db, PushSubscription)) == 1


# --- Sending --------------------------------------------------------------------------------------------


def test_a_push_arrives_encrypted_and_signed(account: Account, push: PushState, push_service: PushService) -> None:
    browser = push_service.new_browser()
    subscribe(account, browser)
    push.expected_key = public_key()
    [target] = targets_of(account).values()
    payload = {
        "title": "芦山县地震预警",
        "body": "请立即到空旷地带避险。",
        "url": "https://x.example/b/7",
        "tag": "bulletin-7",
    }

    outcome = webpush.send_push(target, payload, vapid=vapid(), ttl=3600, urgency="high", topic="bulletin-7")

    assert outcome == webpush.PushOutcome(ok=True, gone=False, retryable=False, status=201, reason="accepted")
    assert push.rejected == []
    [delivered] = push.for_token(browser.token)
    assert delivered.payload == payload
    assert delivered.headers["ttl"] == "3600" and delivered.headers["urgency"] == "high"
    assert delivered.headers["topic"] == "bulletin-7" and delivered.headers["content-encoding"] == "aes128gcm"
    assert delivered.claims["aud"] == push_service.origin and delivered.claims["sub"] == webpush.DEFAULT_SUBJECT
    assert delivered.vapid_key == push.expected_key
    assert delivered.body[:16] != delivered.plaintext[:16]  # what travelled was ciphertext


def test_a_push_signed_with_another_key_is_refused_not_retried(
    account: Account, push: PushState, push_service: PushService
) -> None:
    browser = push_service.new_browser()
    subscribe(account, browser)
    push.expected_key = public_key()
    other = webpush.Vapid(ec.generate_private_key(ec.SECP256R1()), subject=webpush.DEFAULT_SUBJECT)
    [target] = targets_of(account).values()
    outcome = webpush.send_push(target, {"title": "t"}, vapid=other, ttl=60)
    assert (outcome.ok, outcome.gone, outcome.retryable, outcome.status) == (False, False, False, 403)
    assert "VAPID" in outcome.reason and push.for_token(browser.token) == []


@pytest.mark.parametrize("status", [404, 410])
def test_a_gone_subscription_is_pruned(
    db: Session, account: Account, push: PushState, push_service: PushService, status: int
) -> None:
    browser, kept = push_service.new_browser(), push_service.new_browser()
    subscribe(account, browser)
    subscribe(account, kept)
    push.answers[browser.token] = status
    outcomes = webpush.send_many(targets_of(account).values(), {"title": "t"}, vapid=vapid(), ttl=60)
    gone = [sid for sid, outcome in outcomes.items() if outcome.gone]
    assert len(gone) == 1 and not outcomes[gone[0]].retryable and outcomes[gone[0]].status == status

    with session_scope() as session:
        assert webpush.prune(session, gone) == 1
    [left] = rows(db, PushSubscription)
    assert left.endpoint == kept.endpoint
    states = {f.handle: f.state for f in rows(db, Follower)}
    assert states == {webpush.hash_endpoint(browser.endpoint): "unfollowed", left.endpoint_hash: "following"}


def test_prune_by_follower_for_the_fanout(db: Session, account: Account, push_service: PushService) -> None:
    subscribe(account, push_service.new_browser())
    [follower] = rows(db, Follower)
    with session_scope() as session:
        assert webpush.prune_followers(session, [follower.id]) == 1
    assert rows(db, PushSubscription) == [] and rows(db, Follower)[0].state == "unfollowed"


def test_busy_or_failing_push_services_are_retried_later(
    account: Account, push: PushState, push_service: PushService
) -> None:
    busy, broken, fine = (push_service.new_browser() for _ in range(3))
    for browser in (busy, broken, fine):
        subscribe(account, browser)
    push.answers.update({busy.token: 429, broken.token: 500})
    push.retry_after = "120"
    by_endpoint = {t.endpoint: t for t in targets_of(account).values()}

    outcomes = webpush.send_many(by_endpoint.values(), {"title": "t"}, vapid=vapid(), ttl=60, concurrency=3)

    assert len(outcomes) == 3
    rate_limited = outcomes[by_endpoint[busy.endpoint].subscription_id]
    assert (rate_limited.retryable, rate_limited.gone, rate_limited.status, rate_limited.retry_after) == (
        True,
        False,
        429,
        120,
    )
    assert outcomes[by_endpoint[broken.endpoint].subscription_id].retryable
    assert outcomes[by_endpoint[fine.endpoint].subscription_id].ok
    assert len(push.for_token(fine.token)) == 1 and push.for_token(busy.token) == []


def test_an_unreachable_push_service_is_retryable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    browser = Browser(endpoint=f"http://127.0.0.1:{port}/push/nobody")
    target = webpush.PushTarget(1, browser.endpoint, browser.p256dh, b64url(browser.auth_secret))
    signer = webpush.Vapid(ec.generate_private_key(ec.SECP256R1()), subject=webpush.DEFAULT_SUBJECT)
    outcome = webpush.send_push(target, {"title": "t"}, vapid=signer, ttl=60, timeout=5)
    assert (outcome.ok, outcome.retryable, outcome.status) == (False, True, None)
    assert "unreachable" in outcome.reason


def test_successes_and_failures_are_recorded(db: Session, account: Account, push_service: PushService) -> None:
    one = subscribe(account, push_service.new_browser())
    two = subscribe(account, push_service.new_browser())
    with session_scope() as session:
        webpush.record_failure(session, [one, two])
        webpush.record_failure(session, [two])
    with session_scope() as session:
        webpush.record_success(session, [one])
    by_id = {r.id: r for r in rows(db, PushSubscription)}
    assert by_id[one].failures == 0 and by_id[one].last_success_at is not None
    assert by_id[two].failures == 2 and by_id[two].last_success_at is None


def test_bad_send_options_are_programming_errors() -> None:
    with pytest.raises(ValueError, match="urgency"):
        webpush.push_headers(ttl=60, urgency="urgent", topic=None)
    with pytest.raises(ValueError, match="Topic"):
        webpush.push_headers(ttl=60, urgency="low", topic="bulletin 7 with spaces")
    with pytest.raises(ValueError, match="at most 3993"):
        webpush.encode_payload({"body": "字" * 1400})


# --- Bulletins as notifications -------------------------------------------------------------------------


def _bulletin(**fields: Any) -> Bulletin:
    values: dict[str, Any] = {
        "id": 7,
        "kind": "notice",
        "title": "停水通知",
        "body": "",
        "cap_instruction": "",
        "cap_severity": "",
        "warning_colour": "",
        "expires_at": None,
    }
    return Bulletin(**{**values, **fields})


def test_bulletin_payload_is_small_and_tagged() -> None:
    long_body = "受强降雨影响，芦山县部分路段发生塌方，请绕行。" * 20
    payload = webpush.bulletin_payload(_bulletin(body=long_body), "https://wz.example/c/yaan/b/7")
    assert payload["tag"] == "bulletin-7" and payload["kind"] == "notice" and "severity" not in payload
    assert len(payload["body"]) <= webpush.BODY_LIMIT and payload["body"].endswith("。…")
    assert len(webpush.encode_payload(payload)) < webpush.MAX_PAYLOAD_BYTES
    alert = webpush.bulletin_payload(
        _bulletin(kind="alert", cap_severity="Extreme", cap_instruction="立即撤离", warning_colour="red"), "/c/y"
    )
    assert (alert["severity"], alert["colour"], alert["body"]) == ("Extreme", "red", "立即撤离")


def test_a_browser_signed_up_in_english_is_notified_in_english(
    db: Session, push_client: TestClient, account: Account, push_service: PushService
) -> None:
    browser = push_service.new_browser()
    base = f"/c/{account.slug}/push/subscriptions"
    created = push_client.post(f"{base}?lang=en", json=browser.to_json(), headers=JSON)  # what the English page posts
    assert created.status_code == 201 and rows(db, Follower)[0].language == "en"
    bulletin = _bulletin(title="芦山县城区恢复供水", body="今日18时起恢复供水。")
    bulletin.translations = {"en": {"title": "Water back in Lushan", "body": "Tap water returns at 18:00."}}
    english = webpush.bulletin_payload(bulletin, "/c/y/bulletins/7?lang=en", language="en")
    chinese = webpush.bulletin_payload(bulletin, "/c/y/bulletins/7")
    assert (english["title"], english["body"]) == ("Water back in Lushan", "Tap water returns at 18:00.")
    assert (chinese["title"], chinese["body"]) == ("芦山县城区恢复供水", "今日18时起恢复供水。")


def test_alerts_are_urgent_and_live_until_they_expire() -> None:
    now = dt.datetime(2025, 6, 12, 8, 0, tzinfo=dt.UTC)
    assert webpush.ttl_and_urgency(_bulletin(), now=now) == (86400, "normal")
    in_two_hours = _bulletin(kind="alert", expires_at=now + dt.timedelta(hours=2))
    assert webpush.ttl_and_urgency(in_two_hours, now=now) == (7200, "high")
    far = _bulletin(kind="alert", expires_at=now + dt.timedelta(days=30))
    assert webpush.ttl_and_urgency(far, now=now) == (webpush.MAX_ALERT_TTL, "high")
    past = _bulletin(kind="alert", expires_at=now - dt.timedelta(minutes=1))
    assert webpush.ttl_and_urgency(past, now=now) == (0, "high")
    assert webpush.ttl_and_urgency(_bulletin(kind="alert"), now=now) == (86400, "high")


def test_summary_cuts_at_a_clause_end() -> None:
    assert webpush.summary("  短  文本\n") == "短 文本"
    cut = webpush.summary("第一句话。" * 10 + "没有标点的长句子" * 10, limit=60)
    assert cut.endswith("。…") and len(cut) <= 60
    assert webpush.summary("x" * 300, limit=50) == "x" * 49 + "…"


# --- The routes -----------------------------------------------------------------------------------------


def test_the_key_route_gives_the_application_server_key(push_client: TestClient, account: Account) -> None:
    answer = push_client.get(f"/c/{account.slug}/push/key", headers=JSON)
    assert answer.status_code == 200 and answer.json() == {"public_key": public_key()}
    unknown = push_client.get("/c/no-such-account/push/key", headers=JSON)
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "unknown_account"


def test_subscribe_and_unsubscribe_through_http(
    db: Session, push_client: TestClient, account: Account, push: PushState, push_service: PushService
) -> None:
    browser = push_service.new_browser()
    base = f"/c/{account.slug}/push/subscriptions"
    created = push_client.post(base, json=browser.to_json(), headers={**JSON, "User-Agent": "Chrome/126"})
    assert created.status_code == 201 and created.json() == {"ok": True}
    assert push_client.post(base, json=browser.to_json(), headers=JSON).status_code == 201
    [row] = rows(db, PushSubscription)
    assert row.endpoint == browser.endpoint

    [target] = targets_of(account).values()
    assert webpush.send_many([target], {"title": "通知"}, vapid=vapid(), ttl=60)[row.id].ok
    assert push.for_token(browser.token)[0].payload == {"title": "通知"}

    removed = push_client.post(f"{base}/delete", json={"endpoint": browser.endpoint}, headers=JSON)
    assert removed.status_code == 200 and removed.json() == {"ok": True, "removed": True}
    again = push_client.post(f"{base}/delete", json={"endpoint": browser.endpoint}, headers=JSON)
    assert again.json() == {"ok": True, "removed": False}
    assert rows(db, PushSubscription) == [] and rows(db, Follower)[0].state == "unfollowed"


def test_a_position_sent_with_the_subscription_keeps_only_its_county(
    db: Session, push_client: TestClient, account: Account, push_service: PushService
) -> None:
    from wenzheng.bulletins.audience import count_audience

    base = f"/c/{account.slug}/push/subscriptions"
    lushan = {**push_service.new_browser().to_json(), "position": {"latitude": 30.152, "longitude": 102.93}}
    assert push_client.post(base, json=lushan, headers=JSON).status_code == 201
    assert push_client.post(base, json=push_service.new_browser().to_json(), headers=JSON).status_code == 201
    regions = sorted((f.region_code or "") for f in rows(db, Follower))
    assert regions == ["", "511826"]  # 芦山县; the other browser gave no position
    assert count_audience(db, account.id, {"regions": ["511800"]})["total"] == 1  # an alert for 雅安市 reaches it
    assert "30.152" not in str([vars(f) for f in rows(db, Follower)])  # the position itself is not kept
    for position in (
        {"latitude": 91, "longitude": 0},
        {"latitude": "30"},
        [30, 102],
        {"latitude": True, "longitude": 1},
    ):
        refused = push_client.post(
            base, json={**push_service.new_browser().to_json(), "position": position}, headers=JSON
        )
        assert refused.status_code == 422 and refused.json()["error"]["code"] == "invalid_position"


def test_a_county_typed_with_the_subscription_wins_over_the_position(
    db: Session, push_client: TestClient, account: Account, push_service: PushService
) -> None:
    base = f"/c/{account.slug}/push/subscriptions"
    in_lushan = {"latitude": 30.152, "longitude": 102.93}
    for place, code in (("朝阳", "region_ambiguous"), ("不存在县", "region_unknown"), (["宝兴"], "invalid_place")):
        body = {**push_service.new_browser().to_json(), "position": in_lushan, "place": place}
        refused = push_client.post(base, json=body, headers=JSON)
        assert refused.status_code == 422 and refused.json()["error"]["code"] == code
    assert rows(db, Follower) == [] and rows(db, PushSubscription) == []  # nothing half-written
    body = {**push_service.new_browser().to_json(), "position": in_lushan, "place": "雅安宝兴"}
    assert push_client.post(base, json=body, headers=JSON).status_code == 201
    assert [f.region_code for f in rows(db, Follower)] == ["511827"]  # 宝兴县, as typed, not 芦山县 where it was


def test_bad_subscription_requests_get_coded_errors(
    push_client: TestClient, account: Account, push_service: PushService
) -> None:
    base = f"/c/{account.slug}/push/subscriptions"
    bad_key = _with(push_service.new_browser(), keys={"p256dh": "AAAA"})
    answer = push_client.post(base, json=bad_key, headers=JSON)
    assert answer.status_code == 422 and answer.json()["error"]["code"] == "invalid_push_key"
    garbled = push_client.post(base, content=b"{not json", headers={**JSON, "Content-Type": "application/json"})
    assert garbled.status_code == 400 and garbled.json()["error"]["code"] == "malformed_json"
    huge = push_client.post(base, content=b"[" + b"1," * 3000 + b"1]", headers=JSON)
    assert huge.status_code == 413 and huge.json()["error"]["code"] == "payload_too_large"
    no_endpoint = push_client.post(f"{base}/delete", json={}, headers=JSON)
    assert no_endpoint.status_code == 422 and no_endpoint.json()["error"]["code"] == "invalid_push_endpoint"
    nowhere = push_client.post("/c/no-such-account/push/subscriptions", json=bad_key, headers=JSON)
    assert nowhere.status_code == 422  # the body is checked before anything is looked up or counted


def test_subscriptions_are_rate_limited_per_address(
    db: Session, push_client: TestClient, account: Account, push_service: PushService, env: Callable[..., None]
) -> None:
    env(web_max_messages_per_address_per_hour="2")
    base = f"/c/{account.slug}/push/subscriptions"
    for _ in range(2):
        assert push_client.post(base, json=push_service.new_browser().to_json(), headers=JSON).status_code == 201
    third = push_client.post(base, json=push_service.new_browser().to_json(), headers=JSON)
    assert third.status_code == 429 and third.json()["error"]["code"] == "too_many_messages"
    assert "retry-after" in third.headers
    assert len(rows(db, PushSubscription)) == 2


def test_the_service_worker_is_served_for_the_accounts_scope(push_client: TestClient, account: Account) -> None:
    answer = push_client.get(f"/c/{account.slug}/sw.js")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/javascript")
    assert answer.headers["service-worker-allowed"] == f"/c/{account.slug}/"
    assert 'addEventListener("push"' in answer.text and "showNotification" in answer.text
    assert 'addEventListener("notificationclick"' in answer.text
    assert push_client.get("/c/no-such-account/sw.js").status_code == 404


@pytest.mark.parametrize(("lang", "words"), [("zh", "开启通知"), ("en", "Turn on notifications")])
def test_the_push_section_renders_in_both_languages(
    client: TestClient, account: Account, lang: str, words: str
) -> None:
    client.cookies.set("wz_lang", lang)
    html = client.get(f"/c/{account.slug}").text
    assert f'data-slug="{account.slug}"' in html and words in html
    assert 'id="push" hidden' in html and "/static/citizen-push.js" in html
