"""One account: its name history, renaming, and verification by a platform admin."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from wenzheng.accounts.access import access_account_by_id, name_history
from wenzheng.accounts.actions import do_rename_account, do_set_account_verified
from wenzheng.agencies.models import Agency
from wenzheng.staff.actor import Actor
from wenzheng.staff.roles import Role
from wenzheng.web.console import see_other
from wenzheng.web.deps import current_actor, get_db
from wenzheng.web.templating import render

router = APIRouter(prefix="/console/accounts")


@router.get("/{account_id}")
def account_page(
    request: Request, account_id: int, actor: Actor = Depends(current_actor), db: Session = Depends(get_db)
) -> Response:
    account = access_account_by_id(db, actor, account_id)
    return render(
        request,
        "console/account.html",
        {
            "account": account,
            "agency": db.get(Agency, account.agency_id),
            "history": name_history(db, account),
            "is_admin": actor.role_in(account.agency_id) is Role.ADMIN,
        },
    )


@router.post("/{account_id}/rename")
def rename_account(
    account_id: int,
    name: str = Form(""),
    actor: Actor = Depends(current_actor),
    db: Session = Depends(get_db),
) -> Response:
    account = access_account_by_id(db, actor, account_id, minimum=Role.ADMIN)
    do_rename_account(db, actor, account, new_name=name)
    return see_other(f"/console/accounts/{account.id}", notice="renamed")


@router.post("/{account_id}/verification")
def set_verification(
    account_id: int,
    verified: str = Form(""),
    actor: Actor = Depends(current_actor),
    db: Session = Depends(get_db),
) -> Response:
    account = access_account_by_id(db, actor, account_id)
    do_set_account_verified(db, actor, account, verified=verified == "1")
    return see_other(f"/console/accounts/{account.id}", notice="verified")
