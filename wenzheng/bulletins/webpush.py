"""Web Push (RFC 8030 / 8291 / 8292) for the followers of an account's citizen page.

A browser subscribes on the page; its subscription becomes a follower on the ``webpush`` channel (the handle
is the SHA-256 of the endpoint) with a ``push_subscriptions`` row holding the endpoint and its keys. To send,
the fan-out reads ``PushTarget``s inside a transaction, sends them outside any (``send_many``), then records
what the push services answered in another (``record_success``, ``record_failure``, ``prune``).

The VAPID key pair is the deployment's: from the settings when given, else generated once and kept sealed
in ``deployment_keys``. See docs/webpush.md.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import email.utils
import hashlib
import ipaddress
import json
import logging
import math
import re
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import SplitResult, urlsplit

import requests
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid02, VapidException
from pywebpush import WebPusher, WebPushException
from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from wenzheng import __version__
from wenzheng.accounts.models import Account
from wenzheng.bulletins.audience import nearest_county
from wenzheng.bulletins.languages import version_of
from wenzheng.bulletins.models import Bulletin, BulletinKind, DeploymentKey, PushSubscription
from wenzheng.config import Mode, get_settings
from wenzheng.db import utcnow
from wenzheng.errors import InvalidInput, Unavailable
from wenzheng.followers.actions import apply_follow_action, follow_without_message
from wenzheng.followers.models import Follower, FollowerState
from wenzheng.followers.regions import checked_region
from wenzheng.intake.inbound import FollowAction, Inbound
from wenzheng.vault import seal, unseal

log = logging.getLogger(__name__)

CHANNEL = "webpush"
KEY_NAME = "vapid"
DEFAULT_SUBJECT = "mailto:webpush@wenzheng.localhost"
MAX_ENDPOINT_LENGTH = 2048
# One aes128gcm record of 4096 bytes, less the 86-byte header, the 16-byte tag and the delimiter.
MAX_PAYLOAD_BYTES = 4096 - 86 - 16 - 1
DEFAULT_TTL = 24 * 3600
MAX_ALERT_TTL = 7 * 24 * 3600
BODY_LIMIT = 200  # characters: a notification shows a few lines; the page holds the rest
DEFAULT_TIMEOUT = 10.0
JWT_LIFETIME = 12 * 3600  # RFC 8292 allows at most 24 h
JWT_RENEW_WITHIN = 3600
IN_CHUNK = 500  # ids per IN (...) list, well under SQLite's variable limit
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
URGENCIES = ("very-low", "low", "normal", "high")
TOPIC_RE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
B64URL_RE = re.compile(r"^[A-Za-z0-9_-]*$")


# --- The deployment's VAPID key -------------------------------------------------------------------------


def vapid_public_key(session: Session) -> str:
    """The applicationServerKey browsers subscribe with: base64url of the uncompressed P-256 point."""
    configured = _setting("vapid_private_key", "")
    if configured:
        return public_key_of(parse_private_key(configured))
    row = _stored_key(session)
    return row.public or public_key_of(_raw_to_key(_b64url_decode(unseal(row.value_sealed))))


def vapid_for_sending(session: Session) -> Vapid:
    """The signer for a batch of sends: build it once (in a transaction), then use it without one."""
    subject = _setting("vapid_subject", DEFAULT_SUBJECT) or DEFAULT_SUBJECT
    return Vapid(_private_key(session), subject=subject)


def parse_private_key(text: str) -> ec.EllipticCurvePrivateKey:
    """A P-256 private key given as PEM, as base64url of the raw 32-byte scalar, or as base64url DER."""
    try:
        key: object
        if "-----BEGIN" in text:
            key = serialization.load_pem_private_key(text.strip().encode(), password=None)
        else:
            raw = _b64url_decode(text)
            key = _raw_to_key(raw) if len(raw) == 32 else serialization.load_der_private_key(raw, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise _bad_configured_key() from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise _bad_configured_key()
    return key


def public_key_of(key: ec.EllipticCurvePrivateKey) -> str:
    point = key.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return _b64url(point)


def _private_key(session: Session) -> ec.EllipticCurvePrivateKey:
    configured = _setting("vapid_private_key", "")
    if configured:
        return parse_private_key(configured)
    return _raw_to_key(_b64url_decode(unseal(_stored_key(session).value_sealed)))


def _stored_key(session: Session) -> DeploymentKey:
    """The generated key pair, made on first use. Two processes racing here meet on the primary key: the
    loser's insert does nothing and it reads the winner's row (on PostgreSQL the insert waits for the
    winner's commit; on SQLite the write lock already serialises them)."""
    found = session.get(DeploymentKey, KEY_NAME)
    if found is not None:
        return found
    key = ec.generate_private_key(ec.SECP256R1())
    raw = key.private_numbers().private_value.to_bytes(32, "big")
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    insert = dialect.insert(DeploymentKey).values(
        name=KEY_NAME, value_sealed=seal(_b64url(raw)), public=public_key_of(key), created_at=utcnow()
    )
    session.execute(insert.on_conflict_do_nothing(index_elements=["name"]))
    query = select(DeploymentKey).where(DeploymentKey.name == KEY_NAME).execution_options(populate_existing=True)
    return session.execute(query).scalar_one()


def _raw_to_key(raw: bytes) -> ec.EllipticCurvePrivateKey:
    return ec.derive_private_key(int.from_bytes(raw, "big"), ec.SECP256R1())


def _bad_configured_key() -> Unavailable:
    return Unavailable(
        "WENZHENG_VAPID_PRIVATE_KEY is not a P-256 private key. Give the PEM, or base64url of the raw 32 bytes "
        "(for example from `vapid --gen`), or leave it empty to let wenzheng generate and keep one.",
        code="vapid_key_invalid",
    )


def _setting(name: str, default: str) -> str:
    # Read with getattr: the Web Push settings may be absent from older Settings classes.
    return str(getattr(get_settings(), name, default) or "").strip()


class Vapid:
    """The deployment's VAPID signer (RFC 8292). It signs one JWT per push-service origin and reuses it until
    an hour before it expires, so a batch of thousands of sends signs a handful. Safe to share across threads."""

    def __init__(self, private_key: ec.EllipticCurvePrivateKey, *, subject: str, lifetime: int = JWT_LIFETIME):
        self._signer = Vapid02(private_key)
        self.subject = subject
        self.public_key = public_key_of(private_key)
        self._lifetime = min(lifetime, 24 * 3600)
        self._cache: dict[str, tuple[str, int]] = {}
        self._lock = threading.Lock()
        try:  # refuse a bad subject now, with a clear message, rather than on every send
            self._signer.sign({"aud": "https://push.example.org", "sub": subject})
        except VapidException as exc:
            raise Unavailable(
                "WENZHENG_VAPID_SUBJECT must be a contact URL such as mailto:ops@agency.example.org "
                f"(got {subject!r}).",
                code="vapid_subject_invalid",
            ) from exc

    def authorization(self, endpoint: str, *, now: float | None = None) -> str:
        """The ``Authorization: vapid t=…,k=…`` value for a push to ``endpoint``."""
        origin = origin_of(endpoint)
        at = int(time.time() if now is None else now)
        with self._lock:
            cached = self._cache.get(origin)
            if cached is not None and cached[1] - at > JWT_RENEW_WITHIN:
                return cached[0]
            expires = at + self._lifetime
            header = str(self._signer.sign({"aud": origin, "exp": expires, "sub": self.subject})["Authorization"])
            self._cache[origin] = (header, expires)
            return header


def origin_of(endpoint: str) -> str:
    """``scheme://host[:port]`` of a URL, the VAPID ``aud`` (default ports left out, as browsers write it)."""
    parts = urlsplit(endpoint)
    scheme, host, port = parts.scheme.lower(), (parts.hostname or ""), parts.port
    if ":" in host:
        host = f"[{host}]"
    default = {"https": 443, "http": 80}.get(scheme)
    return f"{scheme}://{host}" if port in (None, default) else f"{scheme}://{host}:{port}"


# --- Subscriptions --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BrowserSubscription:
    """A browser's PushSubscription (``subscription.toJSON()``), checked."""

    endpoint: str
    p256dh: str
    auth: str


def checked_subscription(subscription: object) -> BrowserSubscription:
    """The subscription the page posted, checked field by field, or a clear InvalidInput."""
    if not isinstance(subscription, Mapping):
        raise InvalidInput(
            "Send the browser's push subscription as a JSON object (subscription.toJSON()).",
            code="invalid_push_subscription",
        )
    keys = subscription.get("keys")
    if not isinstance(keys, Mapping):
        raise InvalidInput(
            "The push subscription has no keys; the browser must subscribe with an applicationServerKey.",
            code="missing_push_keys",
        )
    return BrowserSubscription(
        endpoint=checked_endpoint(subscription.get("endpoint")),
        p256dh=_checked_p256dh(keys.get("p256dh")),
        auth=_checked_auth(keys.get("auth")),
    )


def checked_position(value: object) -> tuple[float, float] | None:
    """The browser's position ``{"latitude", "longitude"}`` (WGS-84 degrees) when given, else None."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise _bad_position()
    return _degrees(value.get("latitude"), 90), _degrees(value.get("longitude"), 180)


def _degrees(value: object, limit: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or abs(value) > limit:
        raise _bad_position()
    return float(value)


def _bad_position() -> InvalidInput:
    return InvalidInput(
        'The position must be {"latitude": degrees from -90 to 90, "longitude": from -180 to 180}, or left out.',
        code="invalid_position",
    )


def checked_endpoint(value: object) -> str:
    """An https URL of a push service on the public internet (http to this machine only when allowed)."""
    if not isinstance(value, str) or not value or len(value) > MAX_ENDPOINT_LENGTH or not value.isprintable():
        raise _bad_endpoint(f"The push endpoint must be a URL of at most {MAX_ENDPOINT_LENGTH} characters.")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise _bad_endpoint("The push endpoint is not a valid URL.") from exc
    if not parts.hostname or parts.username is not None or parts.password is not None or " " in value:
        raise _bad_endpoint("The push endpoint is not a valid URL.")
    _check_endpoint_host(parts)
    return value


def _check_endpoint_host(parts: SplitResult) -> None:
    host = (parts.hostname or "").lower()
    local = host in LOCAL_HOSTS
    if local and _local_endpoints_allowed() and parts.scheme in ("http", "https"):
        return
    if parts.scheme != "https":
        raise InvalidInput(
            "The push endpoint must use https; push services never use plain http.", code="insecure_push_endpoint"
        )
    if local or host.endswith((".localhost", ".local")) or not _is_public_address(host):
        raise InvalidInput(
            "The push endpoint must be a push service on the internet, not a local or private address.",
            code="push_endpoint_not_public",
        )


def _is_public_address(host: str) -> bool:
    """False for IP literals outside the public internet; names are not resolved here (see docs/webpush.md)."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return True
    return address.is_global


def _local_endpoints_allowed() -> bool:
    settings = get_settings()
    return settings.mode is Mode.TEST or bool(getattr(settings, "webpush_allow_local_http", False))


def _checked_p256dh(value: object) -> str:
    raw = _decoded_or_none(value)
    if raw is not None and len(raw) == 65 and raw[0] == 4:
        try:
            ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)
            return _b64url(raw)
        except ValueError:
            pass
    raise InvalidInput(
        "keys.p256dh must be the browser's P-256 public key: 65 bytes (an uncompressed point) in base64url.",
        code="invalid_push_key",
    )


