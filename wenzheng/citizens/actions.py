"""Finding the citizen behind a channel handle, creating them on first contact."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from wenzheng.citizens.models import Citizen, CitizenHandle


def find_or_create_citizen(session: Session, agency_id: int, channel: str, handle: str | None) -> Citizen | None:
    """The agency's citizen for this handle; a first message creates them. None for channel-system senders."""
    if not handle:
        return None
    citizen = _by_handle(session, agency_id, channel, handle)
    if citizen is not None:
        return citizen
    try:
        with session.begin_nested():
            citizen = Citizen(agency_id=agency_id)
            session.add(citizen)
            session.flush()
            session.add(CitizenHandle(agency_id=agency_id, citizen_id=citizen.id, channel=channel, handle=handle))
            session.flush()
    except IntegrityError:
        # Another delivery from the same person created them a moment ago.
        citizen = _by_handle(session, agency_id, channel, handle)
    return citizen


def _by_handle(session: Session, agency_id: int, channel: str, handle: str) -> Citizen | None:
    return session.execute(
        select(Citizen)
        .join(CitizenHandle, CitizenHandle.citizen_id == Citizen.id)
        .where(CitizenHandle.agency_id == agency_id)
        .where(CitizenHandle.channel == channel)
        .where(CitizenHandle.handle == handle)
    ).scalar_one_or_none()
