"""Placing a batch set-based (``cases.actions.place_in_cases``) gives exactly what placing its messages one after
another did: the same cases, joined by the same messages, with the same counts, urgency and limits, and the same
audit events. The reference below is the per-message code placing used before (a few queries and a flush per
message); both run on the same arranged database, each in a transaction rolled back afterwards."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session

from tests.factories import create_account, create_agency, create_department
from wenzheng.agencies.models import Agency
from wenzheng.assessments.core import Computed
from wenzheng.audit.actions import record_audit
from wenzheng.audit.models import AuditEvent
from wenzheng.cases.actions import TRIAGE, Assessed, place_in_cases
from wenzheng.cases.assign import fill_departments
from wenzheng.cases.calendar import calendar_of
from wenzheng.cases.followup import rated_case_of
from wenzheng.cases.limits import P0_LIMIT, due_at
from wenzheng.cases.models import Case
from wenzheng.cases.states import OPEN_STATES, CaseState, more_urgent
from wenzheng.citizens.models import Citizen
from wenzheng.config import get_settings
from wenzheng.db import utcnow
from wenzheng.messages.models import Message

_ids = itertools.count(1)


# --- the reference: placing one message after another, as the worker did before -----------------------------


def place_one_by_one(session: Session, pairs: list[tuple[Message, Assessed]]) -> None:
    touched: dict[int, tuple[Case, list[int]]] = {}
    for message, assessment in pairs:
        if assessment.spam:
            continue
        case = _case_to_join(session, message, assessment)
        if case is None:
            case = _open_case(session, message, assessment)
        else:
            _join(case, assessment)
        message.case_id = case.id
        touched.setdefault(case.id, (case, []))[1].append(message.id)
    for case, message_ids in touched.values():
        action = "worker:case:open" if case.first_message_id in message_ids else "worker:case:join"
        record_audit(
            session,
            TRIAGE,
            action,
            agency_id=case.agency_id,
            subject_type="case",
            subject_id=case.id,
            data={"message_ids": message_ids[:100], "count": len(message_ids)},
        )
    opened = [case for case, ids in touched.values() if case.first_message_id in ids and case.department_id]
    if opened:
        fill_departments(session, opened[0].agency_id, {case.department_id for case in opened})


def _case_to_join(session: Session, message: Message, assessment: Assessed) -> Case | None:
    rated = rated_case_of(session, message)
    if rated is not None:
        return rated
    if message.parent_id is not None:
        parent_case = session.execute(select(Message.case_id).where(Message.id == message.parent_id)).scalar()
        if parent_case is not None:
            return session.get(Case, parent_case)
    open_cases = (
        select(Case).where(Case.account_id == message.account_id).where(Case.state.in_([s.value for s in OPEN_STATES]))
    )
    if assessment.cluster:
        found = session.execute(open_cases.where(Case.cluster == assessment.cluster).limit(1)).scalar_one_or_none()
        if found is not None:
            return found
    if message.citizen_id is not None:
        since = utcnow() - dt.timedelta(hours=get_settings().case_follow_up_hours)
        recent = open_cases.where(Case.citizen_id == message.citizen_id, Case.updated_at >= since)
        return session.execute(recent.order_by(Case.updated_at.desc()).limit(1)).scalar_one_or_none()
    return None


def _open_case(session: Session, message: Message, assessment: Assessed) -> Case:
    case = Case(
        agency_id=message.agency_id,
        account_id=message.account_id,
        ref=message.ref or f"case-{message.id}",
        first_message_id=message.id,
        citizen_id=message.citizen_id,
        urgency=assessment.urgency,
        score=assessment.score,
        intent=assessment.intent,
        cluster=assessment.cluster,
        summary=(message.text or message.location_label or "")[:200],
        department_id=assessment.department_id,
        state=CaseState.DISPATCHED if assessment.department_id else CaseState.RECEIVED,
    )
    case.due_at = due_at(
        urgency=case.urgency,
        intent=case.intent,
        opened_at=utcnow(),
        timezone=session.get_one(Agency, case.agency_id).timezone,
        calendar=calendar_of(session, case.agency_id),
    )
    session.add(case)
    session.flush()
    return case


def _join(case: Case, assessment: Assessed) -> None:
    case.message_count += 1
    case.updated_at = utcnow()
    if more_urgent(case.urgency, assessment.urgency) != case.urgency:
        case.urgency, case.score, case.intent = assessment.urgency, assessment.score, assessment.intent
        if assessment.urgency == "P0":
            case.due_at = min(case.due_at or utcnow() + P0_LIMIT, utcnow() + P0_LIMIT)


# --- the arrangement ---------------------------------------------------------------------------------------------


@dataclass
class World:
    agency_id: int
    account_id: int
    other_account_id: int
    department_id: int
    citizens: dict[str, int]
    cases: dict[str, int]  # name → id of the cases that exist before the batch
    messages: dict[str, int]  # name → id of the messages that exist before the batch


def _message(connection: Any, row: dict[str, Any]) -> int:
    n = next(_ids)
    values = {
        "direction": "in",
        "channel": "wechat",
        "channel_message_id": f"place-{n}",
        "kind": "text",
        "ref": f"WZ-PLACE-{n:05d}",
        "text": "",
        "payload": {},
        "status": "received",
        "received_at": utcnow(),
        **row,
    }
    table = cast(Table, Message.__table__)
    return int(connection.execute(insert(table).returning(table.c.id), values).scalar_one())


def _case(connection: Any, row: dict[str, Any]) -> int:
    now = utcnow()
    values = {
        "state": "received",
        "urgency": "P2",
        "score": 0.2,
        "intent": "complaint",
        "summary": "",
        "message_count": 1,
        "created_at": now - dt.timedelta(days=20),
        "updated_at": now - dt.timedelta(hours=1),
        "due_at": now + dt.timedelta(days=10),
        **row,
    }
    table = cast(Table, Case.__table__)
    return int(connection.execute(insert(table).returning(table.c.id), values).scalar_one())


def arrange(session: Session) -> World:
    agency = create_agency(session)
    account = create_account(session, agency)
    other = create_account(session, agency, name="另一个公众号")
    department = create_department(session, agency)
    session.commit()
    connection = session.connection()
    citizens = {}
    for name in ("ann", "bob", "cat", "dan", "eve", "fay", "gus", "hal", "ivy", "jon", "kim", "lee"):
        table = cast(Table, Citizen.__table__)
        citizens[name] = int(
            connection.execute(insert(table).returning(table.c.id), {"agency_id": agency.id}).scalar_one()
        )
    world = World(agency.id, account.id, other.id, department.id, citizens, {}, {})
    base = {"agency_id": agency.id, "account_id": account.id}
    now = utcnow()

    def old_case(name: str, citizen: str | None, **row: Any) -> None:
        first = _message(connection, {**base, "citizen_id": citizens[citizen] if citizen else None})
        case_id = _case(
            connection,
            {
                **base,
                "ref": f"case-old-{name}-{first}",
                "first_message_id": first,
                "citizen_id": citizens.get(citizen or ""),
                **row,
            },
        )
        connection.execute(
            cast(Table, Message.__table__).update().where(Message.__table__.c.id == first).values(case_id=case_id)
        )
        world.cases[name] = case_id
        world.messages[name] = first

    old_case("open_k1", "ann", cluster="k1")
    old_case("resolved", "bob", state="resolved", rating_requested_at=now - dt.timedelta(days=1), cluster="r")
    old_case("parent", "cat", cluster="k3")
    old_case("stale", "dan", cluster="k4", updated_at=now - dt.timedelta(days=10))
    old_case("stale_other", "dan", cluster="k5", updated_at=now - dt.timedelta(days=9))
    old_case("recent_of_eve", "eve", cluster="k6", updated_at=now - dt.timedelta(hours=2))
    old_case("closed_k7", "fay", state="closed", cluster="k7")
    old_case("other_account", "gus", cluster="shared", account_id=other.id)
    session.commit()
    return world


def batch(session: Session, world: World) -> list[tuple[Message, Assessed]]:
    """A mixed batch: stored as waiting messages, with the assessments triage would give them."""
    connection = session.connection()
    c, base = world.citizens, {"agency_id": world.agency_id, "account_id": world.account_id}
    specs: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
        # name, message, assessment
        ("new_a", {"citizen_id": c["hal"], "text": "小区停水了"}, {"cluster": "n1"}),
        ("copy_a", {"citizen_id": c["ivy"], "text": "转发：小区停水了"}, {"cluster": "n1", "urgency": "P1"}),
        ("hal_again", {"citizen_id": c["hal"], "text": "还是没有水"}, {"cluster": "n2"}),
        ("plea_k1", {"citizen_id": c["jon"], "text": "救命"}, {"cluster": "k1", "urgency": "P0", "intent": "rescue"}),
        ("rating", {"citizen_id": c["bob"], "text": "5"}, {"cluster": "d5"}),
        ("rating_again", {"citizen_id": c["bob"], "text": "４"}, {"cluster": "d4"}),
        ("reply", {"citizen_id": c["kim"], "parent": "parent", "text": "补充一下"}, {"cluster": "x1"}),
        ("wakes_stale", {"citizen_id": c["lee"], "text": "k4 again"}, {"cluster": "k4"}),
        ("dan_writes", {"citizen_id": c["dan"], "text": "我又来了"}, {"cluster": "z1"}),
        ("spam", {"citizen_id": c["lee"], "text": "广告"}, {"cluster": "sp", "spam": True}),
        ("shared", {"citizen_id": c["kim"], "text": "shared"}, {"cluster": "shared"}),
        ("reply_in_batch", {"citizen_id": c["ann"], "parent_in_batch": "new_a", "text": "接上条"}, {"cluster": "x2"}),
        ("lone_digit", {"citizen_id": c["jon"], "text": "3"}, {"cluster": "d3"}),
        ("nobody", {"citizen_id": None, "text": "匿名"}, {"cluster": None}),
        ("ivy_again", {"citizen_id": c["ivy"], "text": "另一件事"}, {"cluster": "o1"}),
        ("plea_new", {"citizen_id": c["gus"], "text": "又一份转发：救命"}, {"cluster": "n1", "urgency": "P0"}),
        ("routed", {"citizen_id": None, "text": "路灯坏了"}, {"cluster": "rt", "department": True}),
        ("routed_copy", {"citizen_id": None, "text": "路灯坏了！"}, {"cluster": "rt", "urgency": "P3"}),
        ("eve_writes", {"citizen_id": c["eve"], "text": "进展如何"}, {"cluster": "e1"}),
        ("closed_cluster", {"citizen_id": None, "text": "k7"}, {"cluster": "k7"}),
        ("digit_no_citizen", {"citizen_id": None, "text": "2"}, {"cluster": "d2"}),
        ("digit_reply", {"citizen_id": c["kim"], "parent": "resolved", "text": "1"}, {"cluster": "d1"}),
    ]
    computed_of: list[Computed] = []
    placed: dict[str, int] = {}
    for name, message, assessment in specs:
        row = {**base, "triage_pending": True, "citizen_id": message["citizen_id"], "text": message["text"]}
        if "parent" in message:
            row["parent_id"] = world.messages[message["parent"]]
        if "parent_in_batch" in message:
            row["parent_id"] = placed[message["parent_in_batch"]]
        message_id = _message(connection, row)
        placed[name] = message_id
        computed = Computed(
            agency_id=world.agency_id,
            account_id=world.account_id,
            message_id=message_id,
            lang="zh",
            normalized=message["text"],
            spam=assessment.get("spam", False),
            intent=assessment.get("intent", "complaint"),
            urgency=assessment.get("urgency", "P2"),
            score={"P0": 0.99, "P1": 0.7, "P2": 0.4, "P3": 0.1}[assessment.get("urgency", "P2")],
            cues=[],
            places=[],
            phones=[],
            people={},
            cluster=assessment.get("cluster"),
            department_name=None,
            department_id=world.department_id if assessment.get("department") else None,
            department_confidence=0.0,
            model_version="test",
        )
        computed_of.append(computed)
    loaded = {m.id: m for m in session.execute(select(Message).where(Message.id.in_(placed.values()))).scalars()}
    return [(loaded[computed.message_id], computed) for computed in computed_of]


def layout(session: Session, world: World, pairs: list[tuple[Message, Assessed]]) -> dict[str, Any]:
    """What placing left, with cases named by their first message (ids differ between the two runs)."""
    session.flush()
    cases = {
        case.id: case for case in session.execute(select(Case).execution_options(populate_existing=True)).scalars()
    }
    first = {case_id: case.first_message_id for case_id, case in cases.items()}
    message_ids = [message.id for message, _assessment in pairs]
    rows = session.execute(select(Message.id, Message.case_id).where(Message.id.in_(message_ids))).all()
    placed: dict[int, int | None] = {message_id: case_id for message_id, case_id in rows}
    events = session.execute(
        select(AuditEvent).where(AuditEvent.action.like("worker:case:%")).order_by(AuditEvent.id)
    ).scalars()
    return {
        "messages": {mid: first.get(case_id) if case_id else None for mid, case_id in placed.items()},
        "cases": {
            case.first_message_id: (
                case.account_id,
                case.citizen_id,
                case.ref,
                case.state,
                case.urgency,
                case.score,
                case.intent,
                case.cluster,
                case.summary,
                case.department_id,
                case.message_count,
            )
            for case in cases.values()
        },
        "due": {case.first_message_id: case.due_at for case in cases.values()},
        "recent": {
            case.first_message_id: case.updated_at > utcnow() - dt.timedelta(minutes=1) for case in cases.values()
        },
        "audit": [
            (event.action, first[cast(int, event.subject_id)], event.data["message_ids"], event.data["count"])
            for event in events
        ],
    }


def run(session: Session, world: World, place: Any) -> dict[str, Any]:
    pairs = batch(session, world)
    place(session, pairs)
    result = layout(session, world, pairs)
    result["names"] = {message.id: i for i, (message, _a) in enumerate(pairs)}
    session.rollback()
    return result


def by_position(result: dict[str, Any]) -> dict[str, Any]:
    """The layout with the batch's messages named by their position (their ids differ between runs)."""
    position = result["names"]

    def name(message_id: int | None) -> Any:
        return ("batch", position[message_id]) if message_id in position else message_id

    return {
        "messages": {name(m): name(f) for m, f in result["messages"].items()},
        "cases": {name(f): v for f, v in result["cases"].items()},
        "recent": {name(f): v for f, v in result["recent"].items()},
        "due": {name(f): v for f, v in result["due"].items()},
        "audit": [(a, name(f), [name(m) for m in ids], n) for a, f, ids, n in result["audit"]],
    }


