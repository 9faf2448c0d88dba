"""WeChat's word on a bulletin's mass sends, and what happens when WeChat refuses one.

WeChat takes a mass send at once and judges it later: its MASSSENDJOBFINISH event (or, when that never came, the
answer to ``/message/mass/get``) may say ``send fail`` or ``err(10001)`` — the text was read as advertising, politics,
fraud… — and then none of the followers the send was for got it on WeChat, although each of their deliveries was
recorded as sent when WeChat took the job. Those deliveries are opened again and go to the followers' other
channels (SMS, e-mail), as they do when the account's mass sends are spent; a follower with no other channel is
recorded as failed with WeChat's verdict. The bulletin page says what WeChat refused and why.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from wenzheng.audit.actions import record_audit
from wenzheng.bulletins.models import (
    Bulletin,
    BulletinDelivery,
    BulletinFanout,
    BulletinState,
    BulletinWeChatReport,
    DeliveryState,
)
from wenzheng.bulletins.senders import WeChatMode
from wenzheng.channels.wechat.models import note_mass_outcome
from wenzheng.db import rowcount, utcnow
from wenzheng.jobs import queue
from wenzheng.staff.actor import Actor

WECHAT_REPORTS = Actor.system("wechat-reports")
REFUSED = "wechat_refused"  # the reason's code on each delivery WeChat refused


# WeChat's verdicts (protocols.md 1.9.3): what each says about the text, as an i18n key "wechat_verdict.<word>".
_VERDICTS = {
    "send fail": "send_fail",
    "err(10001)": "advertising",
    "err(20001)": "politics",
    "err(20002)": "pornography",
    "err(20004)": "social",
    "err(20006)": "illegal",
    "err(20008)": "fraud",
    "err(20013)": "copyright",
    "err(21000)": "other",
    "err(22000)": "promotion",
}


def verdict_key(status: str) -> str:
    """The i18n key of what a refusal's status means; ``err(3000x)`` come from the originality check."""
    if status in _VERDICTS:
        return f"wechat_verdict.{_VERDICTS[status]}"
    return "wechat_verdict.originality" if status.startswith("err(3000") else "wechat_verdict.unknown"


def is_refusal(status: str | None) -> bool:
    """Whether a mass send's status says none of it went out: ``send fail`` or a verdict ``err(N)``."""
    return bool(status) and (status == "send fail" or str(status).startswith("err("))


def record_wechat_report(
    session: Session, account_id: int, msg_id: str, status: str, counts: Mapping[str, int | None] | None
) -> BulletinWeChatReport | None:
    """WeChat's outcome for one of a bulletin's mass sends, where ``msg_id`` is one (None otherwise).

    ``counts`` (TotalCount, FilterCount, SentCount, ErrorCount) are None for an answer of ``/message/mass/get``,
    which gives the state and no numbers. A refusal sends the followers it was for by their other channels (once:
    a repeated report finds nothing left to reopen).
    """
    report = session.scalars(
        select(BulletinWeChatReport).where(
            BulletinWeChatReport.account_id == account_id, BulletinWeChatReport.msg_id == msg_id
        )
    ).first()
    if report is None:
        return None
    note_mass_outcome(report, status, counts)
    if is_refusal(report.status):
        reach_otherwise(session, report)
    return report


def reach_otherwise(session: Session, report: BulletinWeChatReport) -> int:
    """Reopen the deliveries a refused mass send carried, for the followers' other channels; how many.

    The bulletin's WeChat followers not yet sent to go the same way (WeChat would judge the same text the same),
    and a sent bulletin is sending again until they are done. A cancelled bulletin's are only marked failed.
    """
    bulletin = session.get_one(Bulletin, report.bulletin_id)
    reason = f"{REFUSED}: WeChat refused the mass send ({report.status})"[:200]
    carried = (
        update(BulletinDelivery)
        .where(
            BulletinDelivery.bulletin_id == bulletin.id,
            BulletinDelivery.via == "wechat_mass",
            BulletinDelivery.provider_ref == report.msg_id,
            BulletinDelivery.state == DeliveryState.SENT,
        )
        .execution_options(synchronize_session=False)
    )
    cancelled = bulletin.state == BulletinState.CANCELLED
    if cancelled:
        reopened = rowcount(session.execute(carried.values(state=DeliveryState.FAILED, reason=reason)))
    else:
        reopened = rowcount(
            session.execute(
                carried.values(state=DeliveryState.RETRY, reason=reason, next_attempt_at=utcnow(), sent_at=None)
            )
        )
    if not reopened:
        return 0
    record_audit(
        session,
        WECHAT_REPORTS,
        "system:bulletin:wechat_refused",
        agency_id=bulletin.agency_id,
        subject_type="bulletin",
        subject_id=bulletin.id,
        data={
            "msg_id": report.msg_id,
            "status": report.status,
            "deliveries": reopened,
            "other_channels": not cancelled,
        },
    )
    if cancelled:
        return reopened
    session.get_one(BulletinFanout, bulletin.id).wechat_mode = WeChatMode.FALLBACK
    if bulletin.state == BulletinState.SENT:
        bulletin.state, bulletin.finished_at = BulletinState.SENDING, None
    queue.enqueue(session, "bulletins.retry", {"bulletin_id": bulletin.id}, agency_id=bulletin.agency_id)
    return reopened
