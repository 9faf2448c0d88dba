"""create_app(): the one ASGI application — JSON API, console and public pages."""

from __future__ import annotations

import gc
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

import wenzheng.jobs.tasks  # noqa: F401 - registers the project's tasks for inline runs
from wenzheng import __version__
from wenzheng.assessments.core import models as triage_models
from wenzheng.assessments.core import warm_towns
from wenzheng.assessments.tasks import install_triage_trigger
from wenzheng.audit.actions import install_audit_guard
from wenzheng.config import Mode, get_settings
from wenzheng.web.api import routes as api_routes
from wenzheng.web.channels import citizen as citizen_page
from wenzheng.web.channels import feeds as bulletin_feeds
from wenzheng.web.channels import open311 as open311_channel
from wenzheng.web.channels import push as web_push
from wenzheng.web.channels import sms as sms_channel
from wenzheng.web.channels import wechat as wechat_channel
from wenzheng.web.console import accounts, agencies, bulletins, case_flow, cases, channels, inbox, platform, staff
from wenzheng.web.console import auth as console_auth
from wenzheng.web.console import map as console_map
from wenzheng.web.errors import install_error_handlers
from wenzheng.web.limits import BodySizeLimit

# Every router of the app, in one place: the meta-tests walk these to check each route's authentication.
ROUTERS = (
    # First: the channel callbacks are the hottest routes, and routing tries routers in this order.
    wechat_channel.router,
    open311_channel.router,
    sms_channel.router,
    bulletin_feeds.router,  # before the citizen page: /c/{account}/bulletins.atom is not a bulletin id
    web_push.router,
    citizen_page.router,
    console_auth.router,
    agencies.router,
    accounts.router,
    channels.router,
    inbox.router,
    cases.router,
    case_flow.router,
    console_map.router,
    bulletins.router,
    staff.router,
    platform.router,
    api_routes.router,
)


class _App(FastAPI):
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # WeChat pushes are answered ahead of the middleware and the router: the same steps and error answers,
        # at a fraction of the cost (web/channels/wechat.py). Everything else takes the usual way.
        slug = wechat_channel.push_slug(scope)
        if slug is None:
            await super().__call__(scope, receive, send)
            return
        scope["app"] = self
        await wechat_channel.answer_push(scope, receive, send, slug)


def create_app() -> FastAPI:
    settings = get_settings()
    install_audit_guard()
    install_triage_trigger()
    app = _App(
        title="wenzheng",
        version=__version__,
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/v1/openapi.json",
    )
    install_error_handlers(app)
    for router in ROUTERS:
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=str(Path(__file__).parent / "web" / "static")), name="static")
    # The citizen page takes photos, and the bulletin form a picture; everything else keeps the general limit.
    overrides = {
        "/c/": settings.web_max_body_bytes,
        "/console/accounts/": max(settings.max_request_bytes, bulletins.MAX_FORM_BYTES),
        "/console/bulletins/": max(settings.max_request_bytes, bulletins.MAX_FORM_BYTES),
    }
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_request_bytes, overrides=overrides)
    if settings.mode is not Mode.TEST:
        # The fast lane triages possible pleas in this process: load the models now, not when the first plea
        # after a restart is waiting for them (0.2-0.5 s). Tests build many apps and load them on first use.
        triage_models()
        warm_towns()  # English place names' towns, for the agencies that set countries
        # What is loaded by now lives as long as the process: a full collection need not walk it every time
        # (each one stalled every request for 60-100 ms under load). Not in tests, which build many apps.
        gc.freeze()
    return app
