"""When an answer does not reach the citizen: the reply says so, and a case it alone had answered is open again.

A reply is "queued" the moment staff send it, and its case counts as answered then (``cases.note_answered``).
The channel may still fail it: the SMS gateway reports it undelivered, WeChat closes the reply window before the
job runs, the relay refuses the mail, or the job gives up after its last retry. Each of those marks the reply
``failed`` (with an ``error_code``) and calls :func:`note_undelivered`, so that the case goes back to the
operators' lists (答复 → 承办) instead of waiting out its time limit as answered while the citizen heard nothing.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from wenzheng.audit.actions import record_audit
from wenzheng.cases.models import Case
from wenzheng.cases.states import CaseState
from wenzheng.db import utcnow
from wenzheng.messages.models import Direction, Message
from wenzheng.staff.actor import Actor

# payload["purpose"] of what staff wrote as an answer, as against acknowledgements and notices the system sends.
ANSWER = "reply"
NOTICE = "notice"
COPY = "copy"  # an undelivered answer, posted on the citizen's status page: not an answer that reached them
GAVE_UP = "delivery_gave_up"  # error_code of a reply whose sending job failed for the last time
# Statuses of an answer that reached the citizen or may still: it keeps its case answered.
UNDER_WAY = ("queued", "sending", "sent", "delivered")
STATES = (*UNDER_WAY, "failed")  # what an outbound message's status may be

DELIVERY = Actor.system("delivery")


def give_up(session: Session, message_id: int) -> Message | None:
    """A queued reply's job is dead: the reply failed (``delivery_gave_up``), and its case hears of it."""
    record = session.get(Message, message_id)
    if record is None or record.status != "queued":
        return None
    record.status, record.error_code = "failed", GAVE_UP
    note_undelivered(session, record)
    return record


def try_again(session: Session, message_id: int) -> Message | None:
    """Someone retried the dead job: the reply it gave up on is queued again (its case answered once it is sent)."""
    record = session.get(Message, message_id)
    if record is None or record.status != "failed" or record.error_code != GAVE_UP:
        return None
    record.status, record.error_code = "queued", None
    return record


def note_undelivered(session: Session, record: Message) -> Case | None:
    """An answer failed (in the caller's transaction): its case, if that now has no answer under way and was
    answered, is in progress again, audited. The case, when it was reopened."""
    if _is_answer(record):
        _copy_to_status_page(session, record)
    case = _case_of(session, record)
    if case is None or case.state != CaseState.ANSWERED or _other_answer_under_way(session, case, record):
        return None
    case.state = CaseState.IN_PROGRESS
    case.updated_at = utcnow()
    record_audit(
        session,
        DELIVERY,
        "worker:case:answer_undelivered",
        agency_id=case.agency_id,
        subject_type="case",
        subject_id=case.id,
        data={"message_id": record.id, "channel": record.channel, "error_code": record.error_code},
    )
    return case


def note_delivered(session: Session, record: Message) -> None:
    """An answer went out: a case that its earlier failure had reopened (a retried job) is answered again,
    audited. A case still answered from when staff sent it is left as it is."""
    from wenzheng.cases.actions import note_answered

    case = _case_of(session, record)
    if case is None or case.state not in (CaseState.RECEIVED, CaseState.DISPATCHED, CaseState.IN_PROGRESS):
        return
    root = _root(session, record)
    assert root is not None  # _case_of found the case through it
    note_answered(session, root)
    record_audit(
        session,
        DELIVERY,
        "worker:case:answer_delivered",
        agency_id=case.agency_id,
        subject_type="case",
        subject_id=case.id,
        data={"message_id": record.id, "channel": record.channel},
    )


def unanswered_failures(session: Session, case: Case) -> list[Message]:
    """The case's failed answers that no later answer under way has made up for, oldest first (for the console)."""
    answers = [a for a in _answers(session, case) if _is_answer(a)]
    return [
        failed
        for failed in answers
        if failed.status == "failed" and not any(a.id > failed.id and a.status in UNDER_WAY for a in answers)
    ]


def _copy_to_status_page(session: Session, record: Message) -> None:
    """The answer that did not arrive, on the citizen's status page (where they may look, with the link their
    acknowledgement gave them): nothing staff wrote is lost. It does not count as an answer that reached them,
    so the case still goes back to staff. A status-page answer needs no copy; a second failure adds none."""
    if record.channel == "web" or record.parent_id is None:
        return
    posted = session.scalars(
        select(Message).where(
            Message.parent_id == record.parent_id,
            Message.direction == Direction.OUTBOUND,
            Message.channel == "web",
            Message.text == record.text,
        )
    )
    if any((p.payload or {}).get("purpose") == COPY for p in posted):
        return
    post_on_status_page(session, record, record.text, {"purpose": COPY, "copy_of": record.id})


def post_on_status_page(session: Session, about: Message, text: str, payload: dict[str, object]) -> Message:
    """An answer on the citizen's status page, in the conversation of ``about`` (a message of it): "sent" at
    once, since the page shows it as soon as it is written."""
    answer = Message(
        agency_id=about.agency_id,
        account_id=about.account_id,
        citizen_id=about.citizen_id,
        direction=Direction.OUTBOUND,
        channel="web",
        channel_message_id=f"web:{uuid.uuid4().hex}",
        kind="text",
        text=text,
        status="sent",
        parent_id=about.parent_id or about.id,
        payload=payload,
    )
    session.add(answer)
    session.flush()
    return answer


def _case_of(session: Session, record: Message) -> Case | None:
    if not _is_answer(record):  # acknowledgements and notices never move a case (and cost no query)
        return None
    root = _root(session, record)
    return session.get(Case, root.case_id) if root is not None and root.case_id is not None else None


def _root(session: Session, record: Message) -> Message | None:
    if record.direction != Direction.OUTBOUND or record.parent_id is None:
        return None
    return session.get(Message, record.parent_id)


def _is_answer(record: Message) -> bool:
    return (record.payload or {}).get("purpose") == ANSWER


def _other_answer_under_way(session: Session, case: Case, failed: Message) -> bool:
    return any(
        _is_answer(other) and other.status in UNDER_WAY and other.id != failed.id for other in _answers(session, case)
    )


def _answers(session: Session, case: Case) -> list[Message]:
    """What went out in the case's conversations (answers, acknowledgements, notices), in order."""
    conversations = select(Message.id).where(Message.case_id == case.id, Message.direction == Direction.INBOUND)
    query = select(Message).where(Message.direction == Direction.OUTBOUND, Message.parent_id.in_(conversations))
    return list(session.scalars(query.order_by(Message.id)))
