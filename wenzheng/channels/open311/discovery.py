"""Service discovery: the one document that tells a client where the endpoint is and what it speaks."""

from __future__ import annotations

from typing import Any

from wenzheng.channels.open311.formats import MEDIA_TYPES
from wenzheng.config import get_settings

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
BASE_PATH = "/open311/v2"
# Sortable; change it when the endpoint list or the service mapping changes, so clients refresh caches.
CHANGESET = "2026-11-28T00:00:00Z"


def discovery() -> dict[str, Any]:
    base = get_settings().base_url.rstrip("/")
    return {
        "changeset": CHANGESET,
        "contact": f"Each jurisdiction is one account (jurisdiction_id = its slug); ask its agency. Platform: {base}",
        "key_service": "An agency admin issues an API token in the console (any role will do); send it as api_key.",
        "endpoints": [
            {
                "specification": SPECIFICATION,
                "url": base + BASE_PATH,
                "changeset": CHANGESET,
                "type": "production",
                "formats": [MEDIA_TYPES["xml"].split(";")[0], MEDIA_TYPES["json"].split(";")[0]],
            }
        ],
    }
