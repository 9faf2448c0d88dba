"""Writes on accounts: create, rename (kept in the name history) and verify (platform admins only)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from wenzheng.accounts.models import Account, AccountNameChange
from wenzheng.agencies.models import Agency
from wenzheng.audit.actions import record_audit
from wenzheng.db import utcnow
from wenzheng.errors import Conflict, InvalidInput
from wenzheng.staff.actor import Actor
from wenzheng.staff.roles import Role
from wenzheng.validation import clean_slug, clean_text


def do_create_account(
    session: Session, actor: Actor, agency: Agency, *, slug: str, name: str, description: str = ""
) -> Account:
    actor.require_role(agency.id, Role.ADMIN)
    slug = clean_slug(slug)
    if session.execute(select(Account.id).where(Account.slug == slug)).first():
        raise Conflict(f"The account address {slug!r} is taken; choose another.", code="slug_taken")
    account = Account(
        agency_id=agency.id,
        slug=slug,
        name=clean_text(name, field="name", max_length=100),
        description=clean_text(description, field="description", max_length=1000, required=False),
    )
    session.add(account)
    session.flush()
    record_audit(
        session,
        actor,
        "console:account:create",
        agency_id=agency.id,
        subject_type="account",
        subject_id=account.id,
        data={"slug": slug, "name": account.name},
    )
    session.commit()
    return account


def do_rename_account(session: Session, actor: Actor, account: Account, *, new_name: str) -> Account:
    """Rename an account; the old name stays visible in its history (renames happen in a crisis)."""
    actor.require_role(account.agency_id, Role.ADMIN)
    new_name = clean_text(new_name, field="name", max_length=100)
    if new_name == account.name:
        raise InvalidInput("The new name is the same as the current one.", code="name_unchanged")
    session.add(
        AccountNameChange(
            agency_id=account.agency_id,
            account_id=account.id,
            old_name=account.name,
            new_name=new_name,
            changed_by_id=actor.user_id,
        )
    )
    record_audit(
        session,
        actor,
        "console:account:rename",
        agency_id=account.agency_id,
        subject_type="account",
        subject_id=account.id,
        data={"old_name": account.name, "new_name": new_name},
    )
    account.name = new_name
    session.commit()
    return account


def do_update_account_description(session: Session, actor: Actor, account: Account, *, description: str) -> Account:
    actor.require_role(account.agency_id, Role.ADMIN)
    description = clean_text(description, field="description", max_length=1000, required=False)
    record_audit(
        session,
        actor,
        "console:account:update",
        agency_id=account.agency_id,
        subject_type="account",
        subject_id=account.id,
        data={"description": [account.description, description]},
    )
    account.description = description
    session.commit()
    return account


def do_set_account_verified(session: Session, actor: Actor, account: Account, *, verified: bool) -> Account:
    """认证: only a platform admin may mark an account as the agency's genuine voice."""
    actor.require_platform_admin()
    account.verified = verified
    account.verified_at = utcnow() if verified else None
    account.verified_by_id = actor.user_id if verified else None
    record_audit(
        session,
        actor,
        "console:account:verify" if verified else "console:account:unverify",
        agency_id=account.agency_id,
        subject_type="account",
        subject_id=account.id,
    )
    session.commit()
    return account
