"""A real Web Push service on 127.0.0.1 (RFC 8030 / 8291 / 8292), for the sending tests.

Browsers are simulated as a browser does it: each ``Browser`` has its own P-256 key pair and 16-byte auth
secret, and its endpoint on this service. The service checks what a real push service checks — the VAPID
``Authorization: vapid t=<JWT>,k=<key>`` (ES256 signature by ``k``, ``aud`` = this origin, ``exp`` in the
future and at most 24 h ahead, a contact ``sub``), the TTL / Urgency / Topic headers and
``Content-Encoding: aes128gcm`` — then decrypts the body with the browser's private key and auth secret
and records the plaintext. Tests can make chosen endpoints answer 404, 410, 429 or 500.
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import re
import secrets
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import http_ece
import uvicorn
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

URGENCIES = {"very-low", "low", "normal", "high"}
TOPIC = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Browser:
    """One browser's subscription: what ``pushManager.subscribe`` makes, private key included."""

    endpoint: str
    private_key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    auth_secret: bytes = field(default_factory=lambda: os.urandom(16))

    @property
    def token(self) -> str:
        return self.endpoint.rsplit("/", 1)[1]

    @property
    def p256dh(self) -> str:
        point = self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return b64url(point)

    def to_json(self) -> dict[str, Any]:
        """``PushSubscription.toJSON()``."""
        keys = {"p256dh": self.p256dh, "auth": b64url(self.auth_secret)}
        return {"endpoint": self.endpoint, "expirationTime": None, "keys": keys}


@dataclass
class Delivered:
    """A push the service accepted, decrypted."""

    token: str
    headers: dict[str, str]
    claims: dict[str, Any]
    vapid_key: str
    body: bytes
    plaintext: bytes

    @property
    def payload(self) -> Any:
        return json.loads(self.plaintext)


