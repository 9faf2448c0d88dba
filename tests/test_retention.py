"""Personal data is kept no longer than the agency says: an ended case's positions, numbers, contact fields and
photos are erased after the retention period; the record of what was asked and answered stays."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tests.citizen.test_web_page import jpeg_with_gps
from tests.factories import SYSTEM, Tenant, create_tenant, login
from wenzheng import db as wz_db
from wenzheng.agencies.actions import do_set_retention_days
from wenzheng.assessments.models import Assessment
from wenzheng.attachments.store import get_store
from wenzheng.audit.actions import record_audit
from wenzheng.audit.models import AuditEvent
from wenzheng.cases.models import Case
from wenzheng.citizens.models import CitizenHandle
from wenzheng.citizens.retention import apply_retention, erase_text
from wenzheng.db import utcnow
from wenzheng.errors import InvalidInput
from wenzheng.messages.models import Attachment, Message

PLEA = "龙门乡青龙场村房屋倒塌，三人被困，联系电话 139 0000 1111，身份证号 510102199001011234"


def _write(
    client: TestClient, db: Session, tenant: Tenant, form_id: str, phone: str, *, text: str = PLEA, photo: bool = False
) -> Message:
    data = {"kind": "help", "text": text, "form_id": form_id, "phone": phone, "latitude": "30.2", "longitude": "102.9"}
    files = {"photo": ("photo.jpg", jpeg_with_gps(), "image/jpeg")} if photo else None
    answer = client.post(f"/c/{tenant.account.slug}/messages", data=data, files=files, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    db.expire_all()
    return db.scalars(select(Message).order_by(Message.id.desc())).first()  # type: ignore[return-value]


def _case_of(db: Session, message_id: int) -> Case:
    db.expire_all()
    message = db.get_one(Message, message_id)
    assert message.case_id is not None, "triage made no case"
    return db.get_one(Case, message.case_id)


def _end(db: Session, case: Case) -> None:
    db.execute(update(Case).where(Case.id == case.id).values(state="closed"))
    record_audit(db, SYSTEM, "test:case:close", agency_id=case.agency_id, subject_type="case", subject_id=case.id)
    db.commit()


def _follows_by_sms(db: Session, tenant: Tenant, citizen_id: int | None, phone: str) -> None:
    from wenzheng.followers.models import Follower

    db.add(
        Follower(
            agency_id=tenant.agency.id, account_id=tenant.account.id, citizen_id=citizen_id, channel="sms", handle=phone
        )
    )
    db.commit()


@pytest.fixture
def tenant(db: Session) -> Tenant:
    tenant = create_tenant(db, "keep")
    do_set_retention_days(db, SYSTEM, tenant.agency, "365")
    return tenant


def test_an_ended_case_loses_its_personal_data_after_the_period_and_keeps_its_record(
    client: TestClient, db: Session, tenant: Tenant
) -> None:
    ended_message = _write(client, db, tenant, "form-retention-000001", "13800138000", photo=True)
    open_message = _write(
        client,
        db,
        tenant,
        "form-retention-000002",
        "13800138001",
        text="宝兴县灵关镇断水两天，老人孩子缺饮用水，电话 139 0000 1111",
    )
    ended, still_open = _case_of(db, ended_message.id), _case_of(db, open_message.id)
    _end(db, ended)
    [photo] = db.scalars(select(Attachment).where(Attachment.message_id == ended_message.id))
    sha256 = photo.sha256
    assert sha256 and get_store().exists(sha256)
    assert db.scalars(select(Assessment.phones).where(Assessment.message_id == ended_message.id)).one()

    assert apply_retention(wz_db.session_factory(), now=utcnow() + dt.timedelta(days=300)) == {}  # not yet
    done = apply_retention(wz_db.session_factory(), now=utcnow() + dt.timedelta(days=366))  # commits chunk by chunk

    assert (done[tenant.agency.id].cases, done[tenant.agency.id].attachments) == (1, 1)
    db.expire_all()
    message = db.get_one(Message, ended_message.id)
    assert "139 0000 1111" not in message.text and "510102199001011234" not in message.text
    assert "[电话已删除]" in message.text and "[证件号已删除]" in message.text and "房屋倒塌" in message.text
    assert (message.latitude, message.longitude, message.location_label) == (None, None, None)
    assert "ip" not in message.payload
    assert not db.scalars(select(Attachment).where(Attachment.message_id == ended_message.id)).all()
    assert not get_store().exists(sha256)
    assessment = db.scalars(select(Assessment).where(Assessment.message_id == ended_message.id)).one()
    assert assessment.phones == [] and "1111" not in assessment.normalized
    case = db.get_one(Case, ended.id)
    assert case.personal_data_erased_at is not None and case.state == "closed" and "房屋倒塌" in case.summary
    assert not db.scalars(select(CitizenHandle).where(CitizenHandle.citizen_id == ended_message.citizen_id)).all()

    kept = db.get_one(Message, open_message.id)
    assert kept.latitude == 30.2 and "139 0000 1111" in kept.text and still_open.personal_data_erased_at is None
    assert db.scalars(select(CitizenHandle).where(CitizenHandle.citizen_id == open_message.citizen_id)).all()
    [audit] = db.scalars(select(AuditEvent).where(AuditEvent.action == "system:retention:erase")).all()
    assert audit.data["cases"] == 1 and audit.data["retention_days"] == 365

    assert apply_retention(wz_db.session_factory(), now=utcnow() + dt.timedelta(days=400)) == {}  # done once

    login(client, tenant.admin.username)
    assert "本案群众的个人信息已按保存期限删除" in client.get(f"/console/cases/{ended.id}").text


def test_a_citizen_who_still_follows_or_wrote_lately_keeps_their_contact(
    client: TestClient, db: Session, tenant: Tenant
) -> None:
    first = _write(client, db, tenant, "form-retention-000003", "13800138002")
    _end(db, _case_of(db, first.id))
    _follows_by_sms(db, tenant, first.citizen_id, "+8613800138002")

    apply_retention(wz_db.session_factory(), now=utcnow() + dt.timedelta(days=366))
    db.expire_all()

    assert db.scalars(select(CitizenHandle).where(CitizenHandle.citizen_id == first.citizen_id)).all()
    assert db.get_one(Message, first.id).latitude is None  # the case's data is erased all the same


def test_an_agency_without_a_period_keeps_everything_and_bad_periods_are_refused(
    client: TestClient, db: Session
) -> None:
    tenant = create_tenant(db, "forever")
    message = _write(client, db, tenant, "form-retention-000004", "13800138003")
    _end(db, _case_of(db, message.id))

    assert apply_retention(wz_db.session_factory(), now=utcnow() + dt.timedelta(days=5000)) == {}
    for bad in ("7", "abc", "-5", "4000"):
        with pytest.raises(InvalidInput) as refused:
            do_set_retention_days(db, SYSTEM, tenant.agency, bad)
        assert refused.value.code == "invalid_retention"

    csrf = login(client, tenant.admin.username)
    saved = client.post(
        f"/console/agencies/{tenant.agency.id}/retention",
        data={"csrf_token": csrf, "days": "730"},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    db.expire_all()
    assert db.get_one(type(tenant.agency), tenant.agency.id).retention_days == 730
    assert "办结 730 天后删除" in client.get(f"/console/agencies/{tenant.agency.id}").text


def test_erased_text_keeps_dates_and_ordinary_numbers() -> None:
    text = "2020-01-06 反映：A3区 12 栋 3 单元漏水，电话 13900001111 或 0835-2223344，证件 51010219900101123X"
    erased = erase_text(text)
    assert "2020-01-06" in erased and "12 栋 3 单元" in erased
    assert "13900001111" not in erased and "0835-2223344" not in erased and "51010219900101123X" not in erased


def test_an_admin_sets_the_period_through_the_api(client: TestClient, db: Session, tenant: Tenant) -> None:
    from tests.factories import create_api_token
    from wenzheng.staff.roles import Role

    _token, secret = create_api_token(db, tenant.agency, Role.ADMIN)
    headers = {"Authorization": f"Bearer {secret}"}
    path = f"/api/v1/agencies/{tenant.agency.id}/retention"
    refused = client.put(path, json={"retention_days": 7}, headers=headers)
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "invalid_retention"
    saved = client.put(path, json={"retention_days": 180}, headers=headers)
    assert saved.status_code == 200 and saved.json()["retention_days"] == 180
    cleared = client.put(path, json={"retention_days": None}, headers=headers)
    assert cleared.status_code == 200 and cleared.json()["retention_days"] is None
    events = db.scalars(select(AuditEvent).where(AuditEvent.action == "console:agency:retention_days")).all()
    assert [e.data["after"] for e in events] == [365, 180, None]


def test_many_cases_are_erased_a_chunk_per_transaction_each_with_its_audit(
    db: Session, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.map.seeding import Seed, insert_cases
    from wenzheng.citizens import retention

    monkeypatch.setattr(retention, "CHUNK", 2)
    old = [Seed(state="closed", lat=30.1, lon=102.9, age_hours=24 * 400) for _ in range(5)]
    ended = insert_cases(tenant.account, [*old, Seed(state="closed", lat=30.1, lon=102.9, age_hours=24 * 10)])

    done = apply_retention(wz_db.session_factory())

    assert done[tenant.agency.id].cases == 5
    events = db.scalars(select(AuditEvent).where(AuditEvent.action == "system:retention:erase")).all()
    assert [e.data["cases"] for e in events] == [2, 2, 1]
    db.expire_all()
    erased = {c.id: c.personal_data_erased_at is not None for c in db.scalars(select(Case))}
    assert erased == {**{case_id: True for case_id in ended[:5]}, ended[5]: False}  # the recent one waits
    assert db.get_one(Message, ended[5]).latitude == 30.1 and db.get_one(Message, ended[0]).latitude is None


def test_the_contact_fields_of_each_channel_leave_the_payload() -> None:
    from wenzheng.citizens.retention import _without_personal_fields

    wechat = {"FromUserName": "o_abc", "Location_X": "30.1", "Label": "芦山县某路12号", "MsgType": "location"}
    sms = {"From": "+8613800138000", "To": "10659020", "Body": "救命，回电 13900001111", "MessageId": "g-1"}
    mail = {"from": "zhang.san@example.com", "subject": "求助", "attachments": []}
    open311 = {"email": "a@example.com", "first_name": "三", "phone": "13800138000", "service_code": "001"}
    assert _without_personal_fields(wechat) == {"MsgType": "location"}
    assert _without_personal_fields(sms) == {"Body": "救命，回电 [电话已删除]", "MessageId": "g-1"}
    assert _without_personal_fields(mail) == {"subject": "求助", "attachments": []}
    assert _without_personal_fields(open311) == {"service_code": "001"}


def test_an_admin_erases_a_citizens_personal_data_at_their_request(
    client: TestClient, db: Session, tenant: Tenant
) -> None:
    from wenzheng.citizens.models import Citizen
    from wenzheng.citizens.retention import do_erase_citizen
    from wenzheng.errors import Forbidden
    from wenzheng.followers.models import Follower
    from wenzheng.staff.auth import actor_for_user

    written = _write(client, db, tenant, "form-retention-000009", "13800138009", photo=True)
    case = _case_of(db, written.id)
    sha256 = db.scalars(select(Attachment.sha256).where(Attachment.message_id == written.id)).one()
    _follows_by_sms(db, tenant, written.citizen_id, "+8613800138009")
    citizen = db.get_one(Citizen, written.citizen_id)
    with pytest.raises(Forbidden):
        do_erase_citizen(db, actor_for_user(db, tenant.operator), citizen, reason="本人来电")
    with pytest.raises(InvalidInput):
        do_erase_citizen(db, actor_for_user(db, tenant.admin), citizen, reason=" ")

    csrf = login(client, tenant.admin.username)
    page = client.get(f"/console/citizens/{citizen.id}")
    assert 'id="erase"' in page.text
    done = client.post(
        f"/console/citizens/{citizen.id}/erase",
        data={"csrf_token": csrf, "reason": "本人 12 月 8 日来电申请删除"},
        follow_redirects=True,
    )

    assert "已删除此群众的个人信息" in done.text
    db.expire_all()
    message = db.get_one(Message, written.id)
    assert "139 0000 1111" not in message.text and message.latitude is None and "ip" not in message.payload
    assert not db.scalars(select(Attachment).where(Attachment.message_id == written.id)).all()
    assert not get_store().exists(sha256)
    assert not db.scalars(select(CitizenHandle).where(CitizenHandle.citizen_id == citizen.id)).all()
    follower = db.scalars(select(Follower).where(Follower.citizen_id == citizen.id)).one()
    assert (follower.state, follower.handle) == ("unfollowed", f"erased-{follower.id}")
    case = db.get_one(Case, case.id)
    assert case.state not in ("closed",) and case.personal_data_erased_at is None and "1111" not in case.summary
    audit = db.scalars(select(AuditEvent).where(AuditEvent.action == "console:citizen:erase")).one()
    assert audit.data["reason"] == "本人 12 月 8 日来电申请删除" and audit.data["followers"] == 1

    login(client, tenant.operator.username)
    assert 'id="erase"' not in client.get(f"/console/citizens/{citizen.id}").text
