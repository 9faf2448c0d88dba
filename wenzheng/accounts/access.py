"""The one way to reach accounts: scoped by the actor's memberships."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from wenzheng.accounts.models import Account, AccountNameChange
from wenzheng.errors import NotFound
from wenzheng.staff.actor import Actor
from wenzheng.staff.roles import Role


def access_account_by_id(session: Session, actor: Actor, account_id: int, *, minimum: Role = Role.VIEWER) -> Account:
    account = session.get(Account, account_id)
    if account is None or not actor.can_see(account.agency_id):
        raise NotFound("No such account.")
    actor.require_role(account.agency_id, minimum)
    return account


def accounts_of(session: Session, actor: Actor, agency_id: int) -> list[Account]:
    actor.require_role(agency_id, Role.VIEWER)
    return list(session.execute(select(Account).where(Account.agency_id == agency_id).order_by(Account.name)).scalars())


def name_history(session: Session, account: Account) -> list[AccountNameChange]:
    """Renames of an account already reached through ``access_account_by_id``, newest first."""
    return list(
        session.execute(
            select(AccountNameChange)
            .where(AccountNameChange.agency_id == account.agency_id)
            .where(AccountNameChange.account_id == account.id)
            .order_by(AccountNameChange.changed_at.desc(), AccountNameChange.id.desc())
        ).scalars()
    )
