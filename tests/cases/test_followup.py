"""回访: a resolved case's citizens are asked to rate it 1–5; a lone digit back is their rating."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from fastapi.testclient import TestClient
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from tests.cases.helpers import csrf, form_id, write_in
from tests.factories import create_tenant, login
from tests.wechat.callback_helpers import connect, send_text
from wenzheng.audit.models import AuditEvent
from wenzheng.cases.followup import RATING_REQUEST, rating_in, rating_reply
from wenzheng.cases.models import Case
from wenzheng.db import get_engine
from wenzheng.messages.models import Message


def _resolve(client: TestClient, case: Case, username: str) -> None:
    client.cookies.clear()
    token = login(client, username)
    moved = client.post(f"/console/cases/{case.id}/move", data={"csrf_token": token, "to_state": "resolved"})
    assert moved.status_code == 200


def test_the_status_page_asks_for_a_rating_and_records_it(client: TestClient, db: Session) -> None:
    tenant = create_tenant(db, "rate")
    case, status_path = write_in(client, db, tenant, "幸福小区停水三天了")
    _resolve(client, case, tenant.operator.username)
    db.refresh(case)
    assert case.state == "resolved" and case.rating_requested_at is not None
    assert case.first_answered_at is None  # asking for a rating is not an answer
    client.cookies.clear()
    page = client.get(status_path).text
    assert RATING_REQUEST.format(ref=case.ref)[:20] in page and 'id="rate"' in page
    assert 'name="text" value="4"' in page
    rated = client.post(
        f"{status_path}/follow-up", data={"text": "4", "form_id": form_id() + "-rate"}, follow_redirects=False
    )
    assert rated.status_code == 303
    db.refresh(case)
    assert (case.rating, case.state) == (4, "followed_up") and case.rated_at is not None
    assert db.execute(select(Case.id)).scalars().all() == [case.id]  # the digit opened no case of its own
    digit = db.execute(select(Message).where(Message.text == "4")).scalar_one()
    assert digit.case_id == case.id and digit.reply is not None and "感谢您的评价" in digit.reply["content"]
    event_ = db.execute(select(AuditEvent).where(AuditEvent.action == "citizen:case:rate")).scalar_one()
    assert event_.data["rating"] == 4 and event_.data["counted"] is True
    page = client.get(status_path).text
    assert 'id="rate"' not in page and "4 / 5" in page
    login(client, tenant.operator.username)
    assert "4 / 5" in client.get(f"/console/cases/{case.id}").text


def test_a_wechat_citizen_rates_with_a_full_width_digit(client: TestClient, db: Session) -> None:
    connected = connect(db, "rate-wx", mode="plaintext")
    tenant = connected.tenant
    send_text(client, connected, "请问怎么给灾区捐款？", openid="o_rater")
    case = db.execute(select(Case)).scalar_one()
    _resolve(client, case, tenant.operator.username)
    asked = db.execute(select(Message).where(Message.direction == "out")).scalars().all()
    assert any("评分" in m.text for m in asked)
    _status, reply = send_text(client, connected, "５", openid="o_rater")
    assert "感谢您的评价（5 分）" in reply
    db.refresh(case)
    assert (case.rating, case.state) == (5, "followed_up")
    assert db.execute(select(Case.id)).scalars().all() == [case.id]


def test_a_digit_is_just_a_digit_without_a_request(client: TestClient, db: Session) -> None:
    connected = connect(db, "rate-no", mode="plaintext")
    _status, reply = send_text(client, connected, "3", openid="o_plain")
    assert "感谢您的评价" not in reply and "受理编号" in reply
    tenant = connected.tenant
    send_text(client, connected, "请问怎么给灾区捐款？", openid="o_reopen")
    case = db.execute(select(Case).where(Case.summary.contains("捐款"))).scalar_one()
    _resolve(client, case, tenant.operator.username)
    token = csrf(client.get(f"/console/cases/{case.id}").text)
    client.post(f"/console/cases/{case.id}/move", data={"csrf_token": token, "to_state": "in_progress"})  # reopen
    _status, reply = send_text(client, connected, "2", openid="o_reopen")
    assert "感谢您的评价" not in reply
    db.refresh(case)
    assert case.rating is None and case.rating_requested_at is None


@contextmanager
def _statements() -> Iterator[list[str]]:
    seen: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        seen.append(statement)

    engine = get_engine()
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_ordinary_messages_cost_the_intake_no_query(db: Session) -> None:
    assert [rating_in(t) for t in ("5", " ３ ", "0", "6", "55", "5分", "", None)] == [
        5,
        3,
        None,
        None,
        None,
        None,
        None,
        None,
    ]
    with _statements() as seen:
        assert rating_reply(db, Message(text="小区停水三天了", account_id=1, citizen_id=1)) is None
        assert rating_reply(db, Message(text="12", account_id=1, citizen_id=1)) is None
    assert seen == []
    with _statements() as seen:
        assert rating_reply(db, Message(text="5", account_id=1, citizen_id=1)) is None
    assert len(seen) == 1  # a lone digit looks for a case awaiting its rating, once
