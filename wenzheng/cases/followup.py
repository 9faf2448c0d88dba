"""回访: when a case is resolved its citizens are asked, on their own channel, to rate the handling from 1 to 5
by replying with a digit (满意度); the first rating is recorded on the case and completes its follow-up.

The answer arrives through the one door in, like anything a citizen writes: intake's reply decision calls
``rating_reply`` first. That costs nothing for ordinary messages — a regular expression on the text — and
one query only for a message that is a single digit from 1 to 5. The reply is decided before intake has
necessarily written the message's row, so the digit itself is placed later, by triage like every message:
``rated_case_of`` makes it join the case it rated instead of opening a case of its own.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session
from sqlalchemy.sql import select

from wenzheng.audit.actions import record_audit
from wenzheng.cases.models import Case
from wenzheng.cases.states import CaseState
from wenzheng.db import utcnow
from wenzheng.messages.models import Direction, Message
from wenzheng.staff.actor import Actor

if TYPE_CHECKING:
    from wenzheng.cases.actions import CaseAnswer

RATING = re.compile(r"^\s*([1-5１-５])\s*$")  # full-width digits too: what a Chinese keyboard often sends
RATING_WINDOW = dt.timedelta(days=7)  # after a week a digit is just a digit again
RATING_REQUEST = (
    "您反映的问题（受理编号 {ref}）已办结。请直接回复数字 1–5 为本次办理评分："
    "5 非常满意，4 满意，3 一般，2 不满意，1 非常不满意。"
)
THANKS = "感谢您的评价（{rating} 分）。受理编号 {ref} 的回访已完成。"
CITIZEN = Actor.system("citizen")
RATEABLE_STATES = (CaseState.RESOLVED.value, CaseState.FOLLOWED_UP.value)


def rating_in(text: str | None) -> int | None:
    """The rating a message consists of (``"5"``, ``" ４ "``), or None for anything else."""
    match = RATING.match(text or "")
    return int(match.group(1)) if match else None


def ask_for_rating(session: Session, actor: Actor, case: Case) -> CaseAnswer:
    """Ask each citizen of the resolved case to rate it, through the channel that carries its answers."""
    from wenzheng.cases.actions import reach_everyone  # which places messages, with rated_case_of below

    case.rating_requested_at = utcnow()
    case.rating = case.rated_at = None  # a case resolved again is rated again (earlier ratings stay in the log)
    record_audit(
        session,
        actor,
        "console:case:rating_request",
        agency_id=case.agency_id,
        subject_type="case",
        subject_id=case.id,
    )
    asked = reach_everyone(session, actor, case, text=RATING_REQUEST, counts_as_answer=False)
    session.commit()
    return asked


def rating_reply(session: Session, message: Message) -> str | None:
    """Intake's hook: a digit from a citizen whose case awaits their rating is recorded there and thanked for
    (in intake's transaction); anything else returns None and goes on as usual."""
    rating = rating_in(message.text)
    if rating is None:
        return None
    case = _case_asked_to_rate(session, message)
    if case is None:
        return None
    _record(session, case, message, rating)
    return THANKS.format(rating=rating, ref=case.ref)


def rated_case_of(session: Session, message: Message) -> Case | None:
    """For triage's placing: the case a lone digit rates (or rated), which it joins; None for anything else."""
    if rating_in(message.text) is None:
        return None
    return _case_asked_to_rate(session, message)


def rated_cases_of(session: Session, messages: Sequence[Message]) -> dict[int, Case]:
    """``rated_case_of`` for a batch, by message id: no query for anything but a lone digit, one for each digit."""
    found: dict[int, Case] = {}
    for message in messages:
        case = rated_case_of(session, message)
        if case is not None:
            found[message.id] = case
    return found


def rates_through(digit: Message, earlier: Message) -> bool:
    """Whether the case of ``earlier`` is one that ``digit`` may rate by ``_case_asked_to_rate``'s rule (through
    the conversation it continues, else through any inbound message of its citizen to the account): what
    placing a batch uses for the messages it has just placed, which the database does not show yet."""
    if earlier.account_id != digit.account_id or earlier.direction != Direction.INBOUND:
        return False
    if digit.parent_id is not None:
        return earlier.id == digit.parent_id
    return digit.citizen_id is not None and earlier.citizen_id == digit.citizen_id


def awaits_rating(case: Case, now: dt.datetime) -> bool:
    """Whether a lone digit may rate ``case`` (``_case_asked_to_rate``'s condition on the case, in memory)."""
    asked = case.rating_requested_at
    return case.state in RATEABLE_STATES and asked is not None and asked >= now - RATING_WINDOW


def _case_asked_to_rate(session: Session, message: Message) -> Case | None:
    """The case this citizen was last asked to rate, within the week: through the conversation they continue
    (their status page) or else through any message of theirs to this account."""
    query = (
        select(Case)
        .join(Message, Message.case_id == Case.id)
        .where(Message.account_id == message.account_id, Message.direction == Direction.INBOUND)
        .where(Case.state.in_(RATEABLE_STATES), Case.rating_requested_at >= utcnow() - RATING_WINDOW)
    )
    if message.parent_id is not None:
        query = query.where(Message.id == message.parent_id)
    elif message.citizen_id is not None:
        query = query.where(Message.citizen_id == message.citizen_id)
    else:
        return None
    return session.execute(query.order_by(Case.rating_requested_at.desc()).limit(1)).scalars().first()


def _record(session: Session, case: Case, message: Message, rating: int) -> None:
    """The first rating is the case's and completes its 回访; later ones (another citizen of the same case, a
    second thought) are kept in the audit log."""
    counted = case.rated_at is None
    if counted:
        case.rating, case.rated_at, case.updated_at = rating, utcnow(), utcnow()
        case.state = CaseState.FOLLOWED_UP
    record_audit(
        session,
        CITIZEN,
        "citizen:case:rate",
        agency_id=case.agency_id,
        subject_type="case",
        subject_id=case.id,
        data={"rating": rating, "message_id": message.id, "counted": counted},
    )


@dataclass(frozen=True)
class RatingPrompt:
    """What the citizen's status page offers: the rating buttons, or the rating already given."""

    asked: bool
    rating: int | None


def rating_prompt(session: Session, first: Message) -> RatingPrompt | None:
    if first.case_id is None:
        return None
    case = session.get(Case, first.case_id)
    if case is None or case.rating_requested_at is None:
        return None
    waiting = case.rated_at is None and case.state in RATEABLE_STATES
    recent = case.rating_requested_at >= utcnow() - RATING_WINDOW
    return RatingPrompt(asked=waiting and recent, rating=case.rating)
