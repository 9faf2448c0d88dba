"""Filing a request (POST requests): checked in full before anything is written, then stored through the
one intake action, so a request from civic software becomes a message like any other.

Checks, in order, each with its Open311 error: the body is form-encoded UTF-8 within the size limit
(400); the jurisdiction is named (400) and exists (404); the api_key is a live token of that account's
agency (403); the service is named (400) and exists (404); the fields are valid (400).
"""

from __future__ import annotations

import math
import re
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from sqlalchemy.orm import Session

from wenzheng.accounts.models import Account
from wenzheng.channels.open311.errors import Open311Error, bad_request, forbidden
from wenzheng.channels.open311.jurisdictions import Jurisdiction, jurisdiction_by_id
from wenzheng.channels.open311.requests import CHANNEL
from wenzheng.channels.open311.services import Service, service_by_code
from wenzheng.channels.sms.phones import normalize_phone
from wenzheng.errors import Unauthenticated, WenzhengError
from wenzheng.intake.actions import Accepted, Reply, accept
from wenzheng.intake.inbound import Inbound
from wenzheng.intake.replies import text_reply
from wenzheng.messages.models import Message
from wenzheng.staff.auth import authenticate_api_token
from wenzheng.validation import clean_text

# A request is a few short fields and a description of at most 4000 characters (12 KB of UTF-8,
# three times that percent-encoded): 64 KiB leaves room and keeps a flood of large bodies cheap.
MAX_BODY_BYTES = 65_536
MAX_FIELDS = 200
MAX_DESCRIPTION = 4000
FORM_TYPE = "application/x-www-form-urlencoded"
IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,128}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
ATTRIBUTE = re.compile(r"^attribute\[([^\[\]]{1,100})\](\[\])?$")
NOTICE = "已受理，受理编号 {ref}。Received; reference {ref}."

Form = list[tuple[str, str]]


@dataclass(frozen=True)
class NewRequest:
    """A request checked in full: everything ``accept`` needs, and the reply's echo of account_id."""

    jurisdiction: Jurisdiction
    service: Service
    idempotency_key: str
    description: str = ""
    latitude: float | None = None
    longitude: float | None = None
    address: str | None = None
    handles: tuple[tuple[str, str], ...] = ()
    device_id: str | None = None
    account_id: str | None = None
    payload: dict[str, Any] = field(default_factory=dict)


def check_content_type(content_type: str) -> None:
    """Only the spec's form encoding, in UTF-8; multipart uploads are not part of v2."""
    media_type, _, parameters = content_type.partition(";")
    if media_type.strip().lower() != FORM_TYPE:
        raise bad_request(
            f"Send the request as {FORM_TYPE}; charset=utf-8 (got {media_type.strip() or 'no content type'}). "
            "Media go by media_url.",
            code=415,
        )
    charset = re.search(r"charset\s*=\s*\"?([\w-]+)", parameters, re.IGNORECASE)
    if charset and charset.group(1).lower() not in ("utf-8", "utf8"):
        raise bad_request(f"The body must be UTF-8, not {charset.group(1)}.", code=415)


def parse_form(body: bytes) -> Form:
    """The form's fields, decoded as strict UTF-8 (raw bytes and percent-escapes alike)."""
    try:
        return parse_qsl(
            body.decode("utf-8"), keep_blank_values=True, encoding="utf-8", errors="strict", max_num_fields=MAX_FIELDS
        )
    except UnicodeDecodeError:
        raise bad_request("The body is not valid UTF-8.") from None
    except ValueError:
        raise bad_request(f"The body has more than {MAX_FIELDS} fields.") from None


def prepare_request(
    session: Session, form: Form, query: dict[str, str], *, idempotency_key: str | None, ip: str
) -> NewRequest:
    """Check everything about a POST before anything is stored; raises Open311Error."""
    fields = _single_fields(form)
    jurisdiction = jurisdiction_by_id(session, fields.get("jurisdiction_id") or query.get("jurisdiction_id"))
    token_id = _check_api_key(session, jurisdiction, fields.get("api_key") or query.get("api_key") or "", ip)
    service = service_by_code(session, jurisdiction, fields.get("service_code"))
    try:
        return _new_request(jurisdiction, service, fields, form, _dedup_key(token_id, idempotency_key))
    except WenzhengError as error:
        raise Open311Error.of(error) from None


def accept_request(session: Session, new: NewRequest) -> Accepted:
    """The intake writer's part: store the request once (committed by the writer)."""
    return accept(
        session,
        new.jurisdiction.account,
        to_inbound(new),
        decide_reply=_acknowledge,
    )


def answer_fields(new: NewRequest, accepted: Accepted) -> dict[str, Any]:
    """The POST answer's one ``request``: the id, what happens next, and the client's account_id echoed."""
    fields = {"service_request_id": accepted.ref, "service_notice": (accepted.reply or {}).get("content")}
    if new.account_id:
        fields["account_id"] = new.account_id
    return fields


def to_inbound(new: NewRequest) -> Inbound:
    primary = new.device_id or next((value for _kind, value in new.handles), None)
    return Inbound(
        channel=CHANNEL,
        channel_message_id=new.idempotency_key,
        kind="text",
        handle=primary,
        extra_handles=new.handles,
        text=new.description,
        latitude=new.latitude,
        longitude=new.longitude,
        location_label=new.address,
        department_id=new.service.department_id,
        requested_kind=new.service.kind.code,
        payload=new.payload,
    )


