"""Jobs of the SMS channel."""

from __future__ import annotations

from sqlalchemy.orm import Session

from wenzheng.channels.sms.gateway import SmsNotConfigured, send_sms
from wenzheng.jobs.models import Job
from wenzheng.jobs.registry import task
from wenzheng.messages import delivery
from wenzheng.messages.models import Message


def _give_up(session: Session, job: Job) -> None:
    delivery.give_up(session, int(job.payload["message_id"]))


def _try_again(session: Session, job: Job) -> None:
    delivery.try_again(session, int(job.payload["message_id"]))


@task("sms.send", on_dead=_give_up, on_retry=_try_again)
def send(session: Session, job: Job) -> None:
    """Hand a queued SMS to the gateway. Gateway trouble raises, so the job retries with backoff; when it has
    failed for the last time the SMS is marked failed (``delivery_gave_up``) and an answer's case reopened."""
    message = session.get(Message, job.payload["message_id"])
    if message is None or message.status != "queued":
        return  # already sent by an earlier attempt, or removed
    try:
        gateway_id = send_sms(
            to=message.payload["to"], sender=message.payload["from"], text=message.text, client_ref=str(message.id)
        )
    except SmsNotConfigured as exc:
        # Retrying cannot help until someone configures a gateway: say so on the message instead.
        message.status, message.error_code = "failed", exc.code
        delivery.note_undelivered(session, message)
        return
    message.channel_message_id, message.status = gateway_id, "sent"
    delivery.note_delivered(session, message)
