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
from wenzheng.messages.models import Message

logger = logging.getLogger("wenzheng.channels.email")

ACKNOWLEDGE_TASK = "email.send_acknowledgement"
REPLY_TASK = "email.send_reply"


def queue_reply(session: Session, message: Message, text: str) -> Job:
    """Answer a citizen's mail by a job that commits with the caller's change (the console's reply).
    What the job would refuse is refused here, at once: InvalidInput for a message that is not a
    citizen's mail or an empty or overlong text."""
    outbound.reply_address(message)
    payload = {"message_id": message.id, "text": outbound.check_reply_text(text)}
    return queue.enqueue(session, REPLY_TASK, payload, agency_id=message.agency_id)


@task(ACKNOWLEDGE_TASK)
def send_acknowledgement(session: Session, job: Job) -> None:
    """Mail the acknowledgement of a new citizen mail (payload {"message_id"})."""
    outbound.send_acknowledgement(session, int(job.payload["message_id"]))


@task(REPLY_TASK)
def send_reply(session: Session, job: Job) -> None:
    """Mail staff's answer to a citizen's mail (payload {"message_id", "text"})."""
    message = session.get(Message, int(job.payload["message_id"]))
    if message is None:
        return
    account = session.get_one(Account, message.account_id)
    try:
        outbound.send_reply(session, account, message, str(job.payload["text"]))
    except outbound.MailRejected:
        return  # the failed send is recorded; retrying cannot help
    except InvalidInput as error:
        logger.warning("reply to message %s not sent: %s", message.id, error.message)
