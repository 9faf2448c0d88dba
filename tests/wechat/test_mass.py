"""Mass send (群发): an audited action within the account's quota, a job that submits it with a clientmsgid,
and MASSSENDJOBFINISH recorded."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.factories import SYSTEM, Tenant
from tests.wechat.fake_api import FakeWeChat
from tests.wechat.helpers import set_account_type
from wenzheng import db as wz_db
from wenzheng.audit.models import AuditEvent
from wenzheng.channels.wechat import outbound
from wenzheng.channels.wechat.errors import MassSendQuotaExhausted
from wenzheng.channels.wechat.models import AccountType, MassSend, WeChatBinding
from wenzheng.db import utcnow
from wenzheng.errors import Forbidden, InvalidInput
from wenzheng.jobs.models import Job
from wenzheng.jobs.worker import run_until_idle
from wenzheng.staff.actor import Actor
from wenzheng.staff.roles import Role

SENDALL = "/cgi-bin/message/mass/sendall"
FINISHED = {
    "MsgID": "",
    "Status": "send success",
    "TotalCount": "100",
    "FilterCount": "80",
    "SentCount": "75",
    "ErrorCount": "5",
}


@pytest.fixture
def session() -> Iterator[Session]:
    with wz_db.session_factory()() as session:
        yield session


def mass_sends(db: Session) -> list[MassSend]:
    return list(db.scalars(select(MassSend).order_by(MassSend.id).execution_options(populate_existing=True)))


def binding(db: Session, tenant: Tenant) -> WeChatBinding:
    return db.scalars(select(WeChatBinding).where(WeChatBinding.account_id == tenant.account.id)).one()


def send(session: Session, tenant: Tenant, **options: object) -> MassSend:
    fields: dict[str, object] = {"msgtype": "text", "content": "明日全市停水，请提前储水。", **options}
    return outbound.do_mass_send(session, SYSTEM, tenant.account, **fields)  # type: ignore[arg-type]


def test_a_mass_send_to_everyone_is_audited_submitted_with_its_clientmsgid_and_recorded(
    db: Session, session: Session, tenant: Tenant, wechat: FakeWeChat
) -> None:
    created = send(session, tenant)

    [call] = wechat.calls(SENDALL)
    body = json.loads(call.body)
    assert body == {
        "filter": {"is_to_all": True},
        "msgtype": "text",
        "text": {"content": "明日全市停水，请提前储水。"},
        "clientmsgid": created.client_msg_id,
        "send_ignore_reprint": 0,
    }
    assert "明日全市停水".encode() in call.body
    [row] = mass_sends(db)
    assert row.state == "submitted"
    assert row.wechat_msg_id is not None and row.submitted_at is not None
    assert row.wechat_msg_id == str(wechat.mass_by_client_id[created.client_msg_id])
    audit = db.scalars(select(AuditEvent).where(AuditEvent.action == "console:wechat_mass_send:create")).one()
    assert (audit.subject_id, audit.data["audience"]) == (row.id, "all")
    assert db.scalars(select(Job.state).where(Job.task == "wechat.mass_send")).all() == ["done"]


def test_a_mass_send_to_a_tag(db: Session, session: Session, tenant: Tenant, wechat: FakeWeChat) -> None:
    send(session, tenant, tag_id=101)
    assert json.loads(wechat.calls(SENDALL)[0].body)["filter"] == {"is_to_all": False, "tag_id": 101}


def test_a_media_mass_send_names_its_media(db: Session, session: Session, tenant: Tenant, wechat: FakeWeChat) -> None:
    send(session, tenant, msgtype="mpnews", content="", media_id="DRAFT_MEDIA_1")
    body = json.loads(wechat.calls(SENDALL)[0].body)
    assert (body["msgtype"], body["mpnews"]) == ("mpnews", {"media_id": "DRAFT_MEDIA_1"})


def test_a_subscription_account_has_one_mass_send_a_day(
    db: Session, session: Session, tenant: Tenant, wechat: FakeWeChat
) -> None:
    set_account_type(db, binding(db, tenant), AccountType.SUBSCRIPTION)
    send(session, tenant)
    audits_before = db.scalar(select(func.count(AuditEvent.id)))

    with pytest.raises(MassSendQuotaExhausted) as raised:
        send(session, tenant)

    assert raised.value.code == "wechat_mass_quota_exhausted"
    assert raised.value.status == 429
    assert "1 a day" in raised.value.message
    assert len(mass_sends(db)) == 1
    assert db.scalar(select(func.count(AuditEvent.id))) == audits_before
    assert wechat.count(SENDALL) == 1


def test_a_service_account_has_four_a_calendar_month(
    db: Session, session: Session, tenant: Tenant, wechat: FakeWeChat
) -> None:
    last_month = utcnow().astimezone(outbound.BEIJING).replace(day=1) - dt.timedelta(days=1)
    for n in range(3):
        db.add(old_mass_send(tenant, f"old-{n}", created_at=last_month))
    db.commit()
    for _ in range(4):
        send(session, tenant)

    with pytest.raises(MassSendQuotaExhausted):
        send(session, tenant)
    assert wechat.count(SENDALL) == 4


def old_mass_send(tenant: Tenant, client_msg_id: str, *, created_at: dt.datetime, state: str = "finished") -> MassSend:
    return MassSend(
        agency_id=tenant.agency.id,
        account_id=tenant.account.id,
        client_msg_id=client_msg_id,
        msgtype="text",
        content="旧的",
        state=state,
        created_at=created_at,
    )


def test_a_refused_mass_send_uses_no_quota(db: Session, session: Session, tenant: Tenant, wechat: FakeWeChat) -> None:
    set_account_type(db, binding(db, tenant), AccountType.SUBSCRIPTION)
    db.add(old_mass_send(tenant, "refused", created_at=utcnow(), state="failed"))
    db.commit()
    assert outbound.check_mass_send_quota(session, tenant.account) == 1


def test_wechats_45028_marks_the_send_failed_without_retrying(
    db: Session, session: Session, tenant: Tenant, wechat: FakeWeChat
) -> None:
    wechat.mass_quota = 0

    send(session, tenant)

    [row] = mass_sends(db)
    assert row.state == "failed"
    assert row.error is not None and row.error.startswith("wechat_mass_quota_exhausted:")
    assert row.wechat_msg_id is None
    job = db.scalars(select(Job).where(Job.task == "wechat.mass_send")).one()
    assert (job.state, job.attempts) == ("done", 0)


def test_a_busy_wechat_is_retried_with_the_same_clientmsgid(
    db: Session, session: Session, tenant: Tenant, wechat: FakeWeChat
) -> None:
    wechat.fail(SENDALL, -1)

    created = send(session, tenant)

    [row] = mass_sends(db)
    assert row.state == "queued"
    job = db.scalars(select(Job).where(Job.task == "wechat.mass_send")).one()
    assert (job.state, job.attempts) == ("queued", 1)

    run_until_idle(wz_db.session_factory(), "test", now=utcnow() + dt.timedelta(minutes=5))

    assert mass_sends(db)[0].state == "submitted"
    assert [json.loads(c.body)["clientmsgid"] for c in wechat.calls(SENDALL)] == [created.client_msg_id] * 2


def test_a_resubmitted_clientmsgid_takes_wechats_original_msg_id(
    db: Session, session: Session, tenant: Tenant, wechat: FakeWeChat
) -> None:
    """WeChat accepted the first submission, but our commit was lost: 45065 tells us the msg_id."""
    db.add(old_mass_send(tenant, "wz-resubmitted", created_at=utcnow(), state="queued"))
    db.commit()
    wechat.mass_by_client_id["wz-resubmitted"] = 4242

    outbound.submit_mass_send(session, session.scalars(select(MassSend)).one())
    session.commit()

    [row] = mass_sends(db)
    assert (row.state, row.wechat_msg_id) == ("submitted", "4242")
    assert wechat.mass_quota == 100  # no second send


def test_masssendjobfinish_records_the_outcome_once(
    db: Session, session: Session, tenant: Tenant, wechat: FakeWeChat
) -> None:
    send(session, tenant)
    msg_id = mass_sends(db)[0].wechat_msg_id

    for _ in range(2):  # WeChat retries its pushes
        recorded = outbound.record_mass_send_finished(session, tenant.account, {**FINISHED, "MsgID": msg_id})
        session.commit()
        assert recorded is not None

    [row] = mass_sends(db)
    assert (row.state, row.status) == ("finished", "send success")
    assert (row.total_count, row.filter_count, row.sent_count, row.error_count) == (100, 80, 75, 5)
    assert row.finished_at is not None


def test_a_moderation_verdict_is_kept_and_unknown_msg_ids_are_ignored(
    db: Session, session: Session, tenant: Tenant, wechat: FakeWeChat
) -> None:
    send(session, tenant)
    msg_id = mass_sends(db)[0].wechat_msg_id
    verdict = {"MsgID": msg_id, "Status": "err(20001)", "TotalCount": "100", "FilterCount": "0"}

    outbound.record_mass_send_finished(session, tenant.account, verdict)
    assert outbound.record_mass_send_finished(session, tenant.account, {**FINISHED, "MsgID": "999999"}) is None
    session.commit()

    [row] = mass_sends(db)
    assert (row.status, row.total_count, row.sent_count) == ("err(20001)", 100, None)


def test_only_supervisors_and_admins_may_mass_send(db: Session, session: Session, tenant: Tenant) -> None:
    operator = Actor(user_id=tenant.operator.id, roles={tenant.agency.id: Role.OPERATOR})
    with pytest.raises(Forbidden):
        outbound.do_mass_send(session, operator, tenant.account, msgtype="text", content="未经授权")
    with pytest.raises(InvalidInput):
        send(session, tenant, msgtype="music")
    assert mass_sends(db) == []


MASS_GET = "/cgi-bin/message/mass/get"


def test_a_mass_send_wechat_never_reports_is_asked_about_until_it_has_ended(
    db: Session, session: Session, tenant: Tenant, wechat: FakeWeChat
) -> None:
    send(session, tenant)
    [row] = mass_sends(db)
    msg_id = int(row.wechat_msg_id or 0)
    started = utcnow()

    def run_at(minutes: int) -> None:
        run_until_idle(wz_db.session_factory(), "test", now=started + dt.timedelta(minutes=minutes))

    run_at(14)
    assert not wechat.calls(MASS_GET)
    wechat.mass_status[msg_id] = "SENDING"
    run_at(16)
    run_at(29)  # the next question waits half an hour after the last was scheduled (the clock here stands still)
    assert [c.json for c in wechat.calls(MASS_GET)] == [{"msg_id": msg_id}]
    assert mass_sends(db)[0].state == "submitted"

    wechat.mass_status[msg_id] = "SEND_SUCCESS"
    run_at(31)
    [row] = mass_sends(db)
    assert (row.state, row.status, row.total_count) == ("finished", "send success", None)
    assert len(wechat.calls(MASS_GET)) == 2
    assert not db.scalars(select(Job).where(Job.task == "wechat.check_mass_send", Job.state == "queued")).all()

    # WeChat's event, late, still brings its numbers.
    outbound.record_mass_send_finished(session, tenant.account, {**FINISHED, "MsgID": str(msg_id)})
    session.commit()
    assert (mass_sends(db)[0].sent_count, mass_sends(db)[0].status) == (75, "send success")


def test_nobody_asks_about_a_mass_send_wechat_has_reported(
    db: Session, session: Session, tenant: Tenant, wechat: FakeWeChat
) -> None:
    send(session, tenant)
    [row] = mass_sends(db)
    outbound.record_mass_send_finished(session, tenant.account, {**FINISHED, "MsgID": row.wechat_msg_id})
    session.commit()

    run_until_idle(wz_db.session_factory(), "test", now=utcnow() + dt.timedelta(minutes=20))

    assert not wechat.calls(MASS_GET)
    assert db.scalars(select(Job.state).where(Job.task == "wechat.check_mass_send")).all() == ["done"]


def test_a_busy_wechat_is_asked_again_and_a_refusal_to_say_ends_the_questions(
    db: Session, session: Session, tenant: Tenant, wechat: FakeWeChat
) -> None:
    send(session, tenant)
    started = utcnow()
    wechat.fail(MASS_GET, -1, 40003)  # busy, then "invalid msg_id"

    for minutes in (16, 20, 40):
        run_until_idle(wz_db.session_factory(), "test", now=started + dt.timedelta(minutes=minutes))

    assert len(wechat.calls(MASS_GET)) == 2
    assert mass_sends(db)[0].state == "submitted"  # still waiting for WeChat's report, as the page says
    assert db.scalars(select(Job.state).where(Job.task == "wechat.check_mass_send")).all() == ["done"]
