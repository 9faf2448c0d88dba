"""An account's channels and instant answers, configured by its agency's admins."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from wenzheng.accounts.access import access_account_by_id
from wenzheng.agencies.models import Agency
from wenzheng.autoreplies.access import access_auto_reply_by_id, auto_replies_of
from wenzheng.autoreplies.actions import do_create_auto_reply, do_delete_auto_reply
from wenzheng.channels.email.actions import do_set_email_address
from wenzheng.channels.email.bindings import binding_of_account as email_binding_of
from wenzheng.channels.sms.access import sms_binding_of
from wenzheng.channels.sms.actions import do_set_sms_number
from wenzheng.channels.wechat import crypto
from wenzheng.channels.wechat.access import binding_of_account
from wenzheng.channels.wechat.actions import do_connect_wechat
from wenzheng.config import get_settings
from wenzheng.staff.actor import Actor
from wenzheng.staff.roles import Role
from wenzheng.web.console import see_other
from wenzheng.web.deps import current_actor, get_db
from wenzheng.web.templating import render

router = APIRouter(prefix="/console/accounts/{account_id}")


@router.get("/channels")
def channels_page(
    request: Request, account_id: int, actor: Actor = Depends(current_actor), db: Session = Depends(get_db)
) -> Response:
    account = access_account_by_id(db, actor, account_id, minimum=Role.ADMIN)
    return render(
        request,
        "console/channels.html",
        {
            "account": account,
            "agency": db.get(Agency, account.agency_id),
            "binding": binding_of_account(db, account),
            "rules": auto_replies_of(db, account.id, account.agency_id),
            "server_url": f"{get_settings().base_url.rstrip('/')}/wechat/{account.slug}",
            "suggested_key": crypto.generate_aes_key(),
            "sms": sms_binding_of(db, account),
            "email": email_binding_of(db, account),
            "citizen_url": f"{get_settings().base_url.rstrip('/')}/c/{account.slug}",
            "sms_webhook": f"{get_settings().base_url.rstrip('/')}/sms/inbound",
        },
    )


@router.post("/channels/wechat")
def connect_wechat(
    account_id: int,
    app_id: str = Form(""),
    app_secret: str = Form(""),
    token: str = Form(""),
    aes_key: str = Form(""),
    encryption_mode: str = Form("safe"),
    account_type: str = Form("service"),
    original_id: str = Form(""),
    welcome_text: str = Form(""),
    actor: Actor = Depends(current_actor),
    db: Session = Depends(get_db),
) -> Response:
    account = access_account_by_id(db, actor, account_id, minimum=Role.ADMIN)
    do_connect_wechat(
        db,
        actor,
        account,
        app_id=app_id,
        app_secret=app_secret,
        token=token,
        aes_key=aes_key,
        encryption_mode=encryption_mode,
        account_type=account_type,
        original_id=original_id,
        welcome_text=welcome_text,
    )
    return see_other(f"/console/accounts/{account.id}/channels", notice="saved")


@router.post("/channels/sms")
def set_sms_number(
    account_id: int, number: str = Form(""), actor: Actor = Depends(current_actor), db: Session = Depends(get_db)
) -> Response:
    account = access_account_by_id(db, actor, account_id, minimum=Role.ADMIN)
    do_set_sms_number(db, actor, account, number=number)
    return see_other(f"/console/accounts/{account.id}/channels", notice="saved")


@router.post("/channels/email")
def set_email_address(
    account_id: int, address: str = Form(""), actor: Actor = Depends(current_actor), db: Session = Depends(get_db)
) -> Response:
    account = access_account_by_id(db, actor, account_id, minimum=Role.ADMIN)
    do_set_email_address(db, actor, account, address)
    return see_other(f"/console/accounts/{account.id}/channels", notice="saved")


@router.post("/auto-replies")
def create_auto_reply(
    account_id: int,
    match_type: str = Form("contains"),
    pattern: str = Form(""),
    reply_text: str = Form(""),
    priority: int = Form(100),
    actor: Actor = Depends(current_actor),
    db: Session = Depends(get_db),
) -> Response:
    account = access_account_by_id(db, actor, account_id, minimum=Role.ADMIN)
    do_create_auto_reply(
        db, actor, account, match_type=match_type, pattern=pattern, reply_text=reply_text, priority=priority
    )
    return see_other(f"/console/accounts/{account.id}/channels", notice="created")


@router.post("/auto-replies/{rule_id}/delete")
def delete_auto_reply(
    account_id: int, rule_id: int, actor: Actor = Depends(current_actor), db: Session = Depends(get_db)
) -> Response:
    rule = access_auto_reply_by_id(db, actor, account_id, rule_id)
    do_delete_auto_reply(db, actor, rule)
    return see_other(f"/console/accounts/{account_id}/channels", notice="removed")
