"""/wechat/{account}: the server URL an agency enters in the WeChat admin console."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import PlainTextResponse, Response

from wenzheng.channels.wechat.callback import Query, receive_push, verify_url
from wenzheng.config import get_settings
from wenzheng.db import session_factory
from wenzheng.errors import PayloadTooLarge

router = APIRouter(prefix="/wechat")


@router.get("/{account}")
async def wechat_verify(request: Request, account: str, echostr: str = "") -> Response:
    query = Query.of(dict(request.query_params))
    return PlainTextResponse(await run_in_threadpool(_verify, account, query, echostr))


@router.post("/{account}")
async def wechat_push(request: Request, account: str) -> Response:
    body = await _limited_body(request, get_settings().wechat_max_body_bytes)
    query = Query.of(dict(request.query_params))
    content, media_type = await run_in_threadpool(_receive, account, query, body)
    return Response(content, media_type=media_type)


def _verify(account: str, query: Query, echostr: str) -> str:
    with session_factory()() as session:
        return verify_url(session, account, query, echostr)


def _receive(account: str, query: Query, body: bytes) -> tuple[bytes, str]:
    with session_factory()() as session:
        return receive_push(session, account, query, body)


async def _limited_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"A WeChat push is at most {limit} bytes.", code="payload_too_large")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"A WeChat push is at most {limit} bytes.", code="payload_too_large")
        chunks.append(chunk)
    return b"".join(chunks)
