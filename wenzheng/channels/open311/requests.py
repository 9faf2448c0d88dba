"""Reading requests: GET requests with the spec's filters, and GET one request by its id.

A request is an inbound message that came in through Open311; its ``service_request_id`` is the message's
reference (``20130420-000123``). Messages from WeChat, SMS, e-mail or the web page are private
correspondence and are never listed here. Nothing that identifies the reporter (name, e-mail, phone,
device) is shown: the answers are public.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, false, or_, select
from sqlalchemy.orm import Session

from wenzheng.agencies.models import Department
from wenzheng.channels.open311.errors import bad_request, not_found
from wenzheng.channels.open311.jurisdictions import Jurisdiction
from wenzheng.channels.open311.services import KIND_BY_CODE, departments_by_id, service_code
from wenzheng.db import utcnow
from wenzheng.messages.models import Direction, Message

CHANNEL = "open311"
MAX_REQUESTS = 1000
MAX_RANGE = dt.timedelta(days=90)
STATUSES = ("open", "closed")
# Message states that count as closed in v2's two-state world; the richer state goes in status_notes.
CLOSED_STATES = frozenset({"resolved", "closed"})
STATUS_NOTES = {
    "received": "已受理，正在分派处理。Received; being dispatched.",
    "dispatched": "已派单。Dispatched to a department.",
    "in_progress": "办理中。In progress.",
    "answered": "已答复。Answered.",
    "resolved": "已办结。Resolved.",
    "closed": "已归档。Closed.",
}


@dataclass(frozen=True)
class RequestQuery:
    """The filters of GET requests, checked; ``ids`` overrides all the others."""

    start: dt.datetime
    end: dt.datetime
    ids: tuple[str, ...] = ()
    service_codes: tuple[str, ...] = ()
    statuses: frozenset[str] = frozenset(STATUSES)
    page: int = 1
    page_size: int = MAX_REQUESTS


def parse_query(params: Mapping[str, str], *, now: dt.datetime | None = None) -> RequestQuery:
    """The filters from the query string (an empty parameter counts as absent)."""
    start, end = _date_range(params.get("start_date") or None, params.get("end_date") or None, now or utcnow())
    ids = _comma_list(params.get("service_request_id"))
    if len(ids) > MAX_REQUESTS:
        raise bad_request(f"Ask for at most {MAX_REQUESTS} service_request_id values at a time.")
    return RequestQuery(
        start=start,
        end=end,
        ids=ids,
        service_codes=_comma_list(params.get("service_code")),
        statuses=_statuses(params.get("status")),
        page=_positive(params.get("page"), "page", default=1, most=None),
        page_size=_positive(params.get("page_size"), "page_size", default=MAX_REQUESTS, most=MAX_REQUESTS),
    )


def find_requests(session: Session, jurisdiction: Jurisdiction, query: RequestQuery) -> list[dict[str, Any]]:
    """The matching requests, newest first, as the spec's fields."""
    statement = _of_jurisdiction(jurisdiction)
    if query.ids:
        statement = statement.where(Message.ref.in_(query.ids))
    else:
        statement = (
            statement.where(Message.received_at >= query.start)
            .where(Message.received_at <= query.end)
            .where(_status_is(query.statuses))
        )
        if query.service_codes:
            statement = statement.where(or_(*(_service_is(code) for code in query.service_codes)))
    statement = statement.order_by(Message.received_at.desc(), Message.id.desc())
    statement = statement.limit(query.page_size).offset((query.page - 1) * query.page_size)
    departments = departments_by_id(session, jurisdiction)
    return [request_fields(m, jurisdiction, departments) for m in session.execute(statement).scalars()]


def request_by_id(session: Session, jurisdiction: Jurisdiction, service_request_id: str) -> dict[str, Any]:
    """One request of this jurisdiction; 404 for any other id (another account's, or a private message)."""
    message = session.execute(
        _of_jurisdiction(jurisdiction).where(Message.ref == service_request_id)
    ).scalar_one_or_none()
    if message is None:
        raise not_found(f"No request {service_request_id!r} in {jurisdiction.id}.")
    return request_fields(message, jurisdiction, departments_by_id(session, jurisdiction))


def public_status(message: Message) -> str:
    return "closed" if message.status in CLOSED_STATES else "open"


