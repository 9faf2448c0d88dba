"""Giving an account its e-mail address (agency admins)."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from wenzheng.accounts.models import Account
from wenzheng.audit.actions import record_audit
from wenzheng.channels.email.bindings import binding_of_account, normalize_address
from wenzheng.channels.models import EmailBinding
from wenzheng.errors import Conflict, InvalidInput
from wenzheng.staff.actor import Actor
from wenzheng.staff.roles import Role

# A deliberately plain address: what a citizen can type and every mail server accepts.
ADDRESS_RE = re.compile(
    r"^[a-z0-9](?:[a-z0-9._+-]{0,62}[a-z0-9])?@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"
)
MAX_ADDRESS_LENGTH = 254


def do_set_email_address(session: Session, actor: Actor, account: Account, address: str) -> EmailBinding | None:
    """Bind ``address`` to the account (replacing its old one); an empty address removes the binding."""
    actor.require_role(account.agency_id, Role.ADMIN)
    binding = binding_of_account(session, account)
    cleaned = normalize_address(address)
    old = binding.address if binding is not None else None
    if not cleaned:
        if binding is not None:
            session.delete(binding)
        binding = None
    else:
        check_email_address(session, account, cleaned)
        if binding is None:
            binding = EmailBinding(agency_id=account.agency_id, account_id=account.id, address=cleaned)
            session.add(binding)
        binding.address = cleaned
    session.flush()
    record_audit(
        session,
        actor,
        "console:email:set_address",
        agency_id=account.agency_id,
        subject_type="account",
        subject_id=account.id,
        data={"old": old, "new": cleaned or None},
    )
    session.commit()
    return binding


def check_email_address(session: Session, account: Account, address: str) -> None:
    """A well-formed address that no other account uses."""
    if len(address) > MAX_ADDRESS_LENGTH or not ADDRESS_RE.match(address):
        raise InvalidInput(
            f"{address!r} is not an e-mail address we can receive at (for example: wenzheng@yaan.gov.cn).",
            code="invalid_email_address",
            details={"field": "address"},
        )
    owner = session.execute(select(EmailBinding.account_id).where(EmailBinding.address == address)).scalar()
    if owner is not None and owner != account.id:
        raise Conflict(f"{address} is already the address of another account.", code="email_address_taken")