def _checked_auth(value: object) -> str:
    raw = _decoded_or_none(value)
    if raw is None or len(raw) != 16:
        raise InvalidInput("keys.auth must be the browser's 16-byte secret in base64url.", code="invalid_push_auth")
    return _b64url(raw)


def _bad_endpoint(message: str) -> InvalidInput:
    return InvalidInput(message, code="invalid_push_endpoint")


def hash_endpoint(endpoint: str) -> str:
    """The follower handle and lookup key of a subscription: endpoints are long and are capabilities."""
    return hashlib.sha256(endpoint.encode()).hexdigest()


def subscribe(
    session: Session,
    account: Account,
    subscription: object,
    *,
    user_agent: str,
    browser_token: str = "",
    language: str | None = None,
) -> PushSubscription:
    """Follow ``account`` from a browser: the checked subscription, its ``webpush`` follower and citizen.

    Idempotent per endpoint: subscribing again refreshes the keys and follows again after an unfollow.
    ``browser_token`` (the page's cookie) makes the follower the same citizen as that browser's messages;
    ``language`` (the page's) is the language of the bulletins it will show.
    Does not commit; two racing first subscriptions meet on unique keys and the caller retries the loser.
    """
    checked = checked_subscription(subscription)
    fields = subscription if isinstance(subscription, Mapping) else {}
    position = checked_position(fields.get("position"))
    named = checked_region(fields.get("place"))  # 宝兴县, typed: it wins over the position
    endpoint_hash = hash_endpoint(checked.endpoint)
    follower = _follow(session, account, endpoint_hash, browser_token, language)
    if named is not None:
        follower.region_code = named
    elif position is not None:
        # 本地预警: the county is kept, the position itself is not (an alert for a county reaches this browser).
        follower.region_code = nearest_county(*position) or follower.region_code
    row = _subscription_of(session, account.id, endpoint_hash)
    if row is None:
        row = PushSubscription(
            agency_id=account.agency_id,
            account_id=account.id,
            follower_id=follower.id,
            endpoint=checked.endpoint,
            endpoint_hash=endpoint_hash,
        )
        session.add(row)
    row.p256dh, row.auth = checked.p256dh, checked.auth
    row.user_agent = user_agent[:200]
    row.failures = 0
    session.flush()
    return row


