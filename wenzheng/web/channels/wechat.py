"""/wechat/{account}: the server URL an agency enters in the WeChat admin console."""

from __future__ import annotations

import asyncio
from functools import partial

from fastapi import APIRouter, Request
from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool
from starlette.responses import PlainTextResponse, Response

from wenzheng.channels.wechat.callback import OpenedPush, Query, accept_push, answer, open_push, verify_url
from wenzheng.config import get_settings
from wenzheng.intake.actions import Accepted
from wenzheng.intake.writer import intake_writer
from wenzheng.web.limits import limited_body

router = APIRouter(prefix="/wechat")


@router.get("/{account}")
async def wechat_verify(request: Request, account: str, echostr: str = "") -> Response:
    query = Query.of(dict(request.query_params))
    return PlainTextResponse(await run_in_threadpool(verify_url, account, query, echostr))


@router.post("/{account}")
async def wechat_push(request: Request, account: str) -> Response:
    body = await limited_body(request, get_settings().wechat_max_body_bytes)
    opened = open_push(account, Query.of(dict(request.query_params)), body)
    accepted = await _accept(opened)
    content, media_type = answer(opened, accepted)
    return Response(content, media_type=media_type)


async def _accept(opened: OpenedPush) -> Accepted:
    work = partial(accept_push, opened=opened)
    try:
        return await asyncio.wrap_future(intake_writer().submit(work))
    except IntegrityError:
        # Another process stored the same push (or its sender) a moment ago: the retry finds it.
        return await asyncio.wrap_future(intake_writer().submit(work))
