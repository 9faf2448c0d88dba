"""A local server that speaks WeChat's documented server API (protocols.md 1.9), for the outbound tests.

It keeps its state in a ``FakeWeChat`` the tests read and steer: tokens (the same one while valid,
``force_refresh``, expiry and revocation on demand), the 48-hour window and its quota per OpenID,
the mass-send quota and clientmsgids, template sends, uploaded and downloadable media. Every request
is recorded with its raw body, so tests can check what wenzheng actually sent.
"""

from __future__ import annotations

import itertools
import json
import socket
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

import anyio
import uvicorn
from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

TOKEN_LIFETIME = 7200
RENEW_WITHIN = 300  # stable_token renews a token in its last five minutes
CUSTOM_QUOTA = 5


@dataclass
class Recorded:
    path: str
    params: dict[str, str]
    body: bytes
    json: Any = None


@dataclass
class Token:
    value: str
    expires_at: float


@dataclass
class FakeWeChat:
    """What the fake WeChat knows. Tests set fields directly; handlers change them under ``lock``."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    apps: dict[str, str] = field(default_factory=dict)
    tokens: dict[str, Token] = field(default_factory=dict)
    retired: dict[str, int] = field(default_factory=dict)  # old token -> the errcode it now gets
    stuck_tokens: set[str] = field(default_factory=set)  # refused by APIs, yet handed out by stable_token
    reject_all_tokens: bool = False
    requests: list[Recorded] = field(default_factory=list)
    fail_next: dict[str, deque[int]] = field(default_factory=dict)  # path -> errcodes to answer first
    stable_token_gate: threading.Event | None = None  # when set, stable_token waits for it
    closed_windows: set[str] = field(default_factory=set)
    custom_used: Counter[str] = field(default_factory=Counter)
    mass_quota: int = 100
    mass_by_client_id: dict[str, int] = field(default_factory=dict)
    templates_by_client_id: dict[str, int] = field(default_factory=dict)
    mass_received: Counter[str] = field(default_factory=Counter)  # OpenID -> mass messages it got by list
    # Block the n-th list mass send (after WeChat took it) until the gate opens: a worker can be killed there.
    mass_list_gate: threading.Event | None = None
    mass_list_block_on: int = 0
    mass_list_blocked: threading.Event = field(default_factory=threading.Event)
    mass_list_calls: int = 0
    mass_status: dict[int, str] = field(default_factory=dict)  # msg_id -> what /mass/get says (else SEND_SUCCESS)
    media: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    video_cdn_down: bool = False  # the address media/get gives for a video answers 502
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1000))

    def register_app(self, app_id: str, secret: str) -> None:
        self.apps[app_id] = secret

    def calls(self, path: str) -> list[Recorded]:
        with self.lock:
            return [r for r in self.requests if r.path == path]

    def count(self, path: str) -> int:
        return len(self.calls(path))

    @property
    def stable_token_calls(self) -> int:
        return self.count("/cgi-bin/stable_token")

    def current_token(self, app_id: str) -> str:
        return self.tokens[app_id].value

    def expire_token(self, app_id: str) -> str:
        """The current token expires now: it gets 42001 and stable_token issues a new one."""
        with self.lock:
            token = self.tokens.pop(app_id)
            self.retired[token.value] = 42001
            return token.value

    def revoke_token(self, app_id: str) -> str:
        """The current token becomes invalid (as after a force_refresh elsewhere): 40001."""
        with self.lock:
            token = self.tokens.pop(app_id)
            self.retired[token.value] = 40001
            return token.value

    def fail(self, path: str, *errcodes: int) -> None:
        """Answer the next calls to ``path`` with these errcodes, one each, before behaving normally."""
        self.fail_next.setdefault(path, deque()).extend(errcodes)

    def next_id(self) -> int:
        return next(self._ids)


def _error(errcode: int, errmsg: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"errcode": errcode, "errmsg": errmsg, **extra})


def _ok(**fields: Any) -> JSONResponse:
    return JSONResponse({"errcode": 0, "errmsg": "ok", **fields})


class FakeApp:
    def __init__(self, state: FakeWeChat) -> None:
        self.state = state
        self.app = Starlette(
            routes=[
                Route("/cgi-bin/stable_token", self.stable_token, methods=["POST"]),
                Route("/cgi-bin/message/custom/send", self.custom_send, methods=["POST"]),
                Route("/cgi-bin/message/mass/sendall", self.mass_sendall, methods=["POST"]),
                Route("/cgi-bin/message/mass/send", self.mass_send_list, methods=["POST"]),
                Route("/cgi-bin/message/mass/get", self.mass_get, methods=["POST"]),
                Route("/cgi-bin/message/mass/preview", self.mass_preview, methods=["POST"]),
                Route("/cgi-bin/message/template/send", self.template_send, methods=["POST"]),
                Route("/cgi-bin/media/upload", self.media_upload, methods=["POST"]),
                Route("/cgi-bin/media/get", self.media_get, methods=["GET"]),
                Route("/video-cdn/{media_id}", self.video_file, methods=["GET"]),
            ]
        )

    async def _record(self, request: Request, *, parse_json: bool = True) -> Recorded:
        body = await request.body()
        recorded = Recorded(request.url.path, dict(request.query_params), body)
        if parse_json and body:
            recorded.json = json.loads(body)
        with self.state.lock:
            self.state.requests.append(recorded)
        return recorded

    def _refusal(self, recorded: Recorded) -> JSONResponse | None:
        """The answer for a bad token or a failure the test queued; None when the call may proceed."""
        state = self.state
        token = recorded.params.get("access_token", "")
        with state.lock:
            queued = state.fail_next.get(recorded.path)
            if queued:
                return _error(queued.popleft(), "queued failure")
            if not token:
                return _error(41001, "access_token missing")
            if state.reject_all_tokens or token in state.stuck_tokens:
                return _error(40001, "invalid credential, access_token is invalid or not latest")
            if token in state.retired:
                code = state.retired[token]
                return _error(code, "access_token expired" if code == 42001 else "invalid credential")
            if not any(t.value == token and t.expires_at > time.time() for t in state.tokens.values()):
                return _error(40001, "invalid credential, access_token is invalid or not latest")
        return None

    async def stable_token(self, request: Request) -> Response:
        recorded = await self._record(request)
        gate = self.state.stable_token_gate
        if gate is not None:
            await anyio.to_thread.run_sync(gate.wait, 30)
        body = recorded.json or {}
        state = self.state
        with state.lock:
            app_id = body.get("appid", "")
            if app_id not in state.apps:
                return _error(40013, "invalid appid")
            if state.apps[app_id] != body.get("secret"):
                return _error(40125, "invalid appsecret")
            token = state.tokens.get(app_id)
            now = time.time()
            if body.get("force_refresh") or token is None or token.expires_at - now < RENEW_WITHIN:
                if token is not None and body.get("force_refresh"):
                    state.retired[token.value] = 40001
                token = Token(f"ACCESS_TOKEN_{app_id}_{state.next_id()}", now + TOKEN_LIFETIME)
                state.tokens[app_id] = token
            return JSONResponse({"access_token": token.value, "expires_in": int(token.expires_at - now)})

    async def custom_send(self, request: Request) -> Response:
        recorded = await self._record(request)
        refusal = self._refusal(recorded)
        if refusal is not None:
            return refusal
        touser = recorded.json["touser"]
        with self.state.lock:
            if touser in self.state.closed_windows:
                return _error(45015, "response out of time limit or subscription is canceled")
            if self.state.custom_used[touser] >= CUSTOM_QUOTA:
                return _error(45047, "out of response count limit")
            self.state.custom_used[touser] += 1
        return _ok()

    async def mass_sendall(self, request: Request) -> Response:
        recorded = await self._record(request)
        refusal = self._refusal(recorded)
        if refusal is not None:
            return refusal
        client_id = recorded.json.get("clientmsgid", "")
        with self.state.lock:
            if client_id and client_id in self.state.mass_by_client_id:
                return _error(45065, "clientmsgid exist", msg_id=self.state.mass_by_client_id[client_id])
            if self.state.mass_quota <= 0:
                return _error(45028, "has no masssend quota")
            self.state.mass_quota -= 1
            msg_id = self.state.next_id()
            if client_id:
                self.state.mass_by_client_id[client_id] = msg_id
        return JSONResponse(
            {"errcode": 0, "errmsg": "send job submission success", "msg_id": msg_id, "msg_data_id": msg_id * 10}
        )

    async def mass_send_list(self, request: Request) -> Response:
        """POST /cgi-bin/message/mass/send: 2 to 10,000 OpenIDs; a clientmsgid seen before gets 45065."""
        recorded = await self._record(request)
        refusal = self._refusal(recorded)
        if refusal is not None:
            return refusal
        touser = recorded.json.get("touser", [])
        if not isinstance(touser, list) or not 2 <= len(touser) <= 10_000:
            return _error(40130, "invalid openid list size, at least two openid")
        client_id = recorded.json.get("clientmsgid", "")
        with self.state.lock:
            if client_id and client_id in self.state.mass_by_client_id:
                return _error(45065, "clientmsgid exist", msg_id=self.state.mass_by_client_id[client_id])
            msg_id = self.state.next_id()
            if client_id:
                self.state.mass_by_client_id[client_id] = msg_id
            for openid in dict.fromkeys(touser):
                self.state.mass_received[openid] += 1
            self.state.mass_list_calls += 1
            block = (
                self.state.mass_list_gate is not None and self.state.mass_list_calls == self.state.mass_list_block_on
            )
        if block and self.state.mass_list_gate is not None:
            self.state.mass_list_blocked.set()
            await anyio.to_thread.run_sync(self.state.mass_list_gate.wait, 60)
        return JSONResponse(
            {"errcode": 0, "errmsg": "send job submission success", "msg_id": msg_id, "msg_data_id": msg_id * 10}
        )

    async def mass_get(self, request: Request) -> Response:
        """POST /cgi-bin/message/mass/get: a mass send's state; a msg_id it never gave is invalid."""
        recorded = await self._record(request)
        refusal = self._refusal(recorded)
        if refusal is not None:
            return refusal
        msg_id = recorded.json.get("msg_id")
        with self.state.lock:
            known = msg_id in self.state.mass_by_client_id.values()
            status = self.state.mass_status.get(msg_id, "SEND_SUCCESS")
        if not isinstance(msg_id, int) or not known:
            return _error(40003, "invalid msg_id")
        return JSONResponse({"msg_id": msg_id, "msg_status": status})

    async def mass_preview(self, request: Request) -> Response:
        """POST /cgi-bin/message/mass/preview: to one user, by OpenID (touser) or WeChat ID (towxname)."""
        recorded = await self._record(request)
        refusal = self._refusal(recorded)
        if refusal is not None:
            return refusal
        if not (recorded.json.get("touser") or recorded.json.get("towxname")):
            return _error(40003, "invalid openid")
        return JSONResponse({"errcode": 0, "errmsg": "preview success", "msg_id": self.state.next_id()})

    async def template_send(self, request: Request) -> Response:
        recorded = await self._record(request)
        refusal = self._refusal(recorded)
        if refusal is not None:
            return refusal
        client_id = recorded.json.get("client_msg_id", "")
        with self.state.lock:
            msg_id = self.state.templates_by_client_id.get(client_id) or self.state.next_id()
            if client_id:
                self.state.templates_by_client_id[client_id] = msg_id
        return _ok(msgid=msg_id)

    async def media_upload(self, request: Request) -> Response:
        recorded = await self._record(request, parse_json=False)
        refusal = self._refusal(recorded)
        if refusal is not None:
            return refusal
        kind = recorded.params.get("type", "")
        if kind not in ("image", "voice", "video", "thumb"):
            return _error(40004, "invalid media type")
        form = await request.form()
        upload = form.get("media")
        if not isinstance(upload, UploadFile):
            return _error(41005, "media data missing")
        content = await upload.read()
        with self.state.lock:
            media_id = f"MEDIA_{self.state.next_id()}"
            self.state.media[media_id] = (content, upload.content_type or "application/octet-stream")
            recorded.json = {"filename": upload.filename, "content_type": upload.content_type, "size": len(content)}
        return JSONResponse({"type": kind, "media_id": media_id, "created_at": int(time.time())})

    async def media_get(self, request: Request) -> Response:
        recorded = await self._record(request, parse_json=False)
        refusal = self._refusal(recorded)
        if refusal is not None:
            return refusal
        with self.state.lock:
            found = self.state.media.get(recorded.params.get("media_id", ""))
        if found is None:
            # WeChat answers errors of this download API as JSON labelled text/plain.
            return Response(json.dumps({"errcode": 40007, "errmsg": "invalid media_id"}), media_type="text/plain")
        content, content_type = found
        if content_type.startswith("video/"):  # WeChat answers a video with where to fetch it, not the file
            video_url = f"{request.base_url}video-cdn/{recorded.params['media_id']}"
            return Response(json.dumps({"video_url": video_url}), media_type="text/plain")
        return Response(content, media_type=content_type, headers={"Content-Disposition": 'attachment; filename="m"'})

    async def video_file(self, request: Request) -> Response:
        recorded = await self._record(request, parse_json=False)
        assert "access_token" not in recorded.params  # the address is a plain download, no token attached
        with self.state.lock:
            found = self.state.media.get(request.path_params["media_id"])
        if self.state.video_cdn_down:
            return Response("bad gateway", status_code=502)
        if found is None or not found[1].startswith("video/"):
            return Response("not found", status_code=404)
        return Response(found[0], media_type=found[1])


class FakeServer:
    """The fake on 127.0.0.1 at a free port, served by uvicorn in a background thread."""

    def __init__(self) -> None:
        self.state = FakeWeChat()
        config = uvicorn.Config(FakeApp(self.state).app, log_level="warning", lifespan="off")
        self.server = uvicorn.Server(config)
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.socket.bind(("127.0.0.1", 0))
        self.base_url = f"http://127.0.0.1:{self.socket.getsockname()[1]}"
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True)

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the fake WeChat API did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.socket.close()

    def reset(self) -> FakeWeChat:
        fresh = FakeWeChat()
        for name in fresh.__dataclass_fields__:
            if name != "lock":
                setattr(self.state, name, getattr(fresh, name))
        return self.state
