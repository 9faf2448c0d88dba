"""Changing WENZHENG_SECRET_KEY without losing what the old key sealed.

The secrets stored sealed (wenzheng.vault) are the WeChat AppSecrets and the deployment's Web Push key. While
the old key is listed in WENZHENG_PREVIOUS_SECRET_KEYS they still open; ``reseal_stored_secrets`` seals each with
the new key, so the old one can then be dropped from the settings. Links signed with the old key (unsubscribe,
follow confirmations) keep working only while it is listed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cryptography.fernet import InvalidToken
from sqlalchemy import select
from sqlalchemy.orm import Session

from wenzheng.audit.actions import record_audit
from wenzheng.bulletins.models import DeploymentKey
from wenzheng.channels.wechat.models import WeChatBinding
from wenzheng.staff.actor import Actor
from wenzheng.vault import reseal


@dataclass
class ResealReport:
    resealed: int = 0
    unreadable: list[str] = field(default_factory=list)  # what no key opens: entered again by hand


def reseal_stored_secrets(session: Session, actor: Actor) -> ResealReport:
    """Seal every stored secret with the current key; audited per agency for the bindings; not committed."""
    report = ResealReport()
    for binding in session.scalars(select(WeChatBinding).order_by(WeChatBinding.id)):
        what = f"WeChat AppSecret of account {binding.account_id}"
        if binding.app_secret_encrypted and _resealed(binding, "app_secret_encrypted", what, report):
            record_audit(
                session,
                actor,
                "cli:wechat_binding:reseal",
                agency_id=binding.agency_id,
                subject_type="account",
                subject_id=binding.account_id,
            )
    for key in session.scalars(select(DeploymentKey).order_by(DeploymentKey.name)):
        _resealed(key, "value_sealed", f"deployment key {key.name}", report)
    return report


def _resealed(row: object, attribute: str, what: str, report: ResealReport) -> bool:
    """Seal ``row.attribute`` with the current key and count it; an unreadable one is named in the report."""
    try:
        setattr(row, attribute, reseal(getattr(row, attribute)))
    except InvalidToken:
        report.unreadable.append(what)
        return False
    report.resealed += 1
    return True
