"""/c/{account}/…: an account's public feeds — bulletins as Atom, alerts as a CAP index feed and CAP 1.2 documents.

Public by design: they carry only what was published, read through ``published_bulletins`` /
``published_bulletin``. Aggregators poll them, so the answers are cacheable for a short while and carry an
ETag; a poll with a matching ``If-None-Match`` gets 304 and no body.
"""

from __future__ import annotations

import hashlib

from fastapi import APIRouter, Request
from starlette.responses import Response

from wenzheng.agencies.models import Agency
from wenzheng.bulletins.access import published_bulletin, published_bulletins
from wenzheng.bulletins.cap import CAP_MEDIA_TYPE, alert_document, is_current, superseded_alerts
from wenzheng.bulletins.feeds import ATOM_MEDIA_TYPE, atom_feed, cap_feed
from wenzheng.bulletins.models import BulletinKind
from wenzheng.channels.web.submit import account_by_slug
from wenzheng.config import get_settings
from wenzheng.db import session_scope
from wenzheng.errors import NotFound
from wenzheng.followers.languages import CHINESE, LANGUAGES

router = APIRouter(prefix="/c")
MAX_AGE_SECONDS = 60  # short: an alert or its withdrawal must reach pollers within a minute
FEED_LENGTH = 50


@router.get("/{account}/bulletins.atom")
def bulletins_atom(request: Request, account: str, lang: str = "") -> Response:
    """The account's bulletins; ``?lang=en`` in English (each in its English version where it has one)."""
    base_url = get_settings().base_url
    with session_scope() as session:
        found = account_by_slug(session, account)
        agency = session.get(Agency, found.agency_id)
        bulletins = published_bulletins(session, found.id, limit=FEED_LENGTH)
        body = atom_feed(bulletins, account=found, agency=_agency(agency), base_url=base_url, language=_language(lang))
    return _cacheable(request, body, ATOM_MEDIA_TYPE)


@router.get("/{account}/alerts.atom")
def alerts_atom(request: Request, account: str, lang: str = "") -> Response:
    """The account's current alerts, each linking to its CAP document; ``?lang=en`` in English."""
    base_url = get_settings().base_url
    with session_scope() as session:
        found = account_by_slug(session, account)
        agency = session.get(Agency, found.agency_id)
        alerts = published_bulletins(session, found.id, limit=FEED_LENGTH, kind=BulletinKind.ALERT)
        current = [alert for alert in alerts if is_current(alert)]
        body = cap_feed(current, account=found, agency=_agency(agency), base_url=base_url, language=_language(lang))
    return _cacheable(request, body, ATOM_MEDIA_TYPE)


def _language(lang: str) -> str:
    """A feed's language: one bulletins can be written in, else Chinese (an unknown ?lang= is not an error)."""
    return lang if lang in LANGUAGES else CHINESE


@router.get("/{account}/bulletins/{bulletin_id}/cap.xml")
def alert_cap(request: Request, account: str, bulletin_id: int) -> Response:
    with session_scope() as session:
        found = account_by_slug(session, account)
        bulletin = published_bulletin(session, found.id, bulletin_id)
        if bulletin.kind != BulletinKind.ALERT:
            raise NotFound("This bulletin is not an alert, so it has no CAP document.", code="not_an_alert")
        agency = session.get(Agency, found.agency_id)
        references = superseded_alerts(session, bulletin)
        body = alert_document(bulletin, account=found, agency=_agency(agency), references=references)
    return _cacheable(request, body, CAP_MEDIA_TYPE)


def _agency(agency: Agency | None) -> Agency:
    if agency is None:  # an account always belongs to an agency; a foreign key keeps it so
        raise NotFound("There is no account at this address. Check the link you were given.", code="unknown_account")
    return agency


def _cacheable(request: Request, body: bytes, media_type: str) -> Response:
    etag = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
    headers = {"ETag": etag, "Cache-Control": f"public, max-age={MAX_AGE_SECONDS}"}
    wanted = _etags(request.headers.get("if-none-match", ""))
    if etag in wanted or "*" in wanted:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=f"{media_type}; charset=utf-8", headers=headers)


def _etags(header: str) -> set[str]:
    return {tag.strip().removeprefix("W/") for tag in header.split(",") if tag.strip()}