def unsubscribe(session: Session, account: Account, endpoint: object) -> bool:
    """The browser stopped: unfollow and forget the subscription. False when it was not known."""
    if not isinstance(endpoint, str) or not endpoint or len(endpoint) > MAX_ENDPOINT_LENGTH:
        raise _bad_endpoint("Give the endpoint of the subscription to remove.")
    row = _subscription_of(session, account.id, hash_endpoint(endpoint))
    if row is None:
        return False
    _end(session, row)
    return True


def prune(session: Session, subscription_ids: Iterable[int]) -> int:
    """Subscriptions the push service called gone (404/410): deleted, their followers unfollowed."""
    ended = 0
    for chunk in _chunks(subscription_ids):
        for row in session.scalars(select(PushSubscription).where(PushSubscription.id.in_(chunk))).all():
            _end(session, row)
            ended += 1
    session.flush()
    return ended


def prune_followers(session: Session, follower_ids: Iterable[int]) -> int:
    """``prune`` for the subscriptions behind these followers (the fan-out knows deliveries by follower)."""
    ended = 0
    for chunk in _chunks(follower_ids):
        ids = session.scalars(select(PushSubscription.id).where(PushSubscription.follower_id.in_(chunk))).all()
        ended += prune(session, ids)
    return ended


def record_success(session: Session, subscription_ids: Iterable[int]) -> None:
    """Accepted by the push service: note when, and clear the failure count."""
    now = utcnow()
    for chunk in _chunks(subscription_ids):
        session.execute(
            update(PushSubscription).where(PushSubscription.id.in_(chunk)).values(last_success_at=now, failures=0)
        )


