"""Giving an account its address: admins only, checked, audited; and the `wenzheng smtpd` command."""

from __future__ import annotations

import socket

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tests.factories import SYSTEM, create_tenant
from wenzheng.audit.models import AuditEvent
from wenzheng.channels.email.actions import do_set_email_address
from wenzheng.channels.models import EmailBinding
from wenzheng.cli import app
from wenzheng.errors import Conflict, Forbidden, InvalidInput
from wenzheng.staff.actor import Actor
from wenzheng.staff.roles import Role


def _actor(user_id: int, agency_id: int, role: Role) -> Actor:
    return Actor(user_id=user_id, username="someone", roles={agency_id: role})


def test_an_admin_sets_changes_and_removes_the_address(tx_db: Session) -> None:
    tenant = create_tenant(tx_db, "a")
    admin = _actor(tenant.admin.id, tenant.agency.id, Role.ADMIN)
    do_set_email_address(tx_db, admin, tenant.account, "  Help@Yaan.Example.CN ")
    do_set_email_address(tx_db, admin, tenant.account, "xinfang@yaan.example.cn")
    binding = tx_db.execute(select(EmailBinding)).scalar_one()
    assert (binding.address, binding.account_id) == ("xinfang@yaan.example.cn", tenant.account.id)
    do_set_email_address(tx_db, admin, tenant.account, "")
    assert tx_db.execute(select(EmailBinding)).scalar_one_or_none() is None
    events = tx_db.execute(select(AuditEvent).where(AuditEvent.action == "console:email:set_address")).scalars()
    assert [(e.data["old"], e.data["new"], e.actor_user_id) for e in events] == [
        (None, "help@yaan.example.cn", tenant.admin.id),
        ("help@yaan.example.cn", "xinfang@yaan.example.cn", tenant.admin.id),
        ("xinfang@yaan.example.cn", None, tenant.admin.id),
    ]


def test_only_admins_may_set_it(tx_db: Session) -> None:
    tenant = create_tenant(tx_db, "b")
    with pytest.raises(Forbidden):
        do_set_email_address(
            tx_db, _actor(tenant.operator.id, tenant.agency.id, Role.SUPERVISOR), tenant.account, "x@b.cn"
        )
    assert tx_db.execute(select(EmailBinding)).scalar_one_or_none() is None


@pytest.mark.parametrize("address", ["not-an-address", "a@b", "a b@c.cn", "a@-b.cn", f"{'a' * 250}@b.cn", "a@b.cn\x00"])
def test_malformed_addresses_are_refused(tx_db: Session, address: str) -> None:
    tenant = create_tenant(tx_db, "c")
    with pytest.raises(InvalidInput) as refused:
        do_set_email_address(tx_db, SYSTEM, tenant.account, address)
    assert refused.value.code == "invalid_email_address"


def test_an_address_belongs_to_one_account(tx_db: Session) -> None:
    first, second = create_tenant(tx_db, "d"), create_tenant(tx_db, "e")
    do_set_email_address(tx_db, SYSTEM, first.account, "help@d.example.cn")
    with pytest.raises(Conflict):
        do_set_email_address(tx_db, SYSTEM, second.account, "HELP@d.example.cn")


def test_smtpd_command_is_registered_and_a_busy_port_is_one_clear_line() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        result = CliRunner().invoke(app, ["smtpd", "--host", "127.0.0.1", "--port", str(busy.getsockname()[1])])
    assert result.exit_code == 2, result.output
    assert "cannot listen on 127.0.0.1" in result.output
