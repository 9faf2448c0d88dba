"""Reaching an account's SMS number."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from wenzheng.accounts.models import Account
from wenzheng.channels.models import SmsBinding


def sms_binding_of(session: Session, account: Account) -> SmsBinding | None:
    """The SMS number of an account already reached through ``access_account_by_id``."""
    return session.execute(
        select(SmsBinding).where(SmsBinding.agency_id == account.agency_id, SmsBinding.account_id == account.id)
    ).scalar_one_or_none()
