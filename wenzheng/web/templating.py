"""Jinja templates for server-rendered pages, with the translation helper and the CSRF token."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi.templating import Jinja2Templates
from starlette.requests import Request
from starlette.responses import HTMLResponse

from wenzheng.web.i18n import MESSAGES, language_of, translate

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))


def _local_time(value: dt.datetime | None, tz: str = "Asia/Shanghai") -> str:
    """Aware UTC in storage, the agency's local time on screen."""
    if value is None:
        return ""
    return value.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")


TEMPLATES.env.filters["local_time"] = _local_time


class _Numbers(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "?"


def _notice(request: Request, key: str, lang: str) -> str:
    """The notice a redirect asked for; counts in it ({done}, {skipped}) come from the query, digits only."""
    if key not in MESSAGES:
        return ""
    numbers = _Numbers({k: v for k, v in request.query_params.items() if v.isdigit() and len(v) <= 9})
    return translate(key, lang).format_map(numbers)


def _action_text(action: str, lang: str) -> str:
    """An audited action in words for the timeline (``console:case:assign`` → 指定承办人); "" when none is known."""
    key = "audit_action." + action.split(":", 1)[-1]
    return translate(key, lang) if key in MESSAGES else ""


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, *, status_code: int = 200
) -> HTMLResponse:
    lang = language_of(request)
    full: dict[str, Any] = {
        "lang": lang,
        "t": lambda key: translate(key, lang),
        "action_text": lambda action: _action_text(action, lang),
        "actor": getattr(request.state, "actor", None),
        "csrf_token": getattr(request.state, "csrf_token", ""),
    }
    notice_key = f"notice.{request.query_params.get('notice', '')}"
    full["notice_text"] = _notice(request, notice_key, lang)
    full.update(context or {})
    return TEMPLATES.TemplateResponse(request, name, full, status_code=status_code)
