"""Personal data kept no longer than the agency says: once a case has ended (resolved, followed up, closed)
and not changed for the agency's retention period, what identifies or locates the citizen in it is erased.

Erased, for every message of such a case: the position shared (latitude, longitude and its address label),
phone numbers and identity-card numbers in the text, the contact fields a channel recorded (sender address,
phone, IP, Open311's name and e-mail…), attachments (photos show faces and doorways) — their files once no
other message holds the same bytes —, and the numbers triage extracted. The case's summary loses its numbers
too. The citizen's contact handles (phone, e-mail, OpenID) go as well, unless the citizen still has an open
case, wrote within the period, or follows an account (a follower's handle is how bulletins reach them).

Kept: the text otherwise (the agency's record of what it was asked and answered), the case, its timeline,
departments, times and rating — every figure the public pages and reports count. The case is marked
(``personal_data_erased_at``) and its page says so. Each chunk of cases is audited with its counts.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import delete, exists, select, update
from sqlalchemy.orm import Session

from wenzheng.agencies.models import Agency
from wenzheng.assessments.models import Assessment
from wenzheng.audit.actions import record_audit
from wenzheng.cases.models import Case
from wenzheng.cases.states import OPEN_STATES
from wenzheng.citizens.models import Citizen, CitizenHandle
from wenzheng.db import rowcount, utcnow
from wenzheng.followers.actions import unfollow
from wenzheng.followers.models import Follower, FollowerState
from wenzheng.jobs import queue
from wenzheng.messages.models import Attachment, Message
from wenzheng.staff.actor import Actor
from wenzheng.staff.roles import Role
from wenzheng.triage.extract import mask_phones
from wenzheng.validation import clean_text

RETENTION = Actor.system("retention")
SessionFactory = Callable[[], Session]
CHUNK = 200  # cases erased per transaction: each a short one, so intake never waits long behind it
PHONE_ERASED = "[电话已删除]"
ID_ERASED = "[证件号已删除]"
_ID_CARD = re.compile(r"(?<![\dA-Za-z])\d{17}[\dXx](?![\dA-Za-z])")  # 居民身份证号码, 18 characters
# Payload fields in which a channel recorded who wrote and from where: e-mail and the web page, the SMS gateway's
# webhook (From), WeChat's XML (the OpenID, a location message's point and address, a picture's URL), Open311.
PERSONAL_FIELDS = frozenset(
    {"from", "to", "sender", "ip", "phone", "email", "From", "To"}
    | {"FromUserName", "Location_X", "Location_Y", "Label", "Latitude", "Longitude", "Precision", "PicUrl"}
    | {"first_name", "last_name", "device_id", "account_id", "address_string", "address_id", "lat", "long"}
    | {"media_url"}
)


@dataclass
class Erased:
    cases: int = 0
    messages: int = 0
    attachments: int = 0
    handles: int = 0
    followers: int = 0


def do_erase_citizen(session: Session, actor: Actor, citizen: Citizen, *, reason: str) -> Erased:
    """Erase one citizen's personal data now, at their request (PIPL: the right to deletion), whatever the state
    of their cases: what the retention period erases from each of their messages, their cases' summaries, all
    their contact handles, and their subscriptions (unfollowed, the follower's handle replaced, so that delivery
    counts stay). Admins only; ``reason`` (the request, and how it reached the agency) is required and audited
    with the counts; commits. Nobody can answer them after this: the handles that reach them are gone."""
    actor.require_role(citizen.agency_id, Role.ADMIN)
    why = clean_text(reason, field="reason", max_length=500)
    erased = Erased()
    message_ids = list(
        session.scalars(
            select(Message.id).where(Message.agency_id == citizen.agency_id, Message.citizen_id == citizen.id)
        )
    )
    erase_messages(session, citizen.agency_id, message_ids, erased)
    case_ids = list(
        session.scalars(select(Case.id).where(Case.agency_id == citizen.agency_id, Case.citizen_id == citizen.id))
    )
    erase_summaries(session, case_ids)
    erased.cases = len(case_ids)
    erased.handles = rowcount(
        session.execute(
            delete(CitizenHandle)
            .where(CitizenHandle.agency_id == citizen.agency_id, CitizenHandle.citizen_id == citizen.id)
            .execution_options(synchronize_session=False)
        )
    )
    for follower in session.scalars(
        select(Follower).where(Follower.agency_id == citizen.agency_id, Follower.citizen_id == citizen.id)
    ):
        if follower.state == FollowerState.FOLLOWING:
            unfollow(follower)
        follower.handle = f"erased-{follower.id}"
        erased.followers += 1
    record_audit(
        session,
        actor,
        "console:citizen:erase",
        agency_id=citizen.agency_id,
        subject_type="citizen",
        subject_id=citizen.id,
        data={**asdict(erased), "reason": why},
    )
    session.commit()
    return erased


def apply_retention(session_factory: SessionFactory, *, now: dt.datetime | None = None) -> dict[int, Erased]:
    """Erase what every agency's retention period has run out on, ``CHUNK`` cases per transaction (each
    committed with its audit event), so that intake never waits long behind it on SQLite; the counts per agency."""
    now = now or utcnow()
    with session_factory() as session:
        agencies = session.execute(
            select(Agency.id, Agency.retention_days).where(Agency.retention_days.is_not(None)).order_by(Agency.id)
        ).all()
        session.rollback()
    done: dict[int, Erased] = {}
    for agency_id, days in agencies:
        erased = _erase_expired(session_factory, agency_id, days, now)
        if erased.cases:
            done[agency_id] = erased
    return done


def _erase_expired(session_factory: SessionFactory, agency_id: int, days: int, now: dt.datetime) -> Erased:
    """Erase the personal data of the agency's ended cases unchanged for ``days``, a chunk at a time."""
    cutoff = now - dt.timedelta(days=days)
    total = Erased()
    while True:
        with session_factory() as session:
            case_ids = list(
                session.scalars(
                    select(Case.id)
                    .where(
                        Case.agency_id == agency_id,
                        Case.state.not_in([state.value for state in OPEN_STATES]),
                        Case.updated_at < cutoff,
                        Case.personal_data_erased_at.is_(None),
                    )
                    .order_by(Case.id)
                    .limit(CHUNK)
                )
            )
            if not case_ids:
                return total
            erased = Erased()
            _erase_cases(session, agency_id, case_ids, cutoff, now, erased)
            record_audit(
                session,
                RETENTION,
                "system:retention:erase",
                agency_id=agency_id,
                subject_type="agency",
                subject_id=agency_id,
                data={**asdict(erased), "retention_days": days},
            )
            session.commit()
        for name, value in asdict(erased).items():
            setattr(total, name, getattr(total, name) + value)


