"""Finding the citizen behind a channel handle, creating them on first contact."""

from __future__ import annotations

from typing import cast

from sqlalchemy import Table, bindparam, insert, select
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


def find_or_create_citizen(session: Session, agency_id: int, channel: str, handle: str | None) -> int | None:
    """The id of the agency's citizen with this handle; a first message creates them. None for system senders.

    Two first messages from one person racing in two processes meet on the handle's unique key; the loser's
    IntegrityError makes its caller retry, and the retry finds the citizen.
    """
    if not handle:
        return None
    connection = session.connection()
    params = {"agency_id": agency_id, "channel": channel, "handle": handle}
    citizen_id = connection.execute(_FIND, params).scalar_one_or_none()
    if citizen_id is not None:
        return int(citizen_id)
    now = utcnow()
    citizen_id = connection.execute(_NEW_CITIZEN, {"agency_id": agency_id, "created_at": now}).scalar_one()
    connection.execute(_NEW_HANDLE, {**params, "citizen_id": citizen_id, "created_at": now})
    return int(citizen_id)
