"""/wechat/{account}: the server URL an agency enters in the WeChat admin console.

Pushes are the hottest requests of the platform (a crisis brings thousands a second), and FastAPI's
middleware, routing, parameter handling and response wrappers cost several times what answering one takes.
So the app (``wenzheng.app``) hands ``POST /wechat/{account}`` straight to ``answer_push``, plain ASGI: the
very same steps as the route below (which stays for an app without that shortcut) and the same error answers.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from sqlalchemy.exc import IntegrityError, OperationalError
from starlette.concurrency import run_in_threadpool
from starlette.responses import PlainTextResponse, Response
from starlette.types import Receive, Scope, Send

from wenzheng.channels.wechat.callback import OpenedPush, Query, accept_request, answer, open_push, verify_url
from wenzheng.config import get_settings
from wenzheng.errors import PayloadTooLarge, WenzhengError
from wenzheng.intake.actions import Accepted
from wenzheng.intake.writer import intake_writer
from wenzheng.web.errors import handle_database_down, handle_wenzheng_error
from wenzheng.web.limits import limited_body

PREFIX = "/wechat"
router = APIRouter(prefix=PREFIX)


@router.get("/{account}")
async def wechat_verify(request: Request, account: str, echostr: str = "") -> Response:
    query = Query.of(dict(request.query_params))
    return PlainTextResponse(await run_in_threadpool(verify_url, account, query, echostr))


@router.post("/{account}")
async def wechat_push(request: Request, account: str) -> Response:
    body = await limited_body(request, get_settings().wechat_max_body_bytes)
    content, media_type = await _answer_push(account, Query.of(dict(request.query_params)), body)
    return Response(content, media_type=media_type)


async def _answer_push(slug: str, query: Query, body: bytes) -> tuple[bytes, str]:
    """Verify and open the push, have the intake writer store it (with its neighbours, in one commit), and
    only then render the answer: nothing is acknowledged before it is durable."""
    opened = open_push(slug, query, body)
    accepted = await _accept(opened)
    return answer(opened, accepted)


async def _accept(opened: OpenedPush) -> Accepted:
    request = accept_request(opened)
    try:
        return await intake_writer().accept(request)
    except IntegrityError:
        # Another process stored the same push (or its sender) a moment ago: the retry finds it.
        return await intake_writer().accept(request)


def push_slug(scope: Scope) -> str | None:
    """The account of a ``POST /wechat/{account}`` (what the route would match), else None."""
    if scope["type"] != "http" or scope["method"] != "POST":
        return None
    path: str = scope["path"]
    slug = path[len(PREFIX) + 1 :]
    return slug if path.startswith(PREFIX + "/") and slug and "/" not in slug else None


async def answer_push(scope: Scope, receive: Receive, send: Send, slug: str) -> None:
    """``POST /wechat/{account}`` as plain ASGI: the route's steps, and its error answers (web/errors.py)."""
    try:
        body = await _body(scope, receive, get_settings().wechat_max_body_bytes)
        if body is None:
            return  # the client went away before sending it all: nobody to answer
        # As Starlette's request.query_params: blank values kept, the last of a repeated name wins.
        query = Query.of(dict(parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)))
        content, media_type = await _answer_push(slug, query, body)
    except (WenzhengError, OperationalError) as exc:
        request = Request(scope, receive)
        if isinstance(exc, WenzhengError):
            response = await handle_wenzheng_error(request, exc)
        else:
            response = await handle_database_down(request, exc)
        await response(scope, receive, send)
        return
    if media_type.startswith("text/"):
        media_type += "; charset=utf-8"  # as Starlette's Response
    headers = [(b"content-length", str(len(content)).encode()), (b"content-type", media_type.encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": content})


async def _body(scope: Scope, receive: Receive, limit: int) -> bytes | None:
    """The request body, refused (413) as soon as it passes ``limit`` (as ``web.limits.limited_body``)."""
    for name, value in scope["headers"]:
        if name == b"content-length" and value.isdigit() and int(value) > limit:
            raise PayloadTooLarge(f"The body is larger than the {limit} bytes allowed.", code="payload_too_large")
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"The body is larger than the {limit} bytes allowed.", code="payload_too_large")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)
