"""What citizens sent, for staff: an account's inbox, one message with its conversation, one citizen with
everything they sent on any channel. Contact data is masked for viewers; every unmasked view is audited."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from sqlalchemy.orm import Session
from starlette.responses import FileResponse, Response

from wenzheng.accounts.access import access_account_by_id
from wenzheng.accounts.models import Account
from wenzheng.agencies.models import Agency
from wenzheng.attachments.store import get_store
from wenzheng.audit.actions import record_audit
from wenzheng.citizens.privacy import audit_personal_view, shown_handle
from wenzheng.citizens.retention import do_erase_citizen
from wenzheng.errors import InvalidInput, WenzhengError
from wenzheng.messages import delivery
from wenzheng.messages.access import (
    access_attachment_by_id,
    access_citizen_by_id,
    access_message_by_id,
    assessment_of,
    attachments_of,
    conversation,
    handles_by_citizen,
    handles_of,
    inbound_counts_by_channel,
    inbound_of_account,
    messages_of_citizen,
)
from wenzheng.messages.actions import do_reply, reply_channels
from wenzheng.messages.models import Message
from wenzheng.staff.actor import Actor
from wenzheng.staff.roles import Role
from wenzheng.web.console import see_other
from wenzheng.web.deps import current_actor, get_db
from wenzheng.web.templating import render

router = APIRouter(prefix="/console")


def _senders(db: Session, actor: Actor, agency_id: int, citizen_ids: set[int]) -> dict[int, str]:
    handles = handles_by_citizen(db, agency_id, citizen_ids)
    return {
        citizen_id: " · ".join(
            shown_handle(actor, agency_id, h.channel, h.handle) for h in found if h.channel not in ("link", "web")
        )
        or "—"
        for citizen_id, found in handles.items()
    }


@router.get("/accounts/{account_id}/messages")
def inbox_page(
    request: Request,
    account_id: int,
    channel: str = "",
    q: str = "",
    flagged: bool = False,
    actor: Actor = Depends(current_actor),
    db: Session = Depends(get_db),
) -> Response:
    account = access_account_by_id(db, actor, account_id)
    rows = inbound_of_account(db, account.id, account.agency_id, channel=channel, query=q[:100], flagged=flagged)
    citizen_ids = {m.citizen_id for m, _assessment in rows if m.citizen_id}
    senders = _senders(db, actor, account.agency_id, citizen_ids)
    audit_personal_view(db, actor, account.agency_id, what="inbox", citizen_ids=citizen_ids)
    db.commit()
    context = {
        "account": account,
        "agency": db.get(Agency, account.agency_id),
        "rows": rows,
        "senders": senders,
        "counts": inbound_counts_by_channel(db, account.id, account.agency_id),
        "channel": channel,
        "q": q,
        "flagged": flagged,
    }
    return render(request, "console/inbox.html", context)


@router.get("/messages/{message_id}")
def message_page(
    request: Request, message_id: int, actor: Actor = Depends(current_actor), db: Session = Depends(get_db)
) -> Response:
    return _render_message(request, actor, db, message_id)


def _render_message(
    request: Request,
    actor: Actor,
    db: Session,
    message_id: int,
    *,
    refused: WenzhengError | None = None,
    draft: str = "",
) -> Response:
    message = access_message_by_id(db, actor, message_id)
    thread = conversation(db, message)
    senders = _senders(db, actor, message.agency_id, {m.citizen_id for m in thread if m.citizen_id})
    audit_personal_view(db, actor, message.agency_id, what="message", citizen_ids=[message.citizen_id])
    db.commit()
    return render(
        request,
        "console/message.html",
        {
            "message": message,
            "assessment": assessment_of(db, message),
            "reply_channels": reply_channels(db, message),
            "can_reply": actor.role_in(message.agency_id) in (Role.OPERATOR, Role.SUPERVISOR, Role.ADMIN),
            "refused": refused,
            "draft": draft,
            "thread": thread,
            "delivery_states": delivery.STATES,
            "delivery_reasons": _delivery_reasons(thread),
            "attachments": attachments_of(db, thread),
            "senders": senders,
            "account": db.get(Account, message.account_id),
            "agency": db.get(Agency, message.agency_id),
        },
    )


# Why an answer failed, in words, by its error code (the code itself is shown beside them).
_REASONS = {
    delivery.GAVE_UP: "delivery.why_gave_up",
    "wechat_outside_window": "delivery.why_outside_window",
    "wechat_reply_quota_exhausted": "delivery.why_quota",
    "sms_not_configured": "delivery.why_not_configured",
    "no_email_address": "delivery.why_not_configured",
}


def _delivery_reasons(thread: list[Message]) -> dict[int, str]:
    """The i18n key that explains each failed answer of the conversation, where one does."""
    reasons = {}
    for entry in thread:
        if entry.direction != "out" or entry.status != "failed":
            continue
        code = entry.error_code or ""
        if code in _REASONS:
            reasons[entry.id] = _REASONS[code]
        elif code.startswith("smtp_"):
            reasons[entry.id] = "delivery.why_smtp"
        elif entry.channel == "sms":
            reasons[entry.id] = "delivery.why_sms_receipt"  # a gateway's own code, from its receipt
    return reasons


@router.post("/messages/{message_id}/reply")
def reply_to_message(
    request: Request,
    message_id: int,
    text: str = Form(""),
    channel: str = Form(""),
    actor: Actor = Depends(current_actor),
    db: Session = Depends(get_db),
) -> Response:
    message = access_message_by_id(db, actor, message_id, minimum=Role.OPERATOR)
    try:
        do_reply(db, actor, message, text=text, channel=channel or message.channel)
    except WenzhengError as refused:
        if refused.status >= 500 or isinstance(refused, InvalidInput):
            raise
        # The channel explained why it cannot deliver: show it, with the fallbacks, and keep what was typed.
        return _render_message(request, actor, db, message_id, refused=refused, draft=text)
    return see_other(f"/console/messages/{message.id}", notice="replied")


@router.get("/citizens/{citizen_id}")
def citizen_page(
    request: Request, citizen_id: int, actor: Actor = Depends(current_actor), db: Session = Depends(get_db)
) -> Response:
    citizen = access_citizen_by_id(db, actor, citizen_id)
    handles = [
        (h.channel, shown_handle(actor, citizen.agency_id, h.channel, h.handle))
        for h in handles_of(db, citizen)
        if h.channel not in ("link", "web")
    ]
    audit_personal_view(db, actor, citizen.agency_id, what="citizen", citizen_ids=[citizen.id])
    db.commit()
    return render(
        request,
        "console/citizen.html",
        {
            "citizen": citizen,
            "handles": handles,
            "messages": messages_of_citizen(db, citizen),
            "agency": db.get(Agency, citizen.agency_id),
            "may_erase": (actor.role_in(citizen.agency_id) or Role.VIEWER).at_least(Role.ADMIN),
        },
    )


@router.post("/citizens/{citizen_id}/erase")
def erase_citizen(
    citizen_id: int,
    reason: str = Form(""),
    actor: Actor = Depends(current_actor),
    db: Session = Depends(get_db),
) -> Response:
    """An admin erases a citizen's personal data at their request (citizens.retention.do_erase_citizen)."""
    citizen = access_citizen_by_id(db, actor, citizen_id)
    do_erase_citizen(db, actor, citizen, reason=reason)
    return see_other(f"/console/citizens/{citizen_id}", notice="citizen_erased")


@router.get("/attachments/{attachment_id}")
def attachment_file(
    attachment_id: int, actor: Actor = Depends(current_actor), db: Session = Depends(get_db)
) -> Response:
    attachment = access_attachment_by_id(db, actor, attachment_id)
    path = get_store().path(attachment.sha256 or "")
    record_audit(
        db,
        actor,
        "console:attachment:view",
        agency_id=attachment.agency_id,
        subject_type="attachment",
        subject_id=attachment.id,
    )
    db.commit()
    headers = {"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"}
    return FileResponse(path, media_type=attachment.content_type or "application/octet-stream", headers=headers)
