"""转办: a case that belongs to another agency on the platform is proposed to it, and it accepts or declines.

How tenants stay apart. A case is the unit that moves: on acceptance ``Case.agency_id`` becomes the
receiving agency, so every access helper that scopes cases by agency now shows it there and nowhere else.
Its messages do not move: they stay the rows of the account the citizen wrote to (``Case.account_id``
keeps pointing at it), because that account is the only way to answer the citizen on their channel and
the sending agency keeps its own record of what it received. The receiving agency reaches those messages
only through the case (``cases.access.messages_of_case`` selects by case and account, not by agency) and
answers them through it (``do_answer_case`` → ``do_reply(for_case=…)``); it cannot open them as messages
of its own, nor the citizen's record. The citizen keeps their reference: the case's ref does not change.

The proposal row belongs to the proposing agency (``agency_id``); the receiving agency reaches it through
``access_transfer_by_id`` as the party named in ``to_agency_id``. Both sides audit the decision.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from wenzheng.agencies.models import Agency
from wenzheng.audit.actions import record_audit
from wenzheng.cases.assign import release
from wenzheng.cases.calendar import calendar_of
from wenzheng.cases.limits import due_at
from wenzheng.cases.models import Case, CaseTransfer
from wenzheng.cases.states import OPEN_STATES, CaseState
from wenzheng.db import utcnow
from wenzheng.errors import Conflict, InvalidInput, NotFound
from wenzheng.staff.actor import Actor
from wenzheng.staff.roles import Role
from wenzheng.validation import clean_text

PENDING, ACCEPTED, DECLINED, WITHDRAWN = "pending", "accepted", "declined", "withdrawn"
LIST_LIMIT = 200


def access_transfer_by_id(session: Session, actor: Actor, transfer_id: int) -> CaseTransfer:
    """A transfer the actor's agency proposed or received; 404 for anyone else."""
    transfer = session.get(CaseTransfer, transfer_id)
    if transfer is None or not (actor.can_see(transfer.agency_id) or actor.can_see(transfer.to_agency_id)):
        raise NotFound("No such transfer.")
    return transfer


def transfer_targets(session: Session, actor: Actor, case: Case) -> list[Agency]:
    """The platform's other agencies, which a supervisor may propose the case to (the directory is public)."""
    actor.require_role(case.agency_id, Role.SUPERVISOR)
    return list(session.execute(select(Agency).where(Agency.id != case.agency_id).order_by(Agency.name)).scalars())


def pending_transfer_of(session: Session, case: Case) -> CaseTransfer | None:
    return session.execute(
        select(CaseTransfer).where(CaseTransfer.case_id == case.id, CaseTransfer.state == PENDING).limit(1)
    ).scalar_one_or_none()


def arrival_of(session: Session, case: Case) -> tuple[CaseTransfer, Agency] | None:
    """How the case came to its agency, if it was transferred in: the accepted proposal and its sender."""
    row = session.execute(
        select(CaseTransfer, Agency)
        .join(Agency, Agency.id == CaseTransfer.agency_id)
        .where(CaseTransfer.case_id == case.id, CaseTransfer.to_agency_id == case.agency_id)
        .where(CaseTransfer.state == ACCEPTED)
        .order_by(CaseTransfer.decided_at.desc())
        .limit(1)
    ).first()
    return (row[0], row[1]) if row else None


@dataclass(frozen=True)
class TransferRow:
    transfer: CaseTransfer
    case: Case
    other: Agency  # the receiving agency of an outgoing transfer, the sender of an incoming one
    incoming: bool


def transfers_of_agency(session: Session, actor: Actor, agency_id: int) -> list[TransferRow]:
    """The agency's transfers, both ways, pending first and then the newest (supervisors and admins)."""
    actor.require_role(agency_id, Role.SUPERVISOR)
    rows = session.execute(
        select(CaseTransfer, Case)
        .join(Case, Case.id == CaseTransfer.case_id)
        .where(or_(CaseTransfer.agency_id == agency_id, CaseTransfer.to_agency_id == agency_id))
        .order_by((CaseTransfer.state != PENDING), CaseTransfer.created_at.desc(), CaseTransfer.id.desc())
        .limit(LIST_LIMIT)
    ).all()
    agencies = _agencies(session, {t.agency_id for t, _c in rows} | {t.to_agency_id for t, _c in rows})
    result = []
    for transfer, case in rows:
        incoming = transfer.to_agency_id == agency_id
        other = agencies[transfer.agency_id if incoming else transfer.to_agency_id]
        result.append(TransferRow(transfer, case, other, incoming))
    return result


def _agencies(session: Session, ids: set[int]) -> dict[int, Agency]:
    return {a.id: a for a in session.execute(select(Agency).where(Agency.id.in_(ids))).scalars()}


