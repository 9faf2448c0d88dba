"""Errors mapped to HTTP once: JSON with a machine-readable code for the API, a page for the console."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, RedirectResponse, Response

from wenzheng.errors import Unauthenticated, WenzhengError
from wenzheng.web.templating import render

log = logging.getLogger(__name__)

HTTP_CODES = {
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


# Machine clients: channels and the API get JSON errors, never an HTML page.
MACHINE_PREFIXES = ("/api/", "/wechat/", "/sms/", "/open311/")


def wants_json(request: Request) -> bool:
    path = request.url.path
    return path.startswith(MACHINE_PREFIXES) or "application/json" in request.headers.get("accept", "")


def error_response(
    request: Request, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> Response:
    if wants_json(request):
        return JSONResponse({"error": body}, status_code=status, headers=headers)
    response = render(request, "error.html", {"error": body, "status": status}, status_code=status)
    response.headers.update(headers or {})
    return response


async def handle_wenzheng_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, WenzhengError)
    if isinstance(exc, Unauthenticated) and not wants_json(request):
        target = quote(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
        return RedirectResponse(f"/login?reason={exc.code}&next={target}", status_code=303)
    headers = {"Retry-After": str(exc.retry_after)} if hasattr(exc, "retry_after") else None
    if isinstance(exc, Unauthenticated):
        headers = {"WWW-Authenticate": "Bearer"}
    return error_response(request, exc.status, exc.as_dict(), headers)


async def handle_validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        return error_response(
            request,
            400,
            {
                "code": "malformed_json",
                "message": "The request body is not valid JSON. Check quotes and commas.",
            },
        )
    fields = [{"field": ".".join(str(p) for p in e.get("loc", ())[1:]), "problem": e.get("msg", "")} for e in errors]
    summary = "; ".join(f"{f['field'] or 'body'}: {f['problem']}" for f in fields)
    return error_response(
        request, 422, {"code": "invalid_input", "message": f"Invalid input — {summary}", "details": fields}
    )


async def handle_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    code = HTTP_CODES.get(exc.status_code, "http_error")
    message = {
        404: "There is nothing at this address. Check the link.",
        405: "This address does not accept that method.",
    }.get(exc.status_code, str(exc.detail))
    return error_response(request, exc.status_code, {"code": code, "message": message})


async def handle_database_down(request: Request, exc: Exception) -> Response:
    log.error("database unavailable: %s: %s", type(exc).__name__, str(exc).splitlines()[0][:200])
    return error_response(
        request,
        503,
        {
            "code": "database_unavailable",
            "message": "The database cannot be reached right now. Try again shortly.",
        },
        {"Retry-After": "5"},
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(WenzhengError, handle_wenzheng_error)
    app.add_exception_handler(RequestValidationError, handle_validation_error)
    app.add_exception_handler(StarletteHTTPException, handle_http_error)
    app.add_exception_handler(OperationalError, handle_database_down)