def record_failure(session: Session, subscription_ids: Iterable[int]) -> None:
    """Refused or unreachable (not gone): count it, so housekeeping can spot subscriptions that never work."""
    for chunk in _chunks(subscription_ids):
        session.execute(
            update(PushSubscription)
            .where(PushSubscription.id.in_(chunk))
            .values(failures=PushSubscription.failures + 1)
        )


def _follow(
    session: Session, account: Account, endpoint_hash: str, browser_token: str, language: str | None
) -> Follower:
    handles = ((CHANNEL, endpoint_hash), ("web", browser_token))
    follower = follow_without_message(session, account, CHANNEL, handles, tags=("from:web",), language=language)
    session.flush()
    return follower


def _end(session: Session, row: PushSubscription) -> None:
    follower = session.get(Follower, row.follower_id)
    account = session.get(Account, row.account_id)
    if follower is not None and account is not None and follower.state == FollowerState.FOLLOWING:
        unfollow = Inbound(
            channel=CHANNEL,
            channel_message_id="",
            kind="event",
            handle=row.endpoint_hash,
            follow_action=FollowAction.UNFOLLOW,
        )
        apply_follow_action(session, account, follower.citizen_id, unfollow)
    session.delete(row)


def _subscription_of(session: Session, account_id: int, endpoint_hash: str) -> PushSubscription | None:
    query = (
        select(PushSubscription)
        .where(PushSubscription.account_id == account_id)
        .where(PushSubscription.endpoint_hash == endpoint_hash)
    )
    return session.execute(query).scalar_one_or_none()