def do_propose_transfer(session: Session, actor: Actor, case: Case, *, to_agency_id: int, reason: str) -> CaseTransfer:
    """A supervisor proposes that another agency takes the case over, saying why."""
    actor.require_role(case.agency_id, Role.SUPERVISOR)
    target = session.get(Agency, to_agency_id)
    if target is None:
        raise NotFound("No such agency on this platform.", code="unknown_agency")
    if target.id == case.agency_id:
        raise InvalidInput("Choose another agency than this case's own.", code="same_agency")
    if case.state not in OPEN_STATES:
        raise Conflict("Only an open case can be transferred; reopen it first.", code="case_closed")
    if pending_transfer_of(session, case) is not None:
        raise Conflict("This case already waits for another agency's answer.", code="transfer_pending")
    transfer = CaseTransfer(
        agency_id=case.agency_id,
        case_id=case.id,
        to_agency_id=target.id,
        reason=clean_text(reason, field="reason", max_length=500),
        proposed_by_id=actor.user_id,
    )
    session.add(transfer)
    session.flush()
    _audit(session, actor, transfer, "propose", agency_id=case.agency_id, other=target)
    case.updated_at = utcnow()
    session.commit()
    return transfer


def do_withdraw_transfer(session: Session, actor: Actor, transfer: CaseTransfer) -> CaseTransfer:
    """The proposing agency takes its proposal back while it is pending."""
    actor.require_role(transfer.agency_id, Role.SUPERVISOR)
    _check_pending(transfer)
    transfer.state, transfer.decided_by_id, transfer.decided_at = WITHDRAWN, actor.user_id, utcnow()
    _audit(session, actor, transfer, "withdraw", agency_id=transfer.agency_id, other=None)
    session.commit()
    return transfer


def do_accept_transfer(session: Session, actor: Actor, transfer: CaseTransfer) -> Case:
    """The receiving agency takes the case: it joins its queue as received, with a fresh time limit."""
    actor.require_role(transfer.to_agency_id, Role.SUPERVISOR)
    _check_pending(transfer)
    case = session.get_one(Case, transfer.case_id)
    if case.agency_id != transfer.agency_id or case.state not in OPEN_STATES:
        raise Conflict("The case was closed or moved since it was proposed.", code="case_changed")
    source, target = session.get_one(Agency, transfer.agency_id), session.get_one(Agency, transfer.to_agency_id)
    previous_assignee = case.assignee_id
    _move(session, case, target)
    transfer.state, transfer.decided_by_id, transfer.decided_at = ACCEPTED, actor.user_id, utcnow()
    _audit(session, actor, transfer, "accept", agency_id=source.id, other=target)
    _audit(session, actor, transfer, "accept", agency_id=target.id, other=source)
    if previous_assignee is not None:
        release(session, source.id, previous_assignee)
    session.commit()
    return case


def _move(session: Session, case: Case, target: Agency) -> None:
    """The case starts over in the receiving agency: not yet dispatched, nobody's, its limit counted anew."""
    now = utcnow()
    case.agency_id, case.department_id, case.assignee_id = target.id, None, None
    case.state, case.escalated_at = CaseState.RECEIVED, None
    case.acknowledged_at = case.acknowledged_by_id = None  # a P0 is acknowledged anew by the receiving agency
    case.due_at = due_at(
        urgency=case.urgency,
        intent=case.intent,
        opened_at=now,
        timezone=target.timezone,
        calendar=calendar_of(session, target.id),
    )
    case.updated_at = now


def do_decline_transfer(session: Session, actor: Actor, transfer: CaseTransfer, *, reason: str) -> CaseTransfer:
    """The receiving agency refuses, saying why; the case stays where it was."""
    actor.require_role(transfer.to_agency_id, Role.SUPERVISOR)
    _check_pending(transfer)
    transfer.decline_reason = clean_text(reason, field="reason", max_length=500)
    transfer.state, transfer.decided_by_id, transfer.decided_at = DECLINED, actor.user_id, utcnow()
    source, target = session.get_one(Agency, transfer.agency_id), session.get_one(Agency, transfer.to_agency_id)
    _audit(session, actor, transfer, "decline", agency_id=source.id, other=target)
    _audit(session, actor, transfer, "decline", agency_id=target.id, other=source)
    case = session.get_one(Case, transfer.case_id)
    case.updated_at = utcnow()
    session.commit()
    return transfer


def _check_pending(transfer: CaseTransfer) -> None:
    if transfer.state != PENDING:
        raise Conflict(f"This transfer was already {transfer.state}.", code="transfer_decided")


def _audit(
    session: Session, actor: Actor, transfer: CaseTransfer, verb: str, *, agency_id: int, other: Agency | None
) -> None:
    """On the case, in ``agency_id``'s log (each side of a decision keeps its own record)."""
    record_audit(
        session,
        actor,
        f"console:case:transfer_{verb}",
        agency_id=agency_id,
        subject_type="case",
        subject_id=transfer.case_id,
        data={
            "transfer_id": transfer.id,
            **({"agency": other.slug} if other else {}),
            **({"reason": transfer.decline_reason or transfer.reason} if verb in ("propose", "decline") else {}),
        },
    )
