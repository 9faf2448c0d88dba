"""Jobs that call WeChat: fetching what citizens sent, sending queued replies, submitting mass sends.

Each runs inside its job's transaction. A refusal that retrying cannot change (an expired media id,
no quota left) is recorded and the job ends; a busy or unreachable WeChat raises, and the queue
retries with backoff. All are safe to run twice: a stored attachment is not fetched again, a reply
is sent only while it is still queued, and a mass send is resubmitted with the same clientmsgid,
which WeChat de-duplicates.
"""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from wenzheng.accounts.models import Account
from wenzheng.attachments.store import get_store
from wenzheng.channels.wechat import outbound  # a module, not its names: outbound imports the queue, which imports us
from wenzheng.channels.wechat.errors import WeChatApiError, is_retryable
from wenzheng.channels.wechat.models import MassSend
from wenzheng.db import utcnow
from wenzheng.errors import PayloadTooLarge
from wenzheng.jobs.models import Job
from wenzheng.jobs.registry import task
from wenzheng.messages import delivery
from wenzheng.messages.models import Attachment, Message

logger = logging.getLogger("wenzheng.channels.wechat")


class AttachmentState:
    PENDING = "pending"
    STORED = "stored"
    FAILED = "failed"


@task("wechat.fetch_media")
def fetch_media(session: Session, job: Job) -> None:
    """Download an attachment's media id (payload {"attachment_id"}) into the attachment store."""
    attachment = session.get(Attachment, int(job.payload["attachment_id"]))
    if attachment is None or attachment.state != AttachmentState.PENDING:
        return  # deleted meanwhile, or already fetched (a retried or doubled job)
    message = session.get_one(Message, attachment.message_id)
    account = session.get_one(Account, message.account_id)
    try:
        download = outbound.download_media(session, account, attachment.channel_media_id)
        sha256, size = get_store().put(download.content)
    except (WeChatApiError, PayloadTooLarge) as error:
        if is_retryable(error):
            raise
        _mark_failed(attachment, f"{error.code}: {error.message}")
        return
    attachment.sha256 = sha256
    attachment.size = size
    attachment.content_type = download.content_type[:100]
    attachment.state = AttachmentState.STORED
    attachment.error = None
    attachment.stored_at = utcnow()


@task("wechat.mass_send")
def mass_send(session: Session, job: Job) -> None:
    """Submit a queued mass send (payload {"mass_send_id"}) to WeChat."""
    record = session.get(MassSend, int(job.payload["mass_send_id"]))
    if record is not None:
        outbound.submit_mass_send(session, record)


@task("wechat.check_mass_send")
def check_mass_send(session: Session, job: Job) -> None:
    """Ask WeChat how a mass send ended (payload {"account_id", "msg_id", "check"}) when it has not said."""
    account = session.get(Account, int(job.payload["account_id"]))
    if account is None:
        return
    try:
        outbound.check_mass_send(session, account, str(job.payload["msg_id"]), int(job.payload.get("check", 0)))
    except WeChatApiError as error:
        if is_retryable(error):
            raise
        # Refused for good (no such msg_id, the API not granted): the send stays "waiting for WeChat's report".
        logger.warning("mass send %s: WeChat will not say how it ended: %s", job.payload["msg_id"], error.message)


def _give_up_custom(session: Session, job: Job) -> None:
    delivery.give_up(session, int(job.payload["message_id"]))


def _retry_custom(session: Session, job: Job) -> None:
    delivery.try_again(session, int(job.payload["message_id"]))


@task("wechat.send_custom", on_dead=_give_up_custom, on_retry=_retry_custom)
def send_custom(session: Session, job: Job) -> None:
    """Send a customer-service message queued by ``queue_custom_message`` (payload {"message_id"})."""
    message = session.get(Message, int(job.payload["message_id"]))
    if message is not None:
        outbound.send_queued_custom_message(session, message)


def _mark_failed(attachment: Attachment, reason: str) -> None:
    logger.warning("attachment %s cannot be fetched: %s", attachment.id, reason)
    attachment.state = AttachmentState.FAILED
    attachment.error = reason[:500]
