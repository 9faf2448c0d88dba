"""The operator console: server-rendered pages, Chinese first, small vanilla JS, no build step."""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.responses import RedirectResponse


def safe_next(target: str | None, default: str = "/console") -> str:
    """Only local paths: a login link must not send a person to another site."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


def see_other(path: str, *, notice: str = "", **params: str) -> RedirectResponse:
    query = {k: v for k, v in {"notice": notice, **params}.items() if v}
    return RedirectResponse(path + (f"?{urlencode(query)}" if query else ""), status_code=303)
