"""``accept``: persist inbound items idempotently, with their follow-up jobs and their replies.

``accept`` and ``accept_many`` write inside the caller's transaction and never commit: the intake writer
commits many items together, and nothing is acknowledged to a channel before that commit returns. A retried
delivery finds the stored row and gets the very same reply.

This is the hottest path of the platform (a crisis brings thousands of messages a second), so it is
set-based: for a whole batch, one query finds the keys already stored, one the senders' handles already
known, one statement reserves the new rows' ids (so the reference, and the reply that quotes it, are known
before the insert), and one multi-row insert stores them. ``accept_many(session, requests)`` gives exactly
what calling ``accept`` for each request in turn would give: a key seen earlier in the batch is a duplicate
of that earlier item, and one person's first two messages make one citizen.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, cast

from sqlalchemy import (
    JSON,
    ColumnElement,
    Select,
    String,
    Table,
    any_,
    bindparam,
    func,
    insert,
    inspect,
    literal_column,
    select,
    text,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from wenzheng.accounts.models import Account
from wenzheng.assessments.tasks import mark_pending
from wenzheng.citizens.models import Citizen, CitizenHandle
from wenzheng.db import utcnow
from wenzheng.followers.actions import apply_follow_action
from wenzheng.intake.inbound import Inbound
from wenzheng.jobs.queue import enqueue
from wenzheng.messages.models import Attachment, Direction, Message

Reply = dict[str, Any]
DecideReply = Callable[[Session, Account, Message], Reply | None]
SideEffect = Callable[[Session, Account, Message], None]
Key = tuple[int, str, str]  # account, channel, the channel's id of the item
Handle = tuple[str, str]  # (kind, value): ("wechat", openid), ("phone", "+8613…"), ("email", …), ("web", token)


@dataclass(frozen=True)
class Accepted:
    message_id: int
    ref: str | None
    reply: Reply | None
    duplicate: bool


@dataclass(frozen=True)
class AcceptRequest:
    """One ``accept`` call, as data: what the intake writer batches."""

    account: Account
    inbound: Inbound
    decide_reply: DecideReply
    media_task: str | None = None
    side_effect: SideEffect | None = None

    @property
    def key(self) -> Key:
        return (self.account.id, self.inbound.channel, self.inbound.channel_message_id)


def accept(
    session: Session,
    account: Account,
    inbound: Inbound,
    *,
    decide_reply: DecideReply,
    media_task: str | None = None,
    side_effect: SideEffect | None = None,
) -> Accepted:
    """Store ``inbound`` once (uncommitted); a duplicate returns the first delivery's reference and reply.

    A concurrent first delivery from another process surfaces as an IntegrityError on the unique key:
    the caller retries, and the retry finds the stored row.
    """
    request = AcceptRequest(account, inbound, decide_reply, media_task, side_effect)
    return accept_many(session, [request])[0]


def accept_many(session: Session, requests: Sequence[AcceptRequest]) -> list[Accepted]:
    """``accept`` for each request, in order, with a handful of statements for the whole batch."""
    if not requests:
        return []
    connection = session.connection()
    results: list[Accepted | None] = [None] * len(requests)
    stored = _stored(connection, requests)
    fresh: list[int] = []
    first_of: dict[Key, int] = {}
    repeats: list[tuple[int, int]] = []  # (an item, the earlier item of the batch with the same key)
    for index, request in enumerate(requests):
        key = request.key
        if key in stored:
            results[index] = stored[key]
        elif key in first_of:
            repeats.append((index, first_of[key]))
        else:
            first_of[key] = index
            fresh.append(index)
    if fresh:
        new = [requests[index] for index in fresh]
        for index, accepted in zip(fresh, _store(session, connection, new), strict=True):
            results[index] = accepted
    for index, first in repeats:
        done = cast(Accepted, results[first])
        results[index] = Accepted(done.message_id, done.ref, done.reply, duplicate=True)
    return cast(list[Accepted], results)


def _store(session: Session, connection: Connection, requests: Sequence[AcceptRequest]) -> list[Accepted]:
    """Insert new items (none of them stored yet, no two with the same key), in order."""
    now = utcnow()
    day = f"{now:%Y%m%d}"
    citizens = _citizens(connection, requests, now)
    ids = _reserve_ids(connection, len(requests))
    messages, rows, accepted = [], [], []
    for request, citizen_id, message_id in zip(requests, citizens, ids, strict=True):
        values = _values(request, citizen_id, message_id, now)
        message = _unattached_message(values)
        message.ref = f"{day}-{message_id:06d}" if request.inbound.is_content else None  # as make_ref
        # Decided before the row exists, so that it is stored with the row: the reply reads other rows only
        # (a status question quotes a reference this very message cannot have been given).
        reply = request.decide_reply(session, request.account, message)
        message.reply = reply
        rows.append({**values, "ref": message.ref, "reply": reply})
        messages.append(message)
        accepted.append(Accepted(message_id, message.ref, reply, duplicate=False))
    connection.execute(_INSERT, rows)
    for request, message in zip(requests, messages, strict=True):
        if message.citizen_id is not None and request.inbound.follow_action:
            apply_follow_action(session, request.account, message.citizen_id, request.inbound)
        _attach_media(session, message, request.inbound, request.media_task)
        if request.side_effect is not None:
            request.side_effect(session, request.account, message)
    content = [message for request, message in zip(requests, messages, strict=True) if request.inbound.is_content]
    if content:
        mark_pending(session, content)
    return accepted


def _unattached_message(values: dict[str, Any]) -> Message:
    """A Message carrying the row's values, for the reply and the follow-up steps; never added to a session.
    Filled the way the ORM fills what it loads, without an attribute event per column (a tenth of the cost)."""
    message: Message = _MESSAGE_MANAGER.new_instance()
    message.__dict__.update(values)
    return message


def _values(request: AcceptRequest, citizen_id: int | None, message_id: int, now: Any) -> dict[str, Any]:
    account, inbound = request.account, request.inbound
    return {
        "id": message_id,
        "agency_id": account.agency_id,
        "account_id": account.id,
        "citizen_id": citizen_id,
        "direction": Direction.INBOUND,
        "channel": inbound.channel,
        "channel_message_id": inbound.channel_message_id,
        "kind": inbound.kind,
        "event": inbound.event,
        "text": inbound.text,
        "latitude": inbound.latitude,
        "longitude": inbound.longitude,
        "location_label": inbound.location_label,
        "payload": inbound.payload,
        "sent_at": inbound.sent_at,
        "status": "received",
        "received_at": now,
        "triage_pending": inbound.is_content,
        "parent_id": inbound.parent_id,
        "requested_kind": inbound.requested_kind,
        "department_id": inbound.department_id,
    }


# Built once: on the hot path, statement construction costs more than the database executing it.
_MESSAGES = cast(Table, Message.__table__)
_HANDLES = cast(Table, CitizenHandle.__table__)
_CITIZENS = cast(Table, Citizen.__table__)
_INSERT = insert(_MESSAGES)
_MESSAGE_MANAGER = inspect(Message).class_manager
_NEW_CITIZENS = insert(_CITIZENS).returning(_CITIZENS.c.id, sort_by_parameter_order=True)
_NEW_HANDLES = insert(_HANDLES)


def _any_of(column: ColumnElement[str], name: str, dialect: str) -> ColumnElement[bool]:
    """``column`` is one of the list passed as ``name``, in SQL whose text does not depend on the list's length:
    one prepared statement whatever the batch (an expanding IN is rendered, and prepared, for every length)."""
    if dialect == "sqlite":
        return column.in_(select(literal_column("value")).select_from(func.json_each(bindparam(name, type_=JSON))))
    if dialect == "postgresql":
        return column == any_(bindparam(name, type_=postgresql.ARRAY(String)))
    return column.in_(bindparam(name, expanding=True))


@lru_cache(maxsize=8)
def _stored_query(dialect: str) -> Select[Any]:
    return select(_MESSAGES.c.channel_message_id, _MESSAGES.c.id, _MESSAGES.c.ref, _MESSAGES.c.reply).where(
        _MESSAGES.c.account_id == bindparam("account_id"),
        _MESSAGES.c.channel == bindparam("channel"),
        _any_of(_MESSAGES.c.channel_message_id, "keys", dialect),
    )


@lru_cache(maxsize=8)
def _known_handles_query(dialect: str) -> Select[Any]:
    return select(_HANDLES.c.handle, _HANDLES.c.citizen_id).where(
        _HANDLES.c.agency_id == bindparam("agency_id"),
        _HANDLES.c.channel == bindparam("channel"),
        _any_of(_HANDLES.c.handle, "handles", dialect),
    )


_MAX_MESSAGE_ID = select(_MESSAGES.c.id).order_by(_MESSAGES.c.id.desc()).limit(1)
_PG_SEQUENCE = text("SELECT pg_get_serial_sequence('messages', 'id')")
_PG_NEXT_IDS = text("SELECT nextval(:sequence) FROM generate_series(1, :count)")
_pg_sequence: str | None = None


def _stored(connection: Connection, requests: Sequence[AcceptRequest]) -> dict[Key, Accepted]:
    """What of the batch is already stored: one query per account and channel (usually one in all)."""
    groups: dict[tuple[int, str], set[str]] = {}
    for request in requests:
        groups.setdefault((request.account.id, request.inbound.channel), set()).add(request.inbound.channel_message_id)
    found: dict[Key, Accepted] = {}
    for (account_id, channel), keys in groups.items():
        params = {"account_id": account_id, "channel": channel, "keys": sorted(keys)}
        for row in connection.execute(_stored_query(connection.dialect.name), params):
            found[(account_id, channel, row.channel_message_id)] = Accepted(row.id, row.ref, row.reply, duplicate=True)
    return found


def _handles_of(inbound: Inbound) -> list[Handle]:
    handles = ((inbound.handle_kind, inbound.handle),) if inbound.handle else ()
    return list(dict.fromkeys((kind, value) for kind, value in (*handles, *inbound.extra_handles) if value))


def _citizens(connection: Connection, requests: Sequence[AcceptRequest], now: Any) -> list[int | None]:
    """Each request's citizen, found by any of its handles (the first known wins) or created on first contact,
    exactly as ``citizens.actions.find_or_create_citizen`` would one request after another: handles not yet
    known are linked to that citizen, and a handle first seen earlier in the batch finds the same citizen.

    Two first messages from one person racing in two processes meet on the handle's unique key; the loser's
    IntegrityError makes its caller retry, and the retry finds the citizen.
    """
    handles = [_handles_of(request.inbound) for request in requests]
    known: dict[tuple[int, str, str], int] = {}
    groups: dict[tuple[int, str], set[str]] = {}
    for request, wanted in zip(requests, handles, strict=True):
        for kind, value in wanted:
            groups.setdefault((request.account.agency_id, kind), set()).add(value)
    for (agency_id, kind), values in groups.items():
        params = {"agency_id": agency_id, "channel": kind, "handles": sorted(values)}
        for row in connection.execute(_known_handles_query(connection.dialect.name), params):
            known[(agency_id, kind, row.handle)] = int(row.citizen_id)
    # Negative numbers stand for citizens this batch creates, until the insert gives them their ids.
    chosen: list[int | None] = []
    new_handles: list[tuple[int, str, str, int]] = []
    new_citizens: list[int] = []  # the agency of each new citizen, -1 for the first, -2 for the second …
    for request, wanted in zip(requests, handles, strict=True):
        agency_id = request.account.agency_id
        if not wanted:
            chosen.append(None)
            continue
        citizen = next((known[(agency_id, *h)] for h in wanted if (agency_id, *h) in known), None)
        if citizen is None:
            new_citizens.append(agency_id)
            citizen = -len(new_citizens)
        for handle in wanted:
            if (agency_id, *handle) not in known:
                known[(agency_id, *handle)] = citizen
                new_handles.append((agency_id, *handle, citizen))
        chosen.append(citizen)
    created: list[int] = []
    if new_citizens:
        rows = [{"agency_id": agency_id, "created_at": now} for agency_id in new_citizens]
        created = [int(row[0]) for row in connection.execute(_NEW_CITIZENS, rows)]

    def real(citizen: int) -> int:
        return created[-citizen - 1] if citizen < 0 else citizen

    if new_handles:
        connection.execute(
            _NEW_HANDLES,
            [
                {
                    "agency_id": agency_id,
                    "channel": kind,
                    "handle": value,
                    "citizen_id": real(citizen),
                    "created_at": now,
                }
                for agency_id, kind, value, citizen in new_handles
            ],
        )
    return [None if citizen is None else real(citizen) for citizen in chosen]


def _reserve_ids(connection: Connection, count: int) -> list[int]:
    """Ids for ``count`` new messages, known before the insert so that the reference goes in with the row.

    PostgreSQL hands them out from the table's sequence (unique across processes). SQLite's transactions here
    begin IMMEDIATE, so this one is the only writer: the next ids after the largest are free, as SQLite's own
    choice would be.
    """
    global _pg_sequence
    if connection.dialect.name == "postgresql":
        if _pg_sequence is None:
            _pg_sequence = str(connection.execute(_PG_SEQUENCE).scalar_one())
        rows = connection.execute(_PG_NEXT_IDS, {"sequence": _pg_sequence, "count": count})
        return [int(row[0]) for row in rows]
    largest = connection.execute(_MAX_MESSAGE_ID).scalar()
    return list(range(int(largest or 0) + 1, int(largest or 0) + 1 + count))


def make_ref(message: Message) -> str:
    """The reference a citizen quotes: the day it arrived and its number, e.g. 20130420-000123."""
    return f"{message.received_at:%Y%m%d}-{message.id:06d}"


def _attach_media(session: Session, message: Message, inbound: Inbound, media_task: str | None) -> None:
    for media in inbound.media:
        attachment = Attachment(
            agency_id=message.agency_id, message_id=message.id, kind=media.kind, channel_media_id=media.channel_media_id
        )
        session.add(attachment)
        session.flush()
        if media_task:
            enqueue(session, media_task, {"attachment_id": attachment.id}, agency_id=message.agency_id)