def erase_text(text: str) -> str:
    """``text`` without phone numbers and identity-card numbers."""
    return _ID_CARD.sub(ID_ERASED, mask_phones(text, PHONE_ERASED)) if text else text


def _erase_cases(
    session: Session, agency_id: int, case_ids: list[int], cutoff: dt.datetime, now: dt.datetime, erased: Erased
) -> None:
    messages = session.execute(
        select(Message.id, Message.citizen_id).where(Message.agency_id == agency_id, Message.case_id.in_(case_ids))
    ).all()
    erase_messages(session, agency_id, [row.id for row in messages], erased)
    erase_summaries(session, case_ids, erased_at=now)
    citizens = {row.citizen_id for row in messages if row.citizen_id is not None}
    citizens |= set(session.scalars(select(Case.citizen_id).where(Case.id.in_(case_ids), Case.citizen_id.is_not(None))))
    erased.handles += _erase_handles(session, agency_id, sorted(citizens), cutoff)
    erased.cases += len(case_ids)


def erase_messages(session: Session, agency_id: int, message_ids: list[int], erased: Erased) -> None:
    """Erase the personal data of these messages (positions, numbers, contact fields, attachments, extracted
    numbers); their text otherwise stays."""
    for start in range(0, len(message_ids), CHUNK):
        chunk = message_ids[start : start + CHUNK]
        for message_id, text, payload in session.execute(
            select(Message.id, Message.text, Message.payload).where(Message.id.in_(chunk))
        ):
            values = {"text": erase_text(text or ""), "payload": _without_personal_fields(payload)}
            session.execute(
                update(Message)
                .where(Message.id == message_id)
                .values(**values, latitude=None, longitude=None, location_label=None)
            )
        for assessment_id, normalized in session.execute(
            select(Assessment.id, Assessment.normalized).where(Assessment.message_id.in_(chunk))
        ):
            session.execute(
                update(Assessment)
                .where(Assessment.id == assessment_id)
                .values(normalized=erase_text(normalized), phones=[])
            )
        erased.attachments += _erase_attachments(session, agency_id, chunk)
        erased.messages += len(chunk)


def erase_summaries(session: Session, case_ids: list[int], *, erased_at: dt.datetime | None = None) -> None:
    """The cases' summaries without numbers; with ``erased_at`` the cases are marked as erased by the retention
    period (their pages say when)."""
    marked = {"personal_data_erased_at": erased_at} if erased_at is not None else {}
    for case_id, summary in session.execute(select(Case.id, Case.summary).where(Case.id.in_(case_ids))):
        session.execute(update(Case).where(Case.id == case_id).values(summary=erase_text(summary), **marked))


def _without_personal_fields(payload: Any) -> Any:
    """The payload without its contact fields, and without numbers in the text it kept (an SMS's Body, WeChat's
    Content, a mail's subject repeat what the message says)."""
    if not isinstance(payload, dict):
        return payload
    return {
        key: erase_text(value) if isinstance(value, str) else value
        for key, value in payload.items()
        if key not in PERSONAL_FIELDS
    }


def _erase_attachments(session: Session, agency_id: int, message_ids: list[int]) -> int:
    """Delete the messages' attachments; their files go by a job after the commit, once nothing refers to them."""
    hashes = set(
        session.scalars(
            select(Attachment.sha256).where(Attachment.message_id.in_(message_ids), Attachment.sha256.is_not(None))
        )
    )
    removed = session.execute(delete(Attachment).where(Attachment.message_id.in_(message_ids)))
    if hashes:
        queue.enqueue(session, "attachments.delete_unreferenced", {"sha256": sorted(hashes)}, agency_id=agency_id)
    return rowcount(removed)


def _erase_handles(session: Session, agency_id: int, citizen_ids: list[int], cutoff: dt.datetime) -> int:
    """Delete the contact handles of citizens with nothing open, nothing recent and no subscription."""
    if not citizen_ids:
        return 0
    still_needed = (
        exists().where(
            Case.citizen_id == CitizenHandle.citizen_id, Case.state.in_([state.value for state in OPEN_STATES])
        )
        | exists().where(Message.citizen_id == CitizenHandle.citizen_id, Message.received_at >= cutoff)
        | exists().where(Follower.citizen_id == CitizenHandle.citizen_id, Follower.state == FollowerState.FOLLOWING)
    )
    removed = session.execute(
        delete(CitizenHandle)
        .where(CitizenHandle.agency_id == agency_id, CitizenHandle.citizen_id.in_(citizen_ids), ~still_needed)
        .execution_options(synchronize_session=False)
    )
    return rowcount(removed)