# --- Sending --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PushTarget:
    """What a send needs, read in a transaction and used outside it."""

    subscription_id: int
    endpoint: str
    p256dh: str
    auth: str

    def subscription_info(self) -> dict[str, Any]:
        return {"endpoint": self.endpoint, "keys": {"p256dh": self.p256dh, "auth": self.auth}}


@dataclass(frozen=True)
class PushOutcome:
    """What the push service answered: accepted, gone (prune it), worth retrying, or refused for good."""

    ok: bool
    gone: bool
    retryable: bool
    status: int | None
    reason: str
    retry_after: int | None = None  # seconds, from a 429 or 503's Retry-After


def push_targets(session: Session, follower_ids: Iterable[int]) -> dict[int, PushTarget]:
    """The subscription behind each follower that has one, by follower id."""
    targets: dict[int, PushTarget] = {}
    for chunk in _chunks(follower_ids):
        rows = session.execute(
            select(
                PushSubscription.follower_id,
                PushSubscription.id,
                PushSubscription.endpoint,
                PushSubscription.p256dh,
                PushSubscription.auth,
            ).where(PushSubscription.follower_id.in_(chunk))
        )
        for follower_id, subscription_id, endpoint, p256dh, auth in rows:
            targets[follower_id] = PushTarget(subscription_id, endpoint, p256dh, auth)
    return targets


def new_http_session() -> requests.Session:
    """A pooled HTTP session for push sends. Push services never redirect, so a redirect is refused rather
    than followed (an endpoint is a URL a stranger gave us)."""
    http = requests.Session()
    http.max_redirects = 0
    http.headers["User-Agent"] = f"wenzheng/{__version__} (Web Push)"
    return http


def send_push(
    target: PushTarget,
    payload: Mapping[str, Any],
    *,
    vapid: Vapid,
    ttl: int,
    urgency: str = "normal",
    topic: str | None = None,
    http: requests.Session | None = None,
    timeout: float | None = None,
) -> PushOutcome:
    """Encrypt ``payload`` (JSON) for one browser and POST it to its push service. Never raises for what the
    push service or the network does; the outcome says whether to prune, retry or give up."""
    data, headers = encode_payload(payload), push_headers(ttl=ttl, urgency=urgency, topic=topic)
    owned = http is None
    session = new_http_session() if http is None else http
    try:
        return _send(target, data, headers, vapid, ttl, session, timeout)
    finally:
        if owned:
            session.close()


