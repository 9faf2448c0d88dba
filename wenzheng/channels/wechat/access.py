"""Reaching WeChat bindings: by account slug for WeChat's own calls, through the actor for staff."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from wenzheng.accounts.models import Account
from wenzheng.channels.wechat.models import WeChatBinding
from wenzheng.errors import NotFound


def binding_for_callback(session: Session, slug: str) -> tuple[WeChatBinding, Account]:
    """The binding WeChat is calling: the slug in our URL is all it can name, and it proves itself by signature."""
    row = session.execute(
        select(WeChatBinding, Account).join(Account, Account.id == WeChatBinding.account_id).where(Account.slug == slug)
    ).one_or_none()
    if row is None:
        raise NotFound(
            f"No account {slug!r} is connected to WeChat here. Check the server URL.", code="unknown_account"
        )
    return row[0], row[1]


def binding_of_account(session: Session, account: Account) -> WeChatBinding | None:
    """The binding of an account already reached through ``access_account_by_id``."""
    return session.execute(
        select(WeChatBinding)
        .where(WeChatBinding.agency_id == account.agency_id)
        .where(WeChatBinding.account_id == account.id)
    ).scalar_one_or_none()
