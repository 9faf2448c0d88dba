"""Reaching e-mail bindings: by the address a mail was sent to, and by account."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from wenzheng.accounts.models import Account
from wenzheng.channels.models import EmailBinding


def normalize_address(address: str) -> str:
    """Addresses are kept and compared lower-cased and without angle brackets."""
    return address.strip().strip("<>").strip().lower()


def account_by_address(session: Session, address: str) -> Account | None:
    """The account whose bound address ``address`` is, or None: the SMTP listener's only way in."""
    return session.execute(
        select(Account)
        .join(EmailBinding, EmailBinding.account_id == Account.id)
        .where(EmailBinding.address == normalize_address(address))
    ).scalar_one_or_none()


def binding_of_account(session: Session, account: Account) -> EmailBinding | None:
    """The binding of an account already reached through an access helper."""
    return session.execute(
        select(EmailBinding)
        .where(EmailBinding.agency_id == account.agency_id)
        .where(EmailBinding.account_id == account.id)
    ).scalar_one_or_none()
