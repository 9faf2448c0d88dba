"""Reaching auto-reply rules through the account they belong to."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from wenzheng.autoreplies.models import AutoReplyRule
from wenzheng.errors import NotFound
from wenzheng.staff.actor import Actor
from wenzheng.staff.roles import Role


def access_auto_reply_by_id(
    session: Session, actor: Actor, account_id: int, rule_id: int, *, minimum: Role = Role.ADMIN
) -> AutoReplyRule:
    rule = session.execute(
        select(AutoReplyRule).where(AutoReplyRule.account_id == account_id).where(AutoReplyRule.id == rule_id)
    ).scalar_one_or_none()
    if rule is None or not actor.can_see(rule.agency_id):
        raise NotFound("No such auto-reply on this account.")
    actor.require_role(rule.agency_id, minimum)
    return rule


def auto_replies_of(session: Session, account_id: int, agency_id: int) -> list[AutoReplyRule]:
    """All rules of an account already reached through ``access_account_by_id``, in answering order."""
    return list(
        session.execute(
            select(AutoReplyRule)
            .where(AutoReplyRule.agency_id == agency_id)
            .where(AutoReplyRule.account_id == account_id)
            .order_by(AutoReplyRule.priority, AutoReplyRule.id)
        ).scalars()
    )
