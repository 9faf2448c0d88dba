"""Every change writes an audit event in its own transaction; a change without one cannot commit."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.factories import SYSTEM, create_agency, create_tenant
from wenzheng.accounts.actions import do_rename_account
from wenzheng.agencies.models import Agency, Department
from wenzheng.audit.actions import UnauditedChange
from wenzheng.audit.models import AuditEvent
from wenzheng.errors import InvalidInput


def test_a_change_without_an_audit_event_cannot_commit(tx_db: Session) -> None:
    agency = create_agency(tx_db)
    tx_db.add(Department(agency_id=agency.id, name="sneaky"))
    with pytest.raises(UnauditedChange):
        tx_db.commit()
    tx_db.rollback()
    assert tx_db.execute(select(Department).where(Department.name == "sneaky")).first() is None


def test_an_edit_without_an_audit_event_cannot_commit(tx_db: Session) -> None:
    agency = create_agency(tx_db)
    agency.name = "改名但不留痕"
    with pytest.raises(UnauditedChange):
        tx_db.commit()
    tx_db.rollback()
    assert tx_db.get(Agency, agency.id).name != "改名但不留痕"  # type: ignore[union-attr]


def test_a_failed_action_leaves_neither_change_nor_audit(tx_db: Session) -> None:
    tenant = create_tenant(tx_db, "t")
    before = tx_db.execute(select(func.count()).select_from(AuditEvent)).scalar_one()
    with pytest.raises(InvalidInput):
        do_rename_account(tx_db, SYSTEM, tenant.account, new_name="   ")
    tx_db.rollback()
    assert tx_db.execute(select(func.count()).select_from(AuditEvent)).scalar_one() == before


def test_system_actions_say_who_ran_them(tx_db: Session) -> None:
    agency = create_agency(tx_db)
    event = tx_db.execute(
        select(AuditEvent).where(AuditEvent.subject_id == agency.id).where(AuditEvent.action == "console:agency:create")
    ).scalar_one()
    assert event.data["system"] == "tests"
