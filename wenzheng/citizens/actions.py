"""Finding the citizen behind a channel handle, creating them on first contact."""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from sqlalchemy import Table, bindparam, insert, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from wenzheng.citizens.models import Citizen, CitizenHandle
from wenzheng.db import utcnow

_HANDLES = cast(Table, CitizenHandle.__table__)
_FIND = (
    select(_HANDLES.c.citizen_id)
    .where(_HANDLES.c.agency_id == bindparam("agency_id"))
    .where(_HANDLES.c.channel == bindparam("channel"))
    .where(_HANDLES.c.handle == bindparam("handle"))
)
_CITIZENS = cast(Table, Citizen.__table__)
_NEW_CITIZEN = insert(_CITIZENS).returning(_CITIZENS.c.id)
_NEW_HANDLE = insert(_HANDLES)


Handle = tuple[str, str]  # (kind, value): ("wechat", openid), ("phone", "+8613…"), ("email", …), ("web", token)


def find_or_create_citizen(session: Session, agency_id: int, handles: Sequence[Handle]) -> int | None:
    """The id of the agency's citizen known by any of ``handles`` (the first known wins); a first contact
    creates them. Handles not yet known are linked to that citizen, so one person writing by SMS and later
    from the web page with the same phone number is one citizen. None when there is no handle at all.

    Two first messages from one person racing in two processes meet on the handle's unique key; the loser's
    IntegrityError makes its caller retry, and the retry finds the citizen.
    """
    handles = list(dict.fromkeys((kind, value) for kind, value in handles if value))
    if not handles:
        return None
    connection = session.connection()
    known = [(handle, _citizen_of(connection, agency_id, handle)) for handle in handles]
    citizen_id = next((found for _handle, found in known if found is not None), None)
    now = utcnow()
    if citizen_id is None:
        citizen_id = connection.execute(_NEW_CITIZEN, {"agency_id": agency_id, "created_at": now}).scalar_one()
    for (kind, value), found in known:
        if found is None:
            connection.execute(
                _NEW_HANDLE,
                {"agency_id": agency_id, "channel": kind, "handle": value, "citizen_id": citizen_id, "created_at": now},
            )
    return int(citizen_id)


def _citizen_of(connection: Connection, agency_id: int, handle: Handle) -> int | None:
    found = connection.execute(_FIND, {"agency_id": agency_id, "channel": handle[0], "handle": handle[1]})
    value = found.scalar_one_or_none()
    return int(value) if value is not None else None
