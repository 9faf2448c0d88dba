"""Round-robin assignment (派单 → 承办): a department's waiting cases go to its on-duty staff in turn, each up to
their capacity of open cases, the most urgent and then the oldest first.

Who takes a department's cases is kept on the agency membership (``department_id``, ``on_duty``,
``capacity``); the department remembers who got its last case (``last_assignee_id``), so the turn goes on
from there. Filling happens in the transaction of whatever made room or work — a case dispatched (by
routing or by a supervisor), someone coming on duty or getting more capacity, a case leaving someone's
hands — and a periodic sweep (``cases.assign_waiting``) catches anything else.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from wenzheng.agencies.models import Department
from wenzheng.audit.actions import record_audit
from wenzheng.cases.models import Case
from wenzheng.cases.states import OPEN_STATES, CaseState
from wenzheng.db import utcnow
from wenzheng.errors import InvalidInput, NotFound
from wenzheng.staff.actor import Actor
from wenzheng.staff.models import Membership, User
from wenzheng.staff.roles import Role

ASSIGNER = Actor.system("assignment")
# A case waits for a person while nobody holds it and it is not yet answered.
WAITING_STATES = (CaseState.RECEIVED.value, CaseState.DISPATCHED.value, CaseState.IN_PROGRESS.value)
TAKING_ROLES = (Role.OPERATOR.value, Role.SUPERVISOR.value, Role.ADMIN.value)
MAX_CAPACITY = 500
SWEEP_DEPARTMENTS = 200


@dataclass
class Seat:
    """One on-duty person of a department: how many open cases they may hold and hold now."""

    user_id: int
    capacity: int
    load: int

    @property
    def free(self) -> int:
        return max(0, self.capacity - self.load)


def fill_departments(session: Session, agency_id: int, department_ids: Iterable[int | None]) -> list[Case]:
    """Fill each of the agency's departments in turn (in the caller's transaction)."""
    assigned: list[Case] = []
    for department_id in sorted({d for d in department_ids if d is not None}):
        assigned += fill_department(session, agency_id, department_id)
    return assigned


def fill_department(session: Session, agency_id: int, department_id: int) -> list[Case]:
    """Give the department's waiting cases to its on-duty staff in turn, within their capacity; audited."""
    department = _locked_department(session, agency_id, department_id)
    if department is None:
        return []
    seats = _seats(session, department)
    free = sum(seat.free for seat in seats)
    if free == 0:
        return []
    assigned = []
    for case in _waiting(session, department, limit=free):
        seat = next_seat(seats, department.last_assignee_id)
        if seat is None:
            break
        _give(session, case, seat, department)
        assigned.append(case)
    return assigned


def next_seat(seats: list[Seat], last_user_id: int | None) -> Seat | None:
    """The next person after ``last_user_id`` (in user id order, wrapping round) who has room."""
    ordered = sorted(seats, key=lambda seat: seat.user_id)
    after = [seat for seat in ordered if last_user_id is None or seat.user_id > last_user_id]
    before = [seat for seat in ordered if seat not in after]
    return next((seat for seat in after + before if seat.free > 0), None)


def release(session: Session, agency_id: int, user_id: int) -> list[Case]:
    """A case left this person's hands: their department's next waiting case may go to them."""
    department_id = session.execute(
        select(Membership.department_id).where(Membership.agency_id == agency_id, Membership.user_id == user_id)
    ).scalar_one_or_none()
    session.flush()  # the case they let go no longer counts against their capacity
    return fill_department(session, agency_id, department_id) if department_id else []


def assign_waiting_everywhere(session: Session) -> list[Case]:
    """The periodic sweep: every department with waiting cases and someone on duty is filled."""
    rows = session.execute(
        select(Case.agency_id, Case.department_id)
        .join(
            Membership,
            (Membership.agency_id == Case.agency_id) & (Membership.department_id == Case.department_id),
        )
        .where(Case.assignee_id.is_(None), Case.department_id.is_not(None), Case.state.in_(WAITING_STATES))
        .where(Membership.on_duty.is_(True))
        .distinct()
        .limit(SWEEP_DEPARTMENTS)
    ).all()
    assigned: list[Case] = []
    for agency_id, department_id in rows:
        assigned += fill_department(session, agency_id, department_id)
    return assigned


def _locked_department(session: Session, agency_id: int, department_id: int) -> Department | None:
    """The department, locked on PostgreSQL so that two processes filling it take turns."""
    query = select(Department).where(Department.agency_id == agency_id, Department.id == department_id)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    return session.execute(query).scalar_one_or_none()


def _seats(session: Session, department: Department) -> list[Seat]:
    people = session.execute(
        select(Membership.user_id, Membership.capacity)
        .join(User, User.id == Membership.user_id)
        .where(Membership.agency_id == department.agency_id, Membership.department_id == department.id)
        .where(Membership.on_duty.is_(True), Membership.role.in_(TAKING_ROLES), User.is_active.is_(True))
    ).all()
    if not people:
        return []
    loads = open_cases_per_person(session, department.agency_id, [user_id for user_id, _capacity in people])
    return [Seat(user_id, capacity, loads.get(user_id, 0)) for user_id, capacity in people]