def test_a_mixed_batch_lands_as_it_did_one_message_after_another(tx_db: Session) -> None:
    world = arrange(tx_db)
    ours = by_position(run(tx_db, world, place_in_cases))
    before = by_position(run(tx_db, world, place_one_by_one))
    # Case refs of new cases come from their first message, whose ref differs between the two runs.
    strip = lambda cases: {k: v[:2] + v[3:] for k, v in cases.items()}  # noqa: E731
    assert ours["messages"] == before["messages"]
    assert strip(ours["cases"]) == strip(before["cases"])
    assert ours["recent"] == before["recent"]
    assert ours["audit"] == before["audit"]
    for case, due in ours["due"].items():
        assert abs((due - before["due"][case]).total_seconds()) < 60, case

    # And what that layout is.
    m = ours["messages"]
    b = lambda n: ("batch", n)  # noqa: E731
    assert m[b(1)] == m[b(0)] == b(0)  # a copy joins the case its first copy opened in this batch
    assert m[b(2)] == b(0)  # the citizen's second message joins the case their first opened
    first_msg = world.messages
    assert m[b(3)] == first_msg["open_k1"]  # an open case of the cluster
    assert m[b(4)] == m[b(5)] == first_msg["resolved"]  # ratings join the case they rate
    assert m[b(6)] == first_msg["parent"]  # a reply joins its conversation's case
    assert m[b(7)] == first_msg["stale"]  # the cluster's open case, however old…
    assert m[b(8)] == first_msg["stale"]  # … which that made its citizen's recent case
    assert b(9) not in m or m[b(9)] is None  # spam is nobody's work
    assert m[b(10)] == b(10)  # another account's case of the same cluster is not this one's
    assert m[b(11)] == b(0)  # a reply to a message placed earlier in the batch
    assert m[b(12)] == b(12)  # a digit with nothing to rate is a message like any other
    assert m[b(13)] == b(13)
    assert m[b(14)] == b(14)  # joining someone else's case does not make it yours
    assert m[b(15)] == b(0)
    assert m[b(16)] == m[b(17)] == b(16)
    assert m[b(18)] == first_msg["recent_of_eve"]
    assert m[b(19)] == b(19)  # a closed case of the cluster is not joined
    assert m[b(20)] == b(20)
    assert m[b(21)] == first_msg["resolved"]  # a digit in the rated conversation
    cases = ours["cases"]
    assert cases[b(0)][4:6] == ("P0", 0.99) and cases[b(0)][-1] == 5  # escalated twice, five messages
    assert cases[first_msg["open_k1"]][4] == "P0" and cases[first_msg["open_k1"]][-1] == 2
    assert ours["due"][first_msg["open_k1"]] <= utcnow() + P0_LIMIT  # a P0 duplicate tightens the limit
    assert ours["due"][b(0)] <= utcnow() + P0_LIMIT
    assert cases[b(16)][3] == "dispatched" and cases[b(16)][-1] == 2
    assert cases[first_msg["resolved"]][3] == "resolved" and cases[first_msg["resolved"]][-1] == 4
    assert len(ours["audit"]) == len({event[1] for event in ours["audit"]})  # one event per touched case
