"""The map: an agency's open help requests as markers over the built-in outlines (docs/map.md)."""

from __future__ import annotations

import gzip
import json

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from wenzheng.agencies.access import access_agency_by_id
from wenzheng.cases.access import access_case_by_id
from wenzheng.cases.geo import (
    DETAILS_LIMIT,
    HELP_INTENTS,
    MapFilter,
    blurred,
    case_position,
    cases_for_map,
    located_cases_of_agency,
    map_summary,
    shown_position,
)
from wenzheng.cases.states import URGENCY_ORDER
from wenzheng.citizens.privacy import audit_personal_view, sees_personal_data
from wenzheng.config import get_settings
from wenzheng.db import session_scope, utcnow
from wenzheng.staff.actor import Actor
from wenzheng.triage import INTENTS
from wenzheng.web.deps import current_actor, current_reader, get_db, get_read_db
from wenzheng.web.i18n import language_of, translate
from wenzheng.web.templating import render

router = APIRouter(prefix="/console")
HOURS = (1, 6, 24, 72, 168, 0)  # the time windows offered; 0: any time
GZIP_ABOVE = 4096


@router.get("/agencies/{agency_id}/map")
def map_page(
    request: Request,
    agency_id: int,
    hours: int = 24,
    urgency: list[str] = Query(default=[]),
    intent: str = "",
    actor: Actor = Depends(current_actor),
    db: Session = Depends(get_db),
) -> Response:
    agency = access_agency_by_id(db, actor, agency_id)
    wanted = MapFilter.parse(hours, ",".join(urgency), intent)
    context = {
        "agency": agency,
        "wanted": wanted,
        "hours_options": HOURS,
        "urgencies": URGENCY_ORDER,
        "intent_choice": "all" if not wanted.intents else ",".join(wanted.intents),
        "intent_options": [",".join(HELP_INTENTS), "all", *INTENTS],
        "tiles": _tiles(),
    }
    return render(request, "console/map.html", context)


@router.get("/agencies/{agency_id}/map/cases.json")
def map_cases(
    request: Request,
    agency_id: int,
    hours: int = 24,
    urgency: list[str] = Query(default=[]),
    intent: str = "",
    actor: Actor = Depends(current_reader),
    db: Session = Depends(get_read_db),
) -> Response:
    """Compact rows ``[case id, lat, lon, urgency, exact]`` in WGS-84; details come from details.json."""
    agency = access_agency_by_id(db, actor, agency_id)
    located = located_cases_of_agency(
        db, actor, agency.id, MapFilter.parse(hours, ",".join(urgency), intent), now=utcnow()
    )
    sees = sees_personal_data(actor, agency.id)
    rows = []
    for point in located.points:
        shown = point.position if sees else blurred(point.position)
        rows.append([point.case_id, round(shown.lat, 5), round(shown.lon, 5), point.urgency or "", int(shown.exact)])
    if sees:
        _audit_positions_seen(actor, agency.id, "map", [p.citizen_id for p in located.points if p.position.exact])
    body = {
        "fields": ["id", "lat", "lon", "urgency", "exact"],
        "cases": rows,
        "without_position": located.without_position,
        "truncated": located.truncated,
    }
    return _json(request, body)


@router.get("/agencies/{agency_id}/map/details.json")
def map_details(
    request: Request,
    agency_id: int,
    ids: str = "",
    actor: Actor = Depends(current_reader),
    db: Session = Depends(get_read_db),
) -> Response:
    """Reference, urgency, state and summary of up to 100 of the agency's cases (a clicked marker or cluster)."""
    agency = access_agency_by_id(db, actor, agency_id)
    wanted = [int(part) for part in ids.split(",")[:DETAILS_LIMIT] if part.strip().isdigit() and len(part) < 16]
    lang = language_of(request)
    cases = [
        {
            "id": case.id,
            "ref": case.ref,
            "urgency": case.urgency or "",
            "state": translate(f"case_state.{case.state}", lang),
            "summary": map_summary(case),
            "url": f"/console/cases/{case.id}",
        }
        for case in cases_for_map(db, actor, agency.id, wanted)
    ]
    return _json(request, {"cases": cases})


@router.get("/cases/{case_id}/place.json")
def case_place(
    request: Request, case_id: int, actor: Actor = Depends(current_reader), db: Session = Depends(get_read_db)
) -> Response:
    """The case's position for the small map on its page, or ``{"place": null}``."""
    case = access_case_by_id(db, actor, case_id)
    position = case_position(db, case)
    if position is None:
        return _json(request, {"place": None})
    shown = shown_position(actor, case.agency_id, position)
    if position.exact and sees_personal_data(actor, case.agency_id):
        _audit_positions_seen(actor, case.agency_id, "case_place", [case.citizen_id])
    place = {"lat": round(shown.lat, 5), "lon": round(shown.lon, 5), "exact": shown.exact, "urgency": case.urgency}
    return _json(request, {"place": {**place, "id": case.id, "ref": case.ref}, "tiles": _tiles()})


def _audit_positions_seen(actor: Actor, agency_id: int, what: str, citizen_ids: list[int | None]) -> None:
    """Citizens' own positions are personal data: who saw them is recorded, in a short write of its own
    (the map reads through a session that takes no write lock, so 30,000 rows never hold up intake)."""
    with session_scope() as session:
        audit_personal_view(session, actor, agency_id, what=what, citizen_ids=citizen_ids)


def _tiles() -> dict[str, str]:
    settings = get_settings()
    return {
        "url": settings.map_tile_url,
        "attribution": settings.map_tile_attribution,
        "datum": settings.map_tile_datum,
    }


def _json(request: Request, body: object) -> Response:
    """JSON, gzipped when large and the browser takes it (30,000 markers are about 1 MB, 300 kB gzipped)."""
    data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    headers = {"Cache-Control": "private, no-store", "Vary": "Accept-Encoding"}
    if len(data) > GZIP_ABOVE and "gzip" in request.headers.get("accept-encoding", ""):
        data = gzip.compress(data, compresslevel=5)
        headers["Content-Encoding"] = "gzip"
    return Response(data, media_type="application/json", headers=headers)