def request_fields(
    message: Message, jurisdiction: Jurisdiction, departments: Mapping[int, Department]
) -> dict[str, Any]:
    """The spec's fields of one request, in the spec's order; nothing about the reporter."""
    department = departments.get(message.department_id) if message.department_id is not None else None
    kind = KIND_BY_CODE.get(message.requested_kind or "")
    payload = message.payload or {}
    return {
        "service_request_id": message.ref,
        "status": public_status(message),
        "status_notes": STATUS_NOTES.get(message.status, message.status),
        "service_name": (f"{department.name} · {kind.name}" if department else kind.name) if kind else None,
        "service_code": service_code(department.id if department else None, message.requested_kind),
        "description": message.text,
        "agency_responsible": department.name if department else jurisdiction.agency.name,
        "service_notice": (message.reply or {}).get("content"),
        "requested_datetime": _w3c(message.received_at, jurisdiction),
        "updated_datetime": None,
        "expected_datetime": None,
        "address": message.location_label,
        "address_id": payload.get("address_id"),
        "zipcode": None,
        "lat": message.latitude,
        "long": message.longitude,
        "media_url": payload.get("media_url"),
    }


def _of_jurisdiction(jurisdiction: Jurisdiction) -> Select[tuple[Message]]:
    return (
        select(Message)
        .where(Message.agency_id == jurisdiction.agency.id)
        .where(Message.account_id == jurisdiction.account.id)
        .where(Message.channel == CHANNEL)
        .where(Message.direction == Direction.INBOUND)
        .where(Message.ref.is_not(None))
    )


def _status_is(statuses: frozenset[str]) -> ColumnElement[bool]:
    if statuses >= set(STATUSES):
        return Message.id.is_not(None)
    if "closed" in statuses:
        return Message.status.in_(CLOSED_STATES)
    return Message.status.not_in(CLOSED_STATES)


def _service_is(code: str) -> ColumnElement[bool]:
    department_part, _, kind = code.rpartition("-")
    if kind not in KIND_BY_CODE or (department_part and not department_part.isdigit()):
        return false()
    department = Message.department_id == int(department_part) if department_part else Message.department_id.is_(None)
    return and_(Message.requested_kind == kind, department)


def _date_range(start_text: str | None, end_text: str | None, now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """The spec's window: at most 90 days; by default the last 90 days."""
    start = _datetime(start_text, "start_date")
    end = _datetime(end_text, "end_date")
    if start is None:
        end = end or now
        start = end - MAX_RANGE
    elif end is None:
        end = start + MAX_RANGE
    if end < start:
        raise bad_request("end_date is before start_date.")
    if end - start > MAX_RANGE:
        raise bad_request("start_date to end_date spans more than 90 days; ask for at most 90 days at a time.")
    return start, end


def _datetime(text: str | None, field: str) -> dt.datetime | None:
    if text is None:
        return None
    try:
        value = dt.datetime.fromisoformat(text.strip().replace(" ", "+"))
    except ValueError:
        raise bad_request(f"{field} is not a W3C date-time; write e.g. 2013-04-20T00:00:00+08:00.") from None
    if value.tzinfo is None:
        raise bad_request(f"{field} needs a time zone (Z or ±HH:MM), e.g. 2013-04-20T00:00:00Z.")
    return value.astimezone(dt.UTC)


def _statuses(text: str | None) -> frozenset[str]:
    wanted = frozenset(_comma_list(text.lower() if text else None)) or frozenset(STATUSES)
    if not wanted <= set(STATUSES):
        raise bad_request("status is open, closed, or open,closed.")
    return wanted


def _comma_list(text: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (text or "").split(",") if part.strip())


def _positive(text: str | None, field: str, *, default: int, most: int | None) -> int:
    if not text:
        return default
    if not text.isdigit() or int(text) < 1 or (most is not None and int(text) > most):
        limit = f" and at most {most}" if most else ""
        raise bad_request(f"{field} is a whole number of at least 1{limit}.")
    return int(text)


def _w3c(value: dt.datetime, jurisdiction: Jurisdiction) -> str:
    """A W3C date-time in the agency's time zone, with its offset."""
    return value.astimezone(jurisdiction.timezone).isoformat(timespec="seconds")
