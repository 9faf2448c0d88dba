"""转办: a supervisor proposes a case to another agency on the platform, whose supervisors accept or decline it.
The case moves; its messages stay the source account's, seen by the receiving agency through the case only."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.cases.helpers import csrf, write_in
from tests.factories import create_tenant, create_user, login
from tests.wechat.callback_helpers import connect, send_text
from wenzheng.audit.models import AuditEvent
from wenzheng.cases.models import Case, CaseTransfer
from wenzheng.messages.models import Message
from wenzheng.staff.roles import Role

WATER = "幸福小区停水三天了，自来水公司电话打不通"


def _propose(client: TestClient, db: Session, case: Case, supervisor: str, to_agency_id: int) -> CaseTransfer:
    client.cookies.clear()
    token = login(client, supervisor)
    proposed = client.post(
        f"/console/cases/{case.id}/transfer",
        data={"csrf_token": token, "to_agency_id": str(to_agency_id), "reason": "供水归水务局管辖"},
        follow_redirects=False,
    )
    assert proposed.status_code == 303, proposed.text
    return db.execute(select(CaseTransfer).where(CaseTransfer.case_id == case.id)).scalars().all()[-1]


def test_the_receiving_agency_accepts_and_answers_through_the_case(client: TestClient, db: Session) -> None:
    city, water = create_tenant(db, "city"), create_tenant(db, "water")
    city_lead = create_user(db, city.agency, Role.SUPERVISOR, username="city-lead")
    water_lead = create_user(db, water.agency, Role.SUPERVISOR, username="water-lead")
    case, status_path = write_in(client, db, city, WATER)
    ref, message_id = case.ref, case.first_message_id
    transfer = _propose(client, db, case, city_lead.username, water.agency.id)
    assert (transfer.agency_id, transfer.to_agency_id, transfer.state) == (city.agency.id, water.agency.id, "pending")
    assert (
        "transfer_pending"
        in client.post(
            f"/console/cases/{case.id}/transfer",
            data={
                "csrf_token": csrf(client.get(f"/console/cases/{case.id}").text),
                "to_agency_id": str(water.agency.id),
                "reason": "again",
            },
        ).text
    )
    client.cookies.clear()
    token = login(client, water_lead.username)
    incoming = client.get(f"/console/agencies/{water.agency.id}/transfers").text
    assert ref in incoming and "供水归水务局管辖" in incoming and city.agency.name in incoming
    assert client.get(f"/console/cases/{case.id}").status_code == 404  # not theirs until they accept
    accepted = client.post(
        f"/console/transfers/{transfer.id}/accept", data={"csrf_token": token}, follow_redirects=False
    )
    assert accepted.status_code == 303 and accepted.headers["location"].startswith(f"/console/cases/{case.id}")
    db.refresh(case)
    assert (case.agency_id, case.ref, case.account_id) == (water.agency.id, ref, city.account.id)
    assert (case.state, case.assignee_id, case.department_id) == ("received", None, None)
    message = db.get_one(Message, message_id)
    assert (message.agency_id, message.case_id) == (city.agency.id, case.id)  # the message stays the account's
    page = client.get(f"/console/cases/{case.id}").text
    assert "自来水公司电话打不通" in page and "转自" in page and city.agency.name in page
    assert f'href="/console/messages/{message_id}' not in page
    assert client.get(f"/console/messages/{message_id}").status_code == 404  # through the case only
    assert ref in client.get(f"/console/agencies/{water.agency.id}/cases").text
    answered = client.post(
        f"/console/cases/{case.id}/answer-all",
        data={"csrf_token": token, "text": "水务局已派人检修，今晚恢复供水。"},
        follow_redirects=False,
    )
    assert answered.status_code == 303 and "sent=1" in answered.headers["location"]
    client.cookies.clear()
    assert "今晚恢复供水" in client.get(status_path).text  # the citizen, on the page of their reference
    token = login(client, city_lead.username)
    assert client.get(f"/console/cases/{case.id}").status_code == 404  # it left the city's hands
    outbound = len(db.execute(select(Message.id).where(Message.direction == "out")).all())
    refused = client.post(
        f"/console/messages/{message_id}/reply", data={"csrf_token": token, "text": "我们来答复", "channel": "web"}
    )
    assert "case_transferred" in refused.text or "transferred to another agency" in refused.text
    assert len(db.execute(select(Message.id).where(Message.direction == "out")).all()) == outbound
    audits = db.execute(
        select(AuditEvent.agency_id, AuditEvent.action).where(AuditEvent.action.like("console:case:transfer_%"))
    ).all()
    assert sorted(audits) == sorted(
        [
            (city.agency.id, "console:case:transfer_propose"),
            (city.agency.id, "console:case:transfer_accept"),
            (water.agency.id, "console:case:transfer_accept"),
        ]
    )
    reply = db.execute(select(AuditEvent).where(AuditEvent.action == "console:message:reply")).scalar_one()
    assert (reply.agency_id, reply.actor_user_id) == (water.agency.id, water_lead.id)


def test_declining_keeps_the_case_and_says_why(client: TestClient, db: Session) -> None:
    city, water = create_tenant(db, "city2"), create_tenant(db, "water2")
    city_lead = create_user(db, city.agency, Role.SUPERVISOR, username="city2-lead")
    water_lead = create_user(db, water.agency, Role.SUPERVISOR, username="water2-lead")
    case, _ = write_in(client, db, city, WATER)
    transfer = _propose(client, db, case, city_lead.username, water.agency.id)
    client.cookies.clear()
    token = login(client, water_lead.username)
    no_reason = client.post(f"/console/transfers/{transfer.id}/decline", data={"csrf_token": token, "reason": " "})
    assert no_reason.status_code == 422
    declined = client.post(
        f"/console/transfers/{transfer.id}/decline",
        data={"csrf_token": token, "reason": "该小区由二次供水物业负责"},
        follow_redirects=False,
    )
    assert declined.status_code == 303
    db.refresh(transfer)
    db.refresh(case)
    assert (transfer.state, transfer.decline_reason, transfer.decided_by_id) == (
        "declined",
        "该小区由二次供水物业负责",
        water_lead.id,
    )
    assert case.agency_id == city.agency.id
    late = client.post(f"/console/transfers/{transfer.id}/accept", data={"csrf_token": token})
    assert late.status_code == 409 and "transfer_decided" in late.text
    client.cookies.clear()
    login(client, city_lead.username)
    outgoing = client.get(f"/console/agencies/{city.agency.id}/transfers").text
    assert "该小区由二次供水物业负责" in outgoing and "已退回" in outgoing
    sides = set(
        db.execute(select(AuditEvent.agency_id).where(AuditEvent.action == "console:case:transfer_decline")).scalars()
    )
    assert sides == {city.agency.id, water.agency.id}


def test_who_may_propose_withdraw_and_decide(client: TestClient, db: Session) -> None:
    city, water, third = create_tenant(db, "city3"), create_tenant(db, "water3"), create_tenant(db, "third3")
    city_lead = create_user(db, city.agency, Role.SUPERVISOR, username="city3-lead")
    case, _ = write_in(client, db, city, WATER)
    token = login(client, city.operator.username)
    refused = client.post(
        f"/console/cases/{case.id}/transfer",
        data={"csrf_token": token, "to_agency_id": str(water.agency.id), "reason": "不归我们管"},
    )
    assert refused.status_code == 403
    transfer = _propose(client, db, case, city_lead.username, water.agency.id)
    own = client.post(
        f"/console/transfers/{transfer.id}/accept", data={"csrf_token": csrf(client.get("/console").text)}
    )
    assert own.status_code == 404  # the proposer cannot accept on the other agency's behalf
    client.cookies.clear()
    token = login(client, third.admin.username)
    for verb in ("accept", "decline", "withdraw"):
        response = client.post(f"/console/transfers/{transfer.id}/{verb}", data={"csrf_token": token, "reason": "x"})
        assert response.status_code == 404, verb
    client.cookies.clear()
    token = login(client, water.operator.username)
    assert client.post(f"/console/transfers/{transfer.id}/accept", data={"csrf_token": token}).status_code == 403
    client.cookies.clear()
    token = login(client, city_lead.username)
    withdrawn = client.post(f"/console/transfers/{transfer.id}/withdraw", data={"csrf_token": token})
    assert withdrawn.status_code == 200
    db.refresh(transfer)
    assert transfer.state == "withdrawn"
    assert db.get_one(Case, case.id).agency_id == city.agency.id


def test_what_the_citizen_writes_afterwards_joins_the_transferred_case(client: TestClient, db: Session) -> None:
    connected = connect(db, "city4", mode="plaintext")
    city, water = connected.tenant, create_tenant(db, "water4")
    city_lead = create_user(db, city.agency, Role.SUPERVISOR, username="city4-lead")
    water_lead = create_user(db, water.agency, Role.SUPERVISOR, username="water4-lead")
    send_text(client, connected, WATER, openid="o_thirsty")
    case = db.execute(select(Case)).scalar_one()
    transfer = _propose(client, db, case, city_lead.username, water.agency.id)
    client.cookies.clear()
    token = login(client, water_lead.username)
    client.post(f"/console/transfers/{transfer.id}/accept", data={"csrf_token": token})
    send_text(client, connected, "到现在还是没有水", openid="o_thirsty")
    db.refresh(case)
    assert (case.message_count, case.agency_id) == (2, water.agency.id)
    assert db.execute(select(Case.id)).scalars().all() == [case.id]
    assert "到现在还是没有水" in client.get(f"/console/cases/{case.id}").text