def send_many(
    targets: Iterable[PushTarget],
    payload: Mapping[str, Any],
    *,
    vapid: Vapid,
    ttl: int,
    urgency: str = "normal",
    topic: str | None = None,
    concurrency: int = 8,
    timeout: float | None = None,
) -> dict[int, PushOutcome]:
    """``send_push`` to many browsers over a small thread pool, one pooled HTTP session per thread.
    Returns the outcome of every target, by subscription id."""
    todo = list(targets)
    if not todo:
        return {}
    data, headers = encode_payload(payload), push_headers(ttl=ttl, urgency=urgency, topic=topic)
    local = threading.local()
    sessions: list[requests.Session] = []
    lock = threading.Lock()

    def http() -> requests.Session:
        session: requests.Session | None = getattr(local, "http", None)
        if session is None:
            session = local.http = new_http_session()
            with lock:
                sessions.append(session)
        return session

    def one(target: PushTarget) -> tuple[int, PushOutcome]:
        try:
            return target.subscription_id, _send(target, data, headers, vapid, ttl, http(), timeout)
        except Exception as exc:  # a bug must not lose the outcomes of the rest of the batch
            log.exception("web push to subscription %s failed unexpectedly", target.subscription_id)
            return target.subscription_id, PushOutcome(False, False, False, None, f"internal error: {exc!r}"[:200])

    workers = max(1, min(concurrency, len(todo)))
    try:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="webpush") as pool:
            return dict(pool.map(one, todo))
    finally:
        for session in sessions:
            session.close()


def encode_payload(payload: Mapping[str, Any]) -> bytes:
    """Compact UTF-8 JSON, within what one Web Push record carries."""
    data = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    if len(data) > MAX_PAYLOAD_BYTES:
        raise ValueError(f"the push payload is {len(data)} bytes; Web Push carries at most {MAX_PAYLOAD_BYTES}")
    return data


def push_headers(*, ttl: int, urgency: str, topic: str | None) -> dict[str, str]:
    """The RFC 8030 headers besides TTL (which pywebpush writes): Urgency, and Topic when given."""
    if ttl < 0:
        raise ValueError("TTL must be zero or more seconds")
    if urgency not in URGENCIES:
        raise ValueError(f"urgency must be one of {', '.join(URGENCIES)}")
    headers = {"Urgency": urgency}
    if topic is not None:
        if not TOPIC_RE.match(topic):
            raise ValueError("a Topic is 1 to 32 base64url characters")
        headers["Topic"] = topic
    return headers


def _send(
    target: PushTarget,
    data: bytes,
    headers: Mapping[str, str],
    vapid: Vapid,
    ttl: int,
    http: requests.Session,
    timeout: float | None,
) -> PushOutcome:
    try:
        signed = {**headers, "Authorization": vapid.authorization(target.endpoint)}
        pusher = WebPusher(target.subscription_info(), requests_session=http)
        response = pusher.send(data, signed, ttl=ttl, content_encoding="aes128gcm", timeout=timeout or _timeout())
    except requests.TooManyRedirects:
        return PushOutcome(False, False, False, None, "the push service redirected; push services never do")
    except requests.RequestException as exc:
        return PushOutcome(False, False, True, None, f"push service unreachable: {type(exc).__name__}")
    except (WebPushException, VapidException, ValueError, binascii.Error) as exc:
        return PushOutcome(False, False, False, None, f"not sent: {exc}"[:200])
    assert isinstance(response, requests.Response)
    return outcome_of(response.status_code, response.headers.get("Retry-After"), response.text)