def open_cases_per_person(session: Session, agency_id: int, user_ids: list[int] | None = None) -> dict[int, int]:
    """How many open cases each person holds in the agency (everyone holding any, or those named)."""
    query = (
        select(Case.assignee_id, func.count())
        .where(Case.agency_id == agency_id, Case.state.in_([s.value for s in OPEN_STATES]))
        .where(Case.assignee_id.in_(user_ids) if user_ids is not None else Case.assignee_id.is_not(None))
        .group_by(Case.assignee_id)
    )
    return {int(user_id): int(count) for user_id, count in session.execute(query).all() if user_id is not None}


def _waiting(session: Session, department: Department, *, limit: int) -> list[Case]:
    """Unheld cases of the department, the most urgent first, then the oldest."""
    rank = func.coalesce(Case.urgency, "P2")  # "P0" < "P1" < "P2" < "P3" as text, on every engine
    return list(
        session.execute(
            select(Case)
            .where(Case.agency_id == department.agency_id, Case.department_id == department.id)
            .where(Case.assignee_id.is_(None), Case.state.in_(WAITING_STATES))
            .order_by(rank, Case.created_at, Case.id)
            .limit(limit)
        ).scalars()
    )


def _give(session: Session, case: Case, seat: Seat, department: Department) -> None:
    record_audit(
        session,
        ASSIGNER,
        "system:case:auto_assign",
        agency_id=case.agency_id,
        subject_type="case",
        subject_id=case.id,
        data={"to": seat.user_id, "department_id": department.id},
    )
    case.assignee_id = seat.user_id
    if case.state in (CaseState.RECEIVED, CaseState.DISPATCHED):
        case.state = CaseState.IN_PROGRESS
    case.updated_at = utcnow()
    seat.load += 1
    department.last_assignee_id = seat.user_id


def do_dispatch_case(session: Session, actor: Actor, case: Case, department: Department) -> Case:
    """派单: send the case to a department; it goes to whoever's turn it is there (if anyone is on duty)."""
    actor.require_role(case.agency_id, Role.SUPERVISOR)
    if department.agency_id != case.agency_id:
        raise NotFound("No such department in this case's agency.")
    if case.state not in OPEN_STATES:
        raise InvalidInput("Reopen the case before dispatching it.", code="case_closed")
    record_audit(
        session,
        actor,
        "console:case:dispatch",
        agency_id=case.agency_id,
        subject_type="case",
        subject_id=case.id,
        data={"from": case.department_id, "to": department.id, "unassigned": case.assignee_id},
    )
    previous = case.assignee_id
    if case.department_id != department.id:
        case.assignee_id = None  # another department's case: its own staff take it up
        if case.state in (CaseState.RECEIVED, CaseState.IN_PROGRESS):
            case.state = CaseState.DISPATCHED
    case.department_id, case.updated_at = department.id, utcnow()
    fill_department(session, case.agency_id, department.id)
    if previous is not None and case.assignee_id != previous:
        release(session, case.agency_id, previous)
    session.commit()
    return case


def do_set_on_duty(session: Session, actor: Actor, membership: Membership, *, on_duty: bool) -> Membership:
    """Go on or off duty (people do it for themselves; admins for anyone). Off duty keeps the cases one holds."""
    own = membership.user_id == actor.user_id
    actor.require_role(membership.agency_id, Role.OPERATOR if own else Role.ADMIN)
    record_audit(
        session,
        actor,
        "console:staff:duty",
        agency_id=membership.agency_id,
        subject_type="user",
        subject_id=membership.user_id,
        data={"on_duty": on_duty},
    )
    membership.on_duty = on_duty
    session.flush()
    if on_duty and membership.department_id:
        fill_department(session, membership.agency_id, membership.department_id)
    session.commit()
    return membership


def do_set_staffing(
    session: Session, actor: Actor, membership: Membership, *, department: Department | None, capacity: int
) -> Membership:
    """An admin decides whose cases a person takes (their department) and how many open ones at most."""
    actor.require_role(membership.agency_id, Role.ADMIN)
    if department is not None and department.agency_id != membership.agency_id:
        raise NotFound("No such department in this agency.")
    if not 0 <= capacity <= MAX_CAPACITY:
        raise InvalidInput(f"Capacity is a number of open cases from 0 to {MAX_CAPACITY}.", code="invalid_capacity")
    new_department = department.id if department else None
    record_audit(
        session,
        actor,
        "console:staff:staffing",
        agency_id=membership.agency_id,
        subject_type="user",
        subject_id=membership.user_id,
        data={
            "department": [membership.department_id, new_department],
            "capacity": [membership.capacity, capacity],
        },
    )
    membership.department_id, membership.capacity = new_department, capacity
    session.flush()
    if new_department is not None and membership.on_duty:
        fill_department(session, membership.agency_id, new_department)
    session.commit()
    return membership


@dataclass(frozen=True)
class DutyRow:
    membership: Membership
    user: User
    open_cases: int


def duty_roster(session: Session, actor: Actor, agency_id: int) -> list[DutyRow]:
    """Who of the agency takes cases, their department, duty, capacity and open cases (everyone may see it)."""
    actor.require_role(agency_id, Role.VIEWER)
    rows = session.execute(
        select(Membership, User)
        .join(User, User.id == Membership.user_id)
        .where(Membership.agency_id == agency_id, Membership.role.in_(TAKING_ROLES))
        .order_by(User.username)
    ).all()
    loads = open_cases_per_person(session, agency_id)
    return [DutyRow(m, u, loads.get(u.id, 0)) for m, u in rows]