def _single_fields(form: Form) -> dict[str, str]:
    """Each plain field once; attribute[CODE][] may repeat (a multivaluelist)."""
    fields: dict[str, str] = {}
    for name, value in form:
        if ATTRIBUTE.match(name):
            continue
        if name in fields:
            raise bad_request(f"{name} is given twice; send it once.")
        fields[name] = value
    return fields


def _check_api_key(session: Session, jurisdiction: Jurisdiction, api_key: str, ip: str) -> int:
    """The id of the API token that may file requests for this jurisdiction (any role of its agency)."""
    if not api_key:
        raise forbidden("api_key is missing. An agency admin issues API tokens in the console.")
    try:
        actor = authenticate_api_token(session, api_key.strip(), ip=ip)
    except Unauthenticated:
        raise forbidden("api_key is not valid: unknown or revoked. Ask the agency for a new one.") from None
    if actor.token_id is None or actor.role_in(jurisdiction.agency.id) is None:
        raise forbidden(f"This api_key is not valid for {jurisdiction.id}: it belongs to another agency.")
    return actor.token_id


def _dedup_key(token_id: int, idempotency_key: str | None) -> str:
    """The de-duplication key: the client's Idempotency-Key (per API token), else a fresh one."""
    if idempotency_key is None:
        return f"uuid:{uuid.uuid4().hex}"
    if not IDEMPOTENCY_KEY.match(idempotency_key):
        raise bad_request("The Idempotency-Key header is 1–128 printable ASCII characters without spaces.")
    return f"key:{token_id}:{idempotency_key}"


def _new_request(
    jurisdiction: Jurisdiction, service: Service, fields: dict[str, str], form: Form, key: str
) -> NewRequest:
    latitude, longitude = _coordinates(fields.get("lat"), fields.get("long"))
    address = _optional(fields, "address_string", 500)
    if latitude is None and not address and not fields.get("address_id"):
        raise bad_request("Give a location: lat and long, address_string or address_id.")
    return NewRequest(
        jurisdiction=jurisdiction,
        service=service,
        idempotency_key=key,
        description=_description(fields.get("description", "")),
        latitude=latitude,
        longitude=longitude,
        address=address,
        handles=_handles(fields),
        device_id=_optional(fields, "device_id", 200),
        account_id=_optional(fields, "account_id", 200),
        payload=_payload(fields, form),
    )


def _coordinates(lat: str | None, long: str | None) -> tuple[float | None, float | None]:
    if not lat and not long:
        return None, None
    if not lat or not long:
        raise bad_request("lat and long go together: give both, or neither.")
    latitude, longitude = _number(lat, "lat"), _number(long, "long")
    if not -90 <= latitude <= 90:
        raise bad_request(f"lat must be between -90 and 90 (WGS84 degrees); got {lat}.")
    if not -180 <= longitude <= 180:
        raise bad_request(f"long must be between -180 and 180 (WGS84 degrees); got {long}.")
    return latitude, longitude


def _number(text: str, name: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise bad_request(f"{name} is not a number: {text[:40]!r}.") from None
    if not math.isfinite(value):
        raise bad_request(f"{name} is not a finite number.")
    return value


def _description(text: str) -> str:
    # Browsers post line breaks as CRLF; a bare CR is a control character like any other.
    return clean_text(text.replace("\r\n", "\n"), field="description", max_length=MAX_DESCRIPTION, required=False)


def _optional(fields: dict[str, str], name: str, max_length: int) -> str | None:
    return clean_text(fields.get(name, ""), field=name, max_length=max_length, required=False) or None


def _handles(fields: dict[str, str]) -> tuple[tuple[str, str], ...]:
    """The reporter's e-mail and phone as handles, so the same person on other channels is one citizen."""
    handles = []
    email = (_optional(fields, "email", 254) or "").lower()
    if email:
        if not EMAIL.match(email):
            raise bad_request(f"email is not an e-mail address: {email[:60]!r}.")
        handles.append(("email", email))
    if fields.get("phone"):
        handles.append(("phone", normalize_phone(fields["phone"])))
    return tuple(handles)


def _payload(fields: dict[str, str], form: Form) -> dict[str, Any]:
    """The raw fields as sent (never the api_key), attributes gathered, media_url checked."""
    payload: dict[str, Any] = {name: value for name, value in fields.items() if name != "api_key" and value}
    media_url = fields.get("media_url", "").strip()
    if media_url:
        parts = urlsplit(media_url)
        if parts.scheme not in ("http", "https") or not parts.netloc or len(media_url) > 2000:
            raise bad_request("media_url must be an http or https URL of at most 2000 characters.")
    attributes: dict[str, Any] = {}
    for name, value in form:
        match = ATTRIBUTE.match(name)
        if match and match.group(2):
            attributes.setdefault(match.group(1), []).append(value)
        elif match:
            attributes[match.group(1)] = value
    if attributes:
        payload["attributes"] = attributes
    return payload


def _acknowledge(_session: Session, _account: Account, message: Message) -> Reply:
    """The service_notice returned to the client (and again to a retry with the same Idempotency-Key)."""
    return text_reply(NOTICE.format(ref=message.ref))