def outcome_of(status: int, retry_after: str | None = None, body: str = "") -> PushOutcome:
    """What an answer of the push service means for us (protocols.md 4.5)."""
    detail = " ".join(body.split())[:100]
    if status in (200, 201, 202):
        return PushOutcome(True, False, False, status, "accepted")
    if status in (404, 410):
        reason = f"the browser unsubscribed or the subscription expired (HTTP {status})"
        return PushOutcome(False, True, False, status, reason)
    if status == 429 or status >= 500:
        reason = f"push service busy (HTTP {status}); try later"
        return PushOutcome(False, False, True, status, reason, _seconds(retry_after))
    if status in (401, 403):
        reason = f"VAPID refused (HTTP {status}): was the key changed since this browser subscribed? {detail}"
        return PushOutcome(False, False, False, status, reason.strip()[:200])
    if status == 413:
        return PushOutcome(False, False, False, status, "payload too large for the push service")
    return PushOutcome(False, False, False, status, f"refused (HTTP {status}) {detail}".strip()[:200])


def _seconds(retry_after: str | None) -> int | None:
    if not retry_after:
        return None
    if retry_after.strip().isdigit():
        return int(retry_after.strip())
    try:
        when = email.utils.parsedate_to_datetime(retry_after)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0, int((when - utcnow()).total_seconds()))


def _timeout() -> float:
    return float(getattr(get_settings(), "webpush_timeout_seconds", DEFAULT_TIMEOUT))


# --- Bulletins as notifications -------------------------------------------------------------------------


def bulletin_payload(bulletin: Bulletin, url: str, *, language: str | None = None) -> dict[str, Any]:
    """The notification for a bulletin, in the follower's language where it has that version. ``tag`` lets the
    service worker replace rather than repeat it."""
    version = version_of(bulletin, language)
    payload: dict[str, Any] = {
        "title": version.title,
        "body": summary(version.body or version.instruction or ""),
        "url": url,
        "tag": bulletin_tag(bulletin),
        "kind": bulletin.kind,
    }
    if bulletin.kind == BulletinKind.ALERT and bulletin.cap_severity:
        payload["severity"] = bulletin.cap_severity
    if bulletin.kind == BulletinKind.ALERT and bulletin.warning_colour:
        payload["colour"] = bulletin.warning_colour
    return payload


def ttl_and_urgency(bulletin: Bulletin, *, now: dt.datetime | None = None) -> tuple[int, str]:
    """Alerts go out with high urgency and live until they expire (at most a week); the rest for a day."""
    if bulletin.kind != BulletinKind.ALERT:
        return DEFAULT_TTL, "normal"
    if bulletin.expires_at is None:
        return DEFAULT_TTL, "high"
    left = int((bulletin.expires_at - (now or utcnow())).total_seconds())
    return max(0, min(left, MAX_ALERT_TTL)), "high"


def bulletin_tag(bulletin: Bulletin) -> str:
    return f"bulletin-{bulletin.id}"


def summary(text: str, limit: int = BODY_LIMIT) -> str:
    """``text`` on one line, within ``limit`` characters: cut at a sentence (else a clause) end near the
    limit, with an ellipsis."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    cut = flat[: limit - 1]
    for marks in ("。！？!?.", "；;，,、 "):  # a sentence end if one is near the limit, else a clause end
        boundary = max(cut.rfind(mark) for mark in marks)
        if boundary >= limit * 0.6:
            return cut[: boundary + 1].rstrip(" ，,;；、") + "…"
    return cut.rstrip() + "…"


# --- Small helpers --------------------------------------------------------------------------------------


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _b64url_decode(text: str) -> bytes:
    stripped = text.strip().rstrip("=")
    if not B64URL_RE.match(stripped):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(stripped + "=" * (-len(stripped) % 4))


def _decoded_or_none(value: object) -> bytes | None:
    if not isinstance(value, str) or len(value) > 200:
        return None
    try:
        return _b64url_decode(value)
    except (ValueError, binascii.Error):
        return None


def _chunks(ids: Iterable[int]) -> Iterator[Sequence[int]]:
    batch = list(dict.fromkeys(ids))
    for start in range(0, len(batch), IN_CHUNK):
        yield batch[start : start + IN_CHUNK]
