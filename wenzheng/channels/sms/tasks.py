"""Jobs of the SMS channel."""

from __future__ import annotations

from sqlalchemy.orm import Session

from wenzheng.channels.sms.gateway import SmsNotConfigured, send_sms
from wenzheng.jobs.models import Job
from wenzheng.jobs.registry import task
from wenzheng.messages.models import Message


@task("sms.send")
def send(session: Session, job: Job) -> None:
    """Hand a queued SMS to the gateway. Gateway trouble raises, so the job retries with backoff."""
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
        return
    message.channel_message_id, message.status = gateway_id, "sent"
