"""/sms/inbound and /sms/receipts: the SMS gateway's webhooks, signed with the shared secret."""

from __future__ import annotations

import asyncio
from functools import partial

from fastapi import APIRouter, Request
from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, Response

from wenzheng.channels.sms.actions import accept_sms, record_receipt
from wenzheng.channels.sms.gateway import SIGNATURE_HEADER, signature_valid
from wenzheng.channels.sms.inbound import parse_webhook, require_signature, to_push
from wenzheng.config import get_settings
from wenzheng.db import session_scope
from wenzheng.intake.writer import intake_writer
from wenzheng.web.limits import limited_body

router = APIRouter(prefix="/sms")


@router.post("/inbound")
async def sms_inbound(request: Request) -> Response:
    body = await limited_body(request, get_settings().sms_max_body_bytes)
    require_signature(signature_valid(body, request.headers.get(SIGNATURE_HEADER, "")))
    fields = parse_webhook(body, request.headers.get("content-type", ""))
    work = partial(accept_sms, push=to_push(fields), raw=fields)
    try:
        accepted = await asyncio.wrap_future(intake_writer().submit(work))
    except IntegrityError:  # the same SMS arrived through another process a moment ago
        accepted = await asyncio.wrap_future(intake_writer().submit(work))
    return JSONResponse({"ok": True, "ref": accepted.ref, "duplicate": accepted.duplicate})


@router.post("/receipts")
async def sms_receipt(request: Request) -> Response:
    body = await limited_body(request, get_settings().sms_max_body_bytes)
    require_signature(signature_valid(body, request.headers.get(SIGNATURE_HEADER, "")))
    fields = parse_webhook(body, request.headers.get("content-type", ""))
    known = await run_in_threadpool(_record, fields)
    return JSONResponse({"ok": True, "known": known})


def _record(fields: dict[str, str]) -> bool:
    with session_scope() as session:
        return record_receipt(session, fields) is not None
