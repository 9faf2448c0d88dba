"""A loopback WeChat API for the fan-out benchmark: tokens, and list mass sends that it only counts.

    python -m bench.wechat_sink PORT

It speaks the documented contract (stable_token; /cgi-bin/message/mass/send with 2–10,000 OpenIDs and a
clientmsgid it remembers, answering 45065 to a repeat) and keeps counts: GET /counts gives the number of
calls, of OpenIDs received, of distinct OpenIDs, and of repeats refused.
"""

from __future__ import annotations

import sys
import time

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

STATE: dict[str, object] = {"calls": 0, "openids": 0, "repeats": 0, "first": None, "last": None}
SEEN: set[str] = set()
CLIENT_IDS: dict[str, int] = {}


async def stable_token(request: Request) -> JSONResponse:
    return JSONResponse({"access_token": "BENCH_TOKEN", "expires_in": 7200})


async def mass_send(request: Request) -> JSONResponse:
    body = await request.json()
    client_id = body.get("clientmsgid", "")
    if client_id in CLIENT_IDS:
        STATE["repeats"] = int(STATE["repeats"]) + 1  # type: ignore[call-overload]
        return JSONResponse({"errcode": 45065, "errmsg": "clientmsgid exist", "msg_id": CLIENT_IDS[client_id]})
    touser = body["touser"]
    CLIENT_IDS[client_id] = msg_id = len(CLIENT_IDS) + 1
    STATE["calls"] = int(STATE["calls"]) + 1  # type: ignore[call-overload]
    STATE["openids"] = int(STATE["openids"]) + len(touser)  # type: ignore[call-overload]
    SEEN.update(touser)
    now = time.time()
    STATE["first"] = STATE["first"] or now
    STATE["last"] = now
    return JSONResponse({"errcode": 0, "errmsg": "send job submission success", "msg_id": msg_id})


async def counts(request: Request) -> JSONResponse:
    return JSONResponse({**STATE, "distinct": len(SEEN)})


app = Starlette(
    routes=[
        Route("/cgi-bin/stable_token", stable_token, methods=["POST"]),
        Route("/cgi-bin/message/mass/send", mass_send, methods=["POST"]),
        Route("/counts", counts, methods=["GET"]),
    ]
)

if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