@dataclass
class PushState:
    """What the service knows. Tests read and steer it; handlers change it under ``lock``."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    browsers: dict[str, Browser] = field(default_factory=dict)
    answers: dict[str, int] = field(default_factory=dict)  # token -> status to answer instead of accepting
    retry_after: str | None = None
    delivered: list[Delivered] = field(default_factory=list)
    rejected: list[tuple[str, int, str]] = field(default_factory=list)  # (token, status, why)
    expected_key: str | None = None  # the applicationServerKey the browsers subscribed with

    def for_token(self, token: str) -> list[Delivered]:
        with self.lock:
            return [d for d in self.delivered if d.token == token]


class Refused(Exception):
    def __init__(self, status: int, why: str) -> None:
        super().__init__(why)
        self.status = status
        self.why = why


class PushApp:
    def __init__(self, state: PushState, origin: str) -> None:
        self.state = state
        self.origin = origin
        self._locations = itertools.count(1)
        self.app = Starlette(routes=[Route("/push/{token}", self.push, methods=["POST"])])

    async def push(self, request: Request) -> Response:
        token = request.path_params["token"]
        body = await request.body()
        with self.state.lock:
            browser = self.state.browsers.get(token)
            answer = self.state.answers.get(token)
        try:
            if browser is None:
                raise Refused(404, "unknown subscription")
            claims, key = self._check_vapid(request.headers.get("authorization", ""))
            self._check_headers(request.headers, body)
            plaintext = self._decrypt(browser, body)
        except Refused as refused:
            with self.state.lock:
                self.state.rejected.append((token, refused.status, refused.why))
            return Response(refused.why, status_code=refused.status)
        if answer is not None:
            headers = {"Retry-After": self.state.retry_after} if self.state.retry_after else None
            return Response(f"answering {answer} as told", status_code=answer, headers=headers)
        delivered = Delivered(token, dict(request.headers), claims, key, body, plaintext)
        with self.state.lock:
            self.state.delivered.append(delivered)
        location = f"{self.origin}/message/{next(self._locations)}"
        return Response(status_code=201, headers={"Location": location, "TTL": request.headers["ttl"]})

    def _check_vapid(self, authorization: str) -> tuple[dict[str, Any], str]:
        scheme, _, rest = authorization.partition(" ")
        if scheme.lower() != "vapid":
            raise Refused(401, "missing VAPID authorization")
        params = dict(part.strip().split("=", 1) for part in rest.split(",") if "=" in part)
        jwt, key = params.get("t", ""), params.get("k", "")
        header = json.loads(b64url_decode(jwt.split(".")[0])) if jwt.count(".") == 2 else {}
        if header.get("alg") != "ES256" or header.get("typ") != "JWT":
            raise Refused(401, "the JWT must be ES256")
        try:
            claims = verified_claims(jwt, key)
        except (InvalidSignature, ValueError) as exc:
            raise Refused(401, "bad VAPID signature") from exc
        now = time.time()
        if claims.get("aud") != self.origin:
            raise Refused(403, f"aud {claims.get('aud')!r} is not {self.origin!r}")
        if not isinstance(claims.get("exp"), int) or not now < claims["exp"] <= now + 86400:
            raise Refused(403, "exp must be in the future and at most 24 hours ahead")
        if not str(claims.get("sub", "")).startswith(("mailto:", "https://")):
            raise Refused(403, "sub must be a mailto: or https: contact")
        if self.state.expected_key is not None and key != self.state.expected_key:
            raise Refused(403, "not the key the browser subscribed with")
        return claims, key

    def _check_headers(self, headers: Any, body: bytes) -> None:
        ttl = headers.get("ttl", "")
        if not ttl.isdigit():
            raise Refused(400, "TTL is required")
        urgency = headers.get("urgency")
        if urgency is not None and urgency not in URGENCIES:
            raise Refused(400, f"bad Urgency {urgency!r}")
        topic = headers.get("topic")
        if topic is not None and not TOPIC.match(topic):
            raise Refused(400, f"bad Topic {topic!r}")
        if headers.get("content-encoding") != "aes128gcm":
            raise Refused(415, "Content-Encoding must be aes128gcm")
        if len(body) > 4096:
            raise Refused(413, "more than 4096 bytes")

    def _decrypt(self, browser: Browser, body: bytes) -> bytes:
        try:
            plaintext: bytes = http_ece.decrypt(
                body, private_key=browser.private_key, auth_secret=browser.auth_secret, version="aes128gcm"
            )
        except Exception as exc:  # http_ece raises several types for a body it cannot read
            raise Refused(400, f"cannot decrypt: {exc!r}") from exc
        return plaintext


def verified_claims(jwt: str, key: str) -> dict[str, Any]:
    """The claims of an ES256 JWT, checked against the uncompressed P-256 public key ``key`` (RFC 7518 3.4),
    with ``cryptography`` alone so the check does not share code with the signer under test."""
    signed, _, signature = jwt.rpartition(".")
    raw = b64url_decode(signature)
    if len(raw) != 64:
        raise InvalidSignature()
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b64url_decode(key))
    public.verify(der, signed.encode(), ec.ECDSA(hashes.SHA256()))
    claims: dict[str, Any] = json.loads(b64url_decode(signed.split(".")[1]))
    return claims


class _Server(uvicorn.Server):
    """uvicorn that tells when it is listening, so starting needs no polling."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = threading.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        self.ready.set()


class PushService:
    """The push service on 127.0.0.1 at a free port, served by uvicorn in a background thread."""

    def __init__(self) -> None:
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.socket.bind(("127.0.0.1", 0))
        self.origin = f"http://127.0.0.1:{self.socket.getsockname()[1]}"
        self.state = PushState()
        config = uvicorn.Config(PushApp(self.state, self.origin).app, log_level="warning", lifespan="off")
        self.server = _Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True)

    def start(self) -> None:
        self.thread.start()
        if not self.server.ready.wait(timeout=10):
            raise RuntimeError("the push service did not start")

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.socket.close()

    def reset(self) -> PushState:
        fresh = PushState()
        with self.state.lock:
            for name in fresh.__dataclass_fields__:
                if name != "lock":
                    setattr(self.state, name, getattr(fresh, name))
        return self.state

    def new_browser(self) -> Browser:
        browser = Browser(endpoint=f"{self.origin}/push/{secrets.token_urlsafe(24)}")
        with self.state.lock:
            self.state.browsers[browser.token] = browser
        return browser
