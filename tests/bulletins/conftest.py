"""Fixtures for bulletins: the fake WeChat API, the SMS gateway and a recording SMTP relay, all on 127.0.0.1."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from tests.email.conftest import _environment
from tests.email.servers import Sink, start_sink
from tests.factories import SYSTEM, Tenant, create_tenant, create_user
from tests.sms.conftest import Gateway, _gateway_server, gateway  # noqa: F401 - fixtures used by these tests
from tests.wechat.conftest import fake_wechat_server, wechat  # noqa: F401 - fixtures used by these tests
from tests.wechat.fake_api import FakeWeChat
from tests.wechat.helpers import bind_wechat
from wenzheng.audit.actions import record_audit
from wenzheng.bulletins.actions import Draft
from wenzheng.channels.models import EmailBinding, SmsBinding
from wenzheng.citizens.models import Citizen, CitizenHandle
from wenzheng.db import utcnow
from wenzheng.followers.models import Follower
from wenzheng.staff.models import User
from wenzheng.staff.roles import Role

_handles = itertools.count(1)
SMS_NUMBER = "1065902013"
MAIL_ADDRESS = "yaan@mail.yaan.example.cn"


@pytest.fixture
def mail_sink(tmp_path: Path) -> Iterator[Sink]:
    sink, controller = start_sink()
    with _environment({"WENZHENG_SMTP_HOST": "127.0.0.1", "WENZHENG_SMTP_PORT": str(sink.port)}):
        yield sink
    controller.stop()


@pytest.fixture
def tenant(db: Session, wechat: FakeWeChat) -> Tenant:  # noqa: F811 - the fake WeChat fixture
    """An agency whose account is on WeChat (service account), SMS and e-mail."""
    tenant = create_tenant(db, "bul")
    bind_wechat(db, tenant.account)
    db.add(SmsBinding(agency_id=tenant.agency.id, account_id=tenant.account.id, number=SMS_NUMBER))
    db.add(EmailBinding(agency_id=tenant.agency.id, account_id=tenant.account.id, address=MAIL_ADDRESS))
    record_audit(db, SYSTEM, "test:bindings", agency_id=tenant.agency.id, subject_type="account", subject_id=1)
    db.commit()
    return tenant


@pytest.fixture
def supervisor(db: Session, tenant: Tenant) -> User:
    return create_user(db, tenant.agency, Role.SUPERVISOR, username="bul-supervisor")


def add_followers(
    db: Session,
    tenant: Tenant,
    channel: str,
    count: int,
    *,
    tags: Sequence[str] = (),
    region: str | None = None,
    phone: bool = False,
) -> list[Follower]:
    """``count`` followers on ``channel``, each its own citizen (with a phone number too when ``phone``)."""
    followers = []
    for _ in range(count):
        n = next(_handles)
        handle = {
            "wechat": f"oOPENID{n:06d}",
            "sms": f"1390000{n:04d}",
            "email": f"citizen{n}@example.cn",
        }.get(channel, f"h{n}")
        citizen = Citizen(agency_id=tenant.agency.id)
        db.add(citizen)
        db.flush()
        db.add(
            CitizenHandle(
                agency_id=tenant.agency.id, citizen_id=citizen.id, channel=_handle_kind(channel), handle=handle
            )
        )
        if phone:
            db.add(
                CitizenHandle(
                    agency_id=tenant.agency.id, citizen_id=citizen.id, channel="phone", handle=f"1380000{n:04d}"
                )
            )
        follower = Follower(
            agency_id=tenant.agency.id,
            account_id=tenant.account.id,
            citizen_id=citizen.id,
            channel=channel,
            handle=handle,
            tags=list(tags),
            region_code=region,
        )
        db.add(follower)
        followers.append(follower)
    db.commit()
    return followers


def _handle_kind(channel: str) -> str:
    return {"sms": "phone"}.get(channel, channel)


def red_alert() -> Draft:
    """A red rainstorm alert for 芦山县, valid for six hours from now: what the alert tests send."""
    return Draft(
        kind="alert",
        title="暴雨红色预警",
        body="芦山县未来3小时降雨量将达100毫米以上。",
        alert={
            "cap_event": "暴雨",
            "cap_category": "Met",
            "cap_urgency": "Immediate",
            "cap_certainty": "Likely",
            "cap_response_type": "Evacuate",
            "warning_colour": "red",
            "area_desc": "芦山县",
            "area_codes": "511826",
            "expires_at": (utcnow() + dt.timedelta(hours=6)).isoformat(timespec="seconds"),
        },
    )
