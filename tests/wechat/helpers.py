"""Arranging data for the outbound tests: a WeChat binding, citizens and what they sent."""

from __future__ import annotations

import datetime as dt
import itertools
import time
from collections.abc import Callable

from sqlalchemy.orm import Session

from tests.factories import SYSTEM
from wenzheng.accounts.models import Account
from wenzheng.audit.actions import record_audit
from wenzheng.channels.wechat.models import AccountType, WeChatBinding
from wenzheng.citizens.models import Citizen, CitizenHandle
from wenzheng.db import utcnow
from wenzheng.messages.models import Direction, Message
from wenzheng.vault import seal

APP_ID = "wx0123456789abcdef"
APP_SECRET = "0123456789abcdef0123456789abcdef"
_ids = itertools.count(1)


def bind_wechat(db: Session, account: Account, account_type: str = AccountType.SERVICE) -> WeChatBinding:
    binding = WeChatBinding(
        agency_id=account.agency_id,
        account_id=account.id,
        app_id=APP_ID,
        app_secret_encrypted=seal(APP_SECRET),
        token="tokentoken",
        account_type=account_type,
    )
    db.add(binding)
    db.flush()
    record_audit(
        db,
        SYSTEM,
        "test:wechat_binding:create",
        agency_id=account.agency_id,
        subject_type="account",
        subject_id=account.id,
    )
    db.commit()
    return binding


def set_account_type(db: Session, binding: WeChatBinding, account_type: str) -> None:
    binding.account_type = account_type
    record_audit(
        db,
        SYSTEM,
        "test:wechat_binding:update",
        agency_id=binding.agency_id,
        subject_type="account",
        subject_id=binding.account_id,
    )
    db.commit()


def citizen(db: Session, account: Account, openid: str) -> int:
    person = Citizen(agency_id=account.agency_id)
    db.add(person)
    db.flush()
    db.add(CitizenHandle(agency_id=account.agency_id, citizen_id=person.id, channel="wechat", handle=openid))
    db.commit()
    return person.id


def inbound(
    db: Session,
    account: Account,
    citizen_id: int,
    *,
    ago: dt.timedelta = dt.timedelta(0),
    kind: str = "text",
    event: str | None = None,
) -> Message:
    """A message (or event) the citizen sent ``ago``, as intake stores it."""
    message = Message(
        agency_id=account.agency_id,
        account_id=account.id,
        citizen_id=citizen_id,
        direction=Direction.INBOUND,
        channel="wechat",
        channel_message_id=f"in-{next(_ids)}",
        kind=kind,
        event=event,
        text="你好" if kind == "text" else "",
        received_at=utcnow() - ago,
    )
    db.add(message)
    db.commit()
    return message


def wait_until(condition: Callable[[], bool], *, timeout: float = 20, what: str = "the condition") -> None:
    """Poll ``condition`` until it holds; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)
