"""/open311/v2: Open311 GeoReport v2 for civic software. GETs are public; POST needs an agency's api_key.

Every call but discovery names its account with ``jurisdiction_id`` (the account's slug). The URL suffix
picks the format (``.json`` or ``.xml``), errors included. The logic lives in wenzheng.channels.open311.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from functools import partial

from fastapi import APIRouter, Depends, Request
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from wenzheng.channels.open311.discovery import discovery
from wenzheng.channels.open311.errors import Open311Error, bad_request
from wenzheng.channels.open311.formats import Format, render_errors, render_list, render_object
from wenzheng.channels.open311.jurisdictions import jurisdiction_by_id
from wenzheng.channels.open311.requests import find_requests, parse_query, request_by_id
from wenzheng.channels.open311.services import service_by_code, services_of
from wenzheng.channels.open311.submit import (
    MAX_BODY_BYTES,
    NewRequest,
    accept_request,
    answer_fields,
    check_content_type,
    parse_form,
    prepare_request,
)
from wenzheng.errors import WenzhengError
from wenzheng.intake.actions import Accepted
from wenzheng.intake.writer import intake_writer
from wenzheng.web.deps import client_ip, get_db

router = APIRouter(prefix="/open311/v2")


@router.get("/discovery.{fmt}")
def open311_discovery(fmt: str) -> Response:
    return _answer(fmt, lambda f: render_object(f, "discovery", discovery()))


@router.get("/services.{fmt}")
def open311_services(request: Request, fmt: str, db: Session = Depends(get_db)) -> Response:
    def build(f: Format) -> Response:
        services = services_of(db, jurisdiction_by_id(db, request.query_params.get("jurisdiction_id")))
        return render_list(f, "services", [service.fields() for service in services])

    return _answer(fmt, build)


@router.get("/services/{service_code}.{fmt}")
def open311_service_definition(
    request: Request, service_code: str, fmt: str, db: Session = Depends(get_db)
) -> Response:
    def build(f: Format) -> Response:
        jurisdiction = jurisdiction_by_id(db, request.query_params.get("jurisdiction_id"))
        return render_object(f, "service_definition", service_by_code(db, jurisdiction, service_code).definition())

    return _answer(fmt, build)


@router.get("/requests.{fmt}")
def open311_requests(request: Request, fmt: str, db: Session = Depends(get_db)) -> Response:
    def build(f: Format) -> Response:
        params = dict(request.query_params)
        jurisdiction = jurisdiction_by_id(db, params.get("jurisdiction_id"))
        return render_list(f, "service_requests", find_requests(db, jurisdiction, parse_query(params)))

    return _answer(fmt, build)


@router.get("/requests/{service_request_id}.{fmt}")
def open311_request(request: Request, service_request_id: str, fmt: str, db: Session = Depends(get_db)) -> Response:
    def build(f: Format) -> Response:
        jurisdiction = jurisdiction_by_id(db, request.query_params.get("jurisdiction_id"))
        return render_list(f, "service_requests", [request_by_id(db, jurisdiction, service_request_id)])

    return _answer(fmt, build)


@router.post("/requests.{fmt}")
async def open311_post_request(request: Request, fmt: str, db: Session = Depends(get_db)) -> Response:
    try:
        f = Format.of_suffix(fmt)
    except Open311Error as error:
        return render_errors(Format.JSON, [error])
    try:
        new, accepted = await _file_request(request, db)
    except Open311Error as error:
        return render_errors(f, [error])
    status = 200 if accepted.duplicate else 201  # a retry with the same Idempotency-Key created nothing
    return render_list(f, "service_requests", [answer_fields(new, accepted)], status=status)


async def _file_request(request: Request, db: Session) -> tuple[NewRequest, Accepted]:
    check_content_type(request.headers.get("content-type", ""))
    form = parse_form(await _limited_body(request))
    new = await run_in_threadpool(
        partial(
            prepare_request,
            db,
            form,
            dict(request.query_params),
            idempotency_key=request.headers.get("idempotency-key"),
            ip=client_ip(request),
        )
    )
    # End the read transaction first: on SQLite it holds the write lock the intake writer needs.
    await run_in_threadpool(db.commit)
    return new, await _accept(new)


def _answer(fmt: str, build: Callable[[Format], Response]) -> Response:
    """Run a GET in the format its suffix names, errors in the same format (JSON for an unknown suffix)."""
    try:
        f = Format.of_suffix(fmt)
    except Open311Error as error:
        return render_errors(Format.JSON, [error])
    try:
        return build(f)
    except Open311Error as error:
        return render_errors(f, [error])
    except WenzhengError as error:
        return render_errors(f, [Open311Error.of(error)])


async def _accept(new: NewRequest) -> Accepted:
    work = partial(accept_request, new=new)
    try:
        return await asyncio.wrap_future(intake_writer().submit(work))
    except IntegrityError:
        # The same Idempotency-Key (or reporter) stored by another process a moment ago: the retry finds it.
        return await asyncio.wrap_future(intake_writer().submit(work))


async def _limited_body(request: Request) -> bytes:
    too_large = bad_request(f"The body is larger than the {MAX_BODY_BYTES} bytes a request may have.", code=413)
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise too_large
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)
