"""Jobs that send mail, so that no SMTP conversation (ours or the citizen's server's) waits on another.

A temporary failure (MailUnavailable) is raised: the job's transaction rolls back and the queue retries
with backoff. A refusal is recorded as a failed outbound message and the job ends.
"""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from wenzheng.accounts.models import Account
from wenzheng.channels.email import outbound
from wenzheng.errors import InvalidInput
from wenzheng.jobs import queue  # the module: the queue imports this one while it loads
from wenzheng.jobs.models import Job
from wenzheng.jobs.registry import task
from wenzheng.messages import delivery
from wenzheng.messages.models import Message

logger = logging.getLogger("wenzheng.channels.email")

ACKNOWLEDGE_TASK = "email.send_acknowledgement"
REPLY_TASK = "email.send_reply"


def queue_reply(session: Session, message: Message, text: str, *, purpose: str = delivery.ANSWER) -> Job:
    """Answer a citizen's mail by a job that commits with the caller's change (the console's reply).
    What the job would refuse is refused here, at once: InvalidInput for a message that is not a
    citizen's mail or an empty or overlong text."""
    outbound.reply_address(message)
    payload = {"message_id": message.id, "text": outbound.check_reply_text(text), "purpose": purpose}
    return queue.enqueue(session, REPLY_TASK, payload, agency_id=message.agency_id)


@task(ACKNOWLEDGE_TASK)
def send_acknowledgement(session: Session, job: Job) -> None:
    """Mail the acknowledgement of a new citizen mail (payload {"message_id"})."""
    outbound.send_acknowledgement(session, int(job.payload["message_id"]))


def _record_given_up_reply(session: Session, job: Job) -> None:
    """The relay failed every try: the reply goes into the conversation as failed (``delivery_gave_up``)."""
    message = session.get(Message, int(job.payload["message_id"]))
    if message is not None:
        purpose = str(job.payload.get("purpose", delivery.ANSWER))
        outbound.record_unsent_reply(session, message, str(job.payload["text"]), code=delivery.GAVE_UP, purpose=purpose)


@task(REPLY_TASK, on_dead=_record_given_up_reply)
def send_reply(session: Session, job: Job) -> None:
    """Mail staff's answer to a citizen's mail (payload {"message_id", "text", "purpose"}). A retried job that had
    given up sends a new mail; the failed one stays in the conversation as what happened."""
    message = session.get(Message, int(job.payload["message_id"]))
    if message is None:
        return
    account = session.get_one(Account, message.account_id)
    purpose = str(job.payload.get("purpose", delivery.ANSWER))
    try:
        sent = outbound.send_reply(session, account, message, str(job.payload["text"]), purpose=purpose)
    except outbound.MailRejected:
        return  # the failed send is recorded; retrying cannot help
    except InvalidInput as error:
        logger.warning("reply to message %s not sent: %s", message.id, error.message)
        outbound.record_unsent_reply(session, message, str(job.payload["text"]), code=error.code, purpose=purpose)
        return
    delivery.note_delivered(session, sent)
