"""Bulletins in the console: the account's list, compose and edit, one bulletin with its sending, and the actions.

Handlers are thin: they parse the form, reach the account or bulletin through its access helper, call one
action and redirect. A refused action comes back on the bulletin's own page with the reason; a form that
does not validate comes back filled in, with each message next to its field.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, Query, Request
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile
from starlette.responses import FileResponse, JSONResponse, Response

from wenzheng.accounts.access import access_account_by_id
from wenzheng.accounts.models import Account
from wenzheng.agencies.models import Agency
from wenzheng.attachments.store import get_store
from wenzheng.audit.models import AuditEvent
from wenzheng.bulletins import cap
from wenzheng.bulletins.access import bulletin_for, bulletins_of_account, published_bulletin
from wenzheng.bulletins.actions import (
    PREVIEWABLE,
    TITLE_MAX,
    Draft,
    do_approve_bulletin,
    do_cancel_bulletin,
    do_create_bulletin,
    do_preview_on_wechat,
    do_return_bulletin,
    do_send_alert_alone,
    do_submit_bulletin,
    do_update_bulletin,
)
from wenzheng.bulletins.audience import (
    CHANNELS,
    REGION_CODE,
    account_tags,
    clean_audience,
    count_audience,
    count_languages,
    region_name,
)
from wenzheng.bulletins.fanout import bulletin_url
from wenzheng.bulletins.languages import FIELDS as TRANSLATED_FIELDS
from wenzheng.bulletins.models import Bulletin, BulletinKind, BulletinState
from wenzheng.bulletins.refusals import verdict_key
from wenzheng.bulletins.senders import Content, sms_text, wechat_text
from wenzheng.bulletins.stats import (
    SentSeries,
    failure_reasons,
    progress_of,
    sent_and_recorded,
    sent_over_time,
    wechat_report,
)
from wenzheng.channels.sms.segments import measure
from wenzheng.channels.wechat.models import WeChatBinding
from wenzheng.errors import InvalidInput, NotFound, WenzhengError
from wenzheng.followers.languages import CHINESE, LANGUAGES
from wenzheng.staff.access import actor_names
from wenzheng.staff.actor import Actor
from wenzheng.staff.models import User
from wenzheng.staff.roles import Role
from wenzheng.web.console import see_other
from wenzheng.web.deps import current_actor, current_reader, get_db, get_read_db
from wenzheng.web.templating import render

router = APIRouter(prefix="/console")

MAX_IMAGE_BYTES = 2 * 1024 * 1024
# The compose form with its picture: wenzheng.app lets /console/accounts/ and /console/bulletins/ take this much.
MAX_FORM_BYTES = MAX_IMAGE_BYTES + 256 * 1024
IMAGE_SIGNATURES = {b"\xff\xd8\xff": "image/jpeg", b"\x89PNG\r\n\x1a\n": "image/png"}
LOCAL_INPUT = "%Y-%m-%dT%H:%M"  # what <input type="datetime-local"> sends and shows
INTENTS = ("save", "submit", "send_now")
# The CAP fields of the compose form, as cap.check_alert_fields reads them.
ALERT_INPUTS = cap.ALERT_FIELDS
# Errors that name no field, placed by their code next to the field they are about.
CODE_FIELDS = {
    "bulletin_bad_kind": "kind",
    "bulletin_bad_link": "link",
    "bulletin_unknown_channel": "channels",
    "bulletin_bad_region": "regions",
    "bulletin_audience_too_big": "regions",
    "bulletin_bad_circle": "near",
    "bulletin_bad_schedule": "scheduled_for",
    "bulletin_schedule_past": "scheduled_for",
}
TIMELINE_VERBS = (
    "create",
    "update",
    "submit",
    "return",
    "approve",
    "send_alone",
    "start",
    "sent",
    "cancel",
    "wechat_preview",
    "wechat_refused",
)
CHART_WIDTH, CHART_HEIGHT = 600, 160


# --- the form ------------------------------------------------------------------------------------------------


async def posted_form(request: Request) -> FormData:
    """The compose form, parsed once (the CSRF check read it already; Starlette keeps it)."""
    return await request.form()


@dataclass
class ComposeForm:
    """What the person typed, as text, so a refused form comes back exactly as it was sent."""

    kind: str = BulletinKind.NOTICE
    title: str = ""
    body: str = ""
    link: str = ""
    tags: list[str] = field(default_factory=list)
    regions: str = ""
    near: str = ""  # circles, one per line: lat,lon,km
    channels: list[str] = field(default_factory=list)
    scheduled_for: str = ""
    alert: dict[str, str] = field(default_factory=dict)
    translations: dict[str, dict[str, str]] = field(default_factory=dict)  # {"en": {"title": ...}}
    image_chosen: bool = False  # a refused form cannot give the file back: the page asks for it again

    @classmethod
    def from_form(cls, form: FormData) -> ComposeForm:
        def text(name: str) -> str:
            value = form.get(name)
            return value if isinstance(value, str) else ""

        image = form.get("image")

        return cls(
            kind=text("kind") or BulletinKind.NOTICE,
            title=text("title"),
            body=text("body"),
            link=text("link"),
            tags=[v for v in form.getlist("tags") if isinstance(v, str)],
            regions=text("regions"),
            near=text("near"),
            channels=[v for v in form.getlist("channels") if isinstance(v, str)],
            scheduled_for=text("scheduled_for"),
            alert={name: text(name) for name in ALERT_INPUTS},
            translations={
                code: {name: text(f"{code}_{name}") for name in TRANSLATED_FIELDS if text(f"{code}_{name}")}
                for code in LANGUAGES
            },
            image_chosen=isinstance(image, UploadFile) and bool(image.filename),
        )

    @classmethod
    def from_bulletin(cls, bulletin: Bulletin, tz: str) -> ComposeForm:
        audience = bulletin.audience or {}
        alert = {name: str(getattr(bulletin, name) or "") for name in ALERT_INPUTS}
        alert["area_codes"] = " ".join(bulletin.area_codes or [])
        alert["expires_at"] = _local_input(bulletin.expires_at, tz)
        if bulletin.warning_colour:
            alert["cap_severity"] = ""  # the colour decides it
        return cls(
            kind=bulletin.kind,
            title=bulletin.title,
            body=bulletin.body,
            link=bulletin.link,
            tags=list(audience.get("tags", [])),
            regions=" ".join(audience.get("regions", [])),
            near="\n".join(audience.get("near", [])),
            channels=list(audience.get("channels", [])),
            scheduled_for=_local_input(bulletin.scheduled_for, tz),
            alert=alert,
            translations={code: dict(version) for code, version in (bulletin.translations or {}).items()},
        )

    def audience(self) -> dict[str, Any]:
        return {"tags": self.tags, "regions": self.regions, "near": self.near, "channels": self.channels}

    def draft(self, tz: str, image: tuple[str, str] | None) -> Draft:
        return Draft(
            kind=self.kind,
            title=self.title,
            body=self.body,
            link=self.link,
            audience=self.audience(),
            scheduled_for=parse_local_time(self.scheduled_for, tz),
            alert=self.alert if self.kind == BulletinKind.ALERT else {},
            image=image,
            translations=self.translations,
        )


def parse_local_time(text: str, tz: str) -> dt.datetime | None:
    """``2026-11-28T18:00`` in the agency's time zone → aware UTC; None when empty."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(
            "Give the time as a date and time, e.g. 2026-11-28T18:00.",
            code="bulletin_bad_schedule",
            details={"field": "scheduled_for"},
        ) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo(tz))
    return value.astimezone(dt.UTC)


def _local_input(value: dt.datetime | None, tz: str) -> str:
    return value.astimezone(ZoneInfo(tz)).strftime(LOCAL_INPUT) if value else ""


def stored_image(upload: object) -> tuple[str, str] | None:
    """A chosen JPEG or PNG of at most 2 MB, put in the attachment store: (sha256, content type)."""
    if not isinstance(upload, UploadFile):
        return None
    data = upload.file.read(MAX_IMAGE_BYTES + 1)
    if not data:
        return None  # no file chosen: the browser sends an empty part
    if len(data) > MAX_IMAGE_BYTES:
        raise InvalidInput(
            "The picture is larger than 2 MB; make it smaller and choose it again.",
            code="bulletin_image_too_large",
            details={"field": "image"},
        )
    content_type = next((kind for magic, kind in IMAGE_SIGNATURES.items() if data.startswith(magic)), None)
    if content_type is None:
        raise InvalidInput(
            "The picture must be a JPEG or PNG file.", code="bulletin_image_type", details={"field": "image"}
        )
    sha256, _size = get_store().put(data)
    return sha256, content_type


def field_errors(error: InvalidInput) -> dict[str, str]:
    """Each message keyed by the form field it is about (``form`` when it names none)."""
    details = error.details if isinstance(error.details, Mapping) else {}
    fields = details.get("fields")
    if isinstance(fields, Mapping) and fields:
        return {str(name): str(message) for name, message in fields.items()}
    name = details.get("field") or CODE_FIELDS.get(error.code, "form")
    return {str(name): error.message}


# --- what a bulletin looks like on each channel ----------------------------------------------------------------


def channel_previews(
    account: Account, *, kind: str, title: str, body: str, bulletin_id: int = 0, language: str = CHINESE
) -> dict[str, Any]:
    """The bulletin as WeChat, SMS and the web page will show it, made by the senders' own functions."""
    content = Content(
        bulletin_id=bulletin_id,
        account_id=account.id,
        account_name=account.name,
        kind=kind,
        title=title.strip(),
        body=body.strip(),
        url=bulletin_url(account.slug, bulletin_id, language=language),
        language=language,
    )
    sms = sms_text(content)
    length = measure(sms)
    return {
        "wechat": wechat_text(content),
        "sms": {
            "text": sms,
            "segments": length.segments,
            "encoding": length.encoding,
            "units": length.units,
            "cut": sms.endswith(f"… {content.url}"),
        },
        "web": {"title": content.title, "body": content.body, "url": content.url},
    }


def version_previews(
    account: Account, kind: str, translations: Mapping[str, Mapping[str, str]], bulletin_id: int = 0
) -> dict[str, Any]:
    """The SMS copy of each version with a title, as its readers will get it (English runs longer than Chinese)."""
    return {
        code: channel_previews(
            account,
            kind=kind,
            title=version.get("title", "")[:200],
            body=(version.get("body") or version.get("instruction") or "")[:8000],
            bulletin_id=bulletin_id,
            language=code,
        )["sms"]
        for code, version in translations.items()
        if code in LANGUAGES and (version.get("title") or "").strip()
    }


def _bulletin_previews(account: Account, bulletin: Bulletin) -> dict[str, Any]:
    body = bulletin.body or bulletin.cap_instruction  # as the fan-out sends it
    previews = channel_previews(account, kind=bulletin.kind, title=bulletin.title, body=body, bulletin_id=bulletin.id)
    previews["versions"] = version_previews(account, bulletin.kind, bulletin.translations or {}, bulletin.id)
    return previews


# --- the list --------------------------------------------------------------------------------------------------


@router.get("/accounts/{account_id}/bulletins")
def bulletins_page(
    request: Request, account_id: int, actor: Actor = Depends(current_actor), db: Session = Depends(get_db)
) -> Response:
    account = access_account_by_id(db, actor, account_id)
    bulletins = bulletins_of_account(db, account.id)
    role = actor.role_in(account.agency_id)
    return render(
        request,
        "console/bulletins.html",
        {
            "account": account,
            "agency": db.get(Agency, account.agency_id),
            "bulletins": bulletins,
            "authors": _user_names(db, (b.author_id for b in bulletins)),
            "progress": sent_and_recorded(db, [b.id for b in bulletins]),
            "can_compose": role is not None and role.at_least(Role.OPERATOR),
            "followers": count_audience(db, account.id, {}),
            "readers": count_languages(db, account.id, {}),
            "languages": LANGUAGES,
        },
    )


# --- compose and edit ------------------------------------------------------------------------------------------


@router.get("/accounts/{account_id}/bulletins/new")
def new_bulletin_page(
    request: Request,
    account_id: int,
    kind: str = "",
    supersedes: int = 0,
    msg_type: str = "",
    actor: Actor = Depends(current_actor),
    db: Session = Depends(get_db),
) -> Response:
    account = access_account_by_id(db, actor, account_id, minimum=Role.OPERATOR)
    compose = ComposeForm(kind=kind if kind in BulletinKind.ALL else BulletinKind.NOTICE)
    if supersedes and msg_type in cap.SUPERSEDING_MSG_TYPES:
        earlier = published_bulletin(db, account.id, supersedes)  # NotFound for drafts and others' alerts
        if earlier.kind == BulletinKind.ALERT:
            compose = superseding_form(earlier, msg_type, _timezone(db, account.agency_id))
    return _form_page(request, db, actor, account, compose)


SUPERSEDING_TITLE = {"Update": "【更新】", "Cancel": "【解除】"}


def superseding_form(earlier: Bulletin, msg_type: str, tz: str) -> ComposeForm:
    """The compose form for an Update or a Cancel of a published alert: its fields to start from, pointing at it
    (CAP ``references``), with a fresh expiry to choose; an all-clear carries no colour or response."""
    compose = ComposeForm.from_bulletin(earlier, tz)
    compose.scheduled_for = ""
    title = earlier.title
    for prefix in SUPERSEDING_TITLE.values():
        title = title.removeprefix(prefix)
    compose.title = (SUPERSEDING_TITLE[msg_type] + title)[:TITLE_MAX]
    compose.alert.update(msg_type=msg_type, supersedes_id=str(earlier.id), expires_at="")
    if msg_type == "Cancel":  # 解除: the same event and area, nothing more to do
        compose.body = ""
        compose.alert.update(cap_instruction=ALL_CLEAR_TEXT, cap_response_type="AllClear", cap_urgency="Past")
    return compose


ALL_CLEAR_TEXT = "预警已解除，可恢复正常生产生活，请继续关注官方发布的信息。"


@router.post("/accounts/{account_id}/bulletins")
def create_bulletin(
    request: Request,
    account_id: int,
    form: FormData = Depends(posted_form),
    actor: Actor = Depends(current_actor),
    db: Session = Depends(get_db),
) -> Response:
    account = access_account_by_id(db, actor, account_id, minimum=Role.OPERATOR)
    compose = ComposeForm.from_form(form)
    try:
        draft = compose.draft(_timezone(db, account.agency_id), stored_image(form.get("image")))
        bulletin = do_create_bulletin(db, actor, account, draft)
    except InvalidInput as refused:
        db.rollback()
        return _form_page(request, db, actor, account, compose, errors=field_errors(refused), status=422)
    return _after_save(request, db, actor, bulletin, _intent(form), saved="bulletin_created")


@router.get("/bulletins/{bulletin_id}/edit")
def edit_bulletin_page(
    request: Request, bulletin_id: int, actor: Actor = Depends(current_actor), db: Session = Depends(get_db)
) -> Response:
    bulletin = bulletin_for(db, actor, bulletin_id)
    actor.require_role(bulletin.agency_id, Role.OPERATOR)
    if bulletin.state not in BulletinState.EDITABLE:
        return see_other(f"/console/bulletins/{bulletin.id}", notice="bulletin_not_editable")
    account = db.get_one(Account, bulletin.account_id)
    compose = ComposeForm.from_bulletin(bulletin, _timezone(db, bulletin.agency_id))
    return _form_page(request, db, actor, account, compose, bulletin=bulletin)


@router.post("/bulletins/{bulletin_id}/edit")
def edit_bulletin(
    request: Request,
    bulletin_id: int,
    form: FormData = Depends(posted_form),
    actor: Actor = Depends(current_actor),
    db: Session = Depends(get_db),
) -> Response:
    bulletin = bulletin_for(db, actor, bulletin_id)
    account = db.get_one(Account, bulletin.account_id)
    compose = ComposeForm.from_form(form)
    try:
        draft = compose.draft(_timezone(db, bulletin.agency_id), stored_image(form.get("image")))
        do_update_bulletin(db, actor, bulletin, draft)
    except InvalidInput as refused:
        db.rollback()
        errors = field_errors(refused)
        return _form_page(request, db, actor, account, compose, bulletin=bulletin, errors=errors, status=422)
    except WenzhengError as refused:
        return _refused(request, db, actor, bulletin_id, refused)
    return _after_save(request, db, actor, bulletin, _intent(form), saved="saved")


def _intent(form: FormData) -> str:
    intent = form.get("intent")
    return intent if isinstance(intent, str) and intent in INTENTS else "save"


def _after_save(request: Request, db: Session, actor: Actor, bulletin: Bulletin, intent: str, saved: str) -> Response:
    """Saved; then submitted for approval or sent at once when the person pressed that button."""
    follow_up: dict[str, tuple[Callable[[], object], str]] = {
        "submit": (partial(do_submit_bulletin, db, actor, bulletin), "bulletin_submitted"),
        "send_now": (partial(do_send_alert_alone, db, actor, bulletin), "bulletin_sending"),
    }
    if intent not in follow_up:
        return see_other(f"/console/bulletins/{bulletin.id}", notice=saved)
    action, notice = follow_up[intent]
    return _act(request, db, actor, bulletin, action, notice)


def _form_page(
    request: Request,
    db: Session,
    actor: Actor,
    account: Account,
    compose: ComposeForm,
    *,
    bulletin: Bulletin | None = None,
    errors: Mapping[str, str] | None = None,
    status: int = 200,
) -> Response:
    regions = [code for code in compose.regions.replace(",", " ").replace("，", " ").split() if REGION_CODE.match(code)]
    known_tags = account_tags(db, account.id)
    body = compose.body or compose.alert.get("cap_instruction", "")
    context = {
        "account": account,
        "agency": db.get(Agency, account.agency_id),
        "bulletin": bulletin,
        "form": compose,
        "errors": errors or {},
        "action": f"/console/bulletins/{bulletin.id}/edit" if bulletin else f"/console/accounts/{account.id}/bulletins",
        "kinds": BulletinKind.ALL,
        "tags": known_tags + [t for t in compose.tags if t not in known_tags],
        "channels": CHANNELS,
        "region_names": [(code, region_name(code)) for code in regions],
        "audience_count": _count_or_none(db, account.id, compose.audience()),
        "languages": LANGUAGES,
        "language_readers": _readers_or_empty(db, account.id, compose.audience()),
        "preview": {
            **channel_previews(
                account, kind=compose.kind, title=compose.title, body=body, bulletin_id=bulletin.id if bulletin else 0
            ),
            "versions": version_previews(account, compose.kind, compose.translations, bulletin.id if bulletin else 0),
        },
        "is_admin": actor.role_in(account.agency_id) is Role.ADMIN,
        "cap": cap,
    }
    return render(request, "console/bulletin_form.html", context, status_code=status)


def _readers_or_empty(db: Session, account_id: int, audience: Mapping[str, Any]) -> dict[str, int]:
    try:
        return count_languages(db, account_id, clean_audience(audience))
    except InvalidInput:
        return {}


def _count_or_none(db: Session, account_id: int, audience: Mapping[str, Any]) -> dict[str, int] | None:
    try:
        return count_audience(db, account_id, clean_audience(audience))
    except InvalidInput:
        return None


# --- live helpers of the compose page ---------------------------------------------------------------------------


@router.get("/accounts/{account_id}/bulletins/audience")
def audience_count(
    account_id: int,
    tags: list[str] = Query(default=[]),
    regions: str = "",
    near: str = "",
    channels: list[str] = Query(default=[]),
    actor: Actor = Depends(current_actor),
    db: Session = Depends(get_db),
) -> JSONResponse:
    """How many followers the audience reaches, per channel and in all (``total``)."""
    account = access_account_by_id(db, actor, account_id)
    audience = clean_audience({"tags": tags, "regions": regions, "near": near, "channels": channels})
    return JSONResponse(count_audience(db, account.id, audience), headers={"Cache-Control": "no-store"})


@router.post("/accounts/{account_id}/bulletins/preview")
def preview_bulletin(
    account_id: int,
    kind: str = Form(BulletinKind.NOTICE),
    title: str = Form(""),
    body: str = Form(""),
    cap_instruction: str = Form(""),
    en_title: str = Form(""),
    en_body: str = Form(""),
    en_instruction: str = Form(""),
    actor: Actor = Depends(current_actor),
    db: Session = Depends(get_db),
) -> JSONResponse:
    """The compose page's live preview, made by the same functions the senders use; ``versions`` has the SMS copy
    of each other language's version with a title."""
    account = access_account_by_id(db, actor, account_id)
    previews = channel_previews(account, kind=kind, title=title[:200], body=(body or cap_instruction)[:5000])
    english = {"title": en_title, "body": en_body, "instruction": en_instruction}
    previews["versions"] = version_previews(account, kind, {"en": english})
    return JSONResponse(previews, headers={"Cache-Control": "no-store"})


# --- one bulletin ----------------------------------------------------------------------------------------------


@router.get("/bulletins/{bulletin_id}")
def bulletin_page(
    request: Request, bulletin_id: int, actor: Actor = Depends(current_actor), db: Session = Depends(get_db)
) -> Response:
    return _bulletin_page(request, db, actor, bulletin_id)


@router.get("/bulletins/{bulletin_id}/progress")
def bulletin_progress(
    bulletin_id: int, actor: Actor = Depends(current_reader), db: Session = Depends(get_read_db)
) -> JSONResponse:
    """The live numbers of the bulletin page, polled each second: read without taking SQLite's write lock."""
    bulletin = bulletin_for(db, actor, bulletin_id)
    progress = progress_of(db, bulletin)
    return JSONResponse(
        {
            "state": progress.state,
            "counts": progress.counts,
            "total": progress.expected,
            "recorded": progress.recorded,
            "sent": progress.sent,
            "failed": progress.failed,
            "closed": progress.closed,
            "percent": progress.percent,
            "finished": progress.state in (BulletinState.SENT, BulletinState.CANCELLED),
        },
        headers={"Cache-Control": "no-store"},
    )


@router.get("/bulletins/{bulletin_id}/image")
def bulletin_image(bulletin_id: int, actor: Actor = Depends(current_actor), db: Session = Depends(get_db)) -> Response:
    bulletin = bulletin_for(db, actor, bulletin_id)
    store = get_store()
    if not bulletin.image_sha256 or not store.exists(bulletin.image_sha256):
        raise NotFound("This bulletin has no picture.")
    path = store.path(bulletin.image_sha256)
    headers = {"Cache-Control": "private, max-age=3600", "X-Content-Type-Options": "nosniff"}
    return FileResponse(path, media_type=bulletin.image_content_type or "image/jpeg", headers=headers)


def _bulletin_page(
    request: Request, db: Session, actor: Actor, bulletin_id: int, *, refused: WenzhengError | None = None
) -> Response:
    bulletin = bulletin_for(db, actor, bulletin_id)
    account = db.get_one(Account, bulletin.account_id)
    agency = db.get_one(Agency, bulletin.agency_id)
    timeline = _timeline(db, bulletin)
    names = actor_names(db, timeline)
    names.update({f"user:{k}": v for k, v in _user_names(db, (bulletin.author_id, bulletin.approver_id)).items()})
    audience = bulletin.audience or {}
    context = {
        "bulletin": bulletin,
        "account": account,
        "agency": agency,
        "names": names,
        "timeline": timeline,
        "verbs": TIMELINE_VERBS,
        "region_names": [(code, region_name(code)) for code in audience.get("regions", [])],
        "current_count": None if bulletin.audience_count is not None else _count_or_none(db, account.id, audience),
        "languages": LANGUAGES,
        "language_readers": _readers_or_empty(db, account.id, audience) if bulletin.translations else {},
        "preview": _bulletin_previews(account, bulletin),
        "progress": progress_of(db, bulletin),
        "chart": sent_chart(sent_over_time(db, bulletin.id), agency.timezone),
        "reasons": failure_reasons(db, bulletin.id),
        "wechat_report": wechat_report(db, bulletin.id),
        "verdict_key": verdict_key,
        "wechat_preview": _may_preview_on_wechat(db, actor, bulletin),
        "last_wechat_name": _last_preview_name(db, actor, bulletin.agency_id),
        "may": allowed_actions(actor, bulletin),
        "published": bulletin.state in BulletinState.PUBLISHED,
        "cap": cap,
        "refused": refused,
    }
    return render(request, "console/bulletin.html", context, status_code=refused.status if refused else 200)


def _last_preview_name(db: Session, actor: Actor, agency_id: int) -> str:
    """The WeChat ID this person last sent a preview to in this agency (its audit event records it)."""
    if actor.user_id is None:
        return ""
    data = db.scalar(
        select(AuditEvent.data)
        .where(
            AuditEvent.agency_id == agency_id,
            AuditEvent.actor_user_id == actor.user_id,
            AuditEvent.action == "console:bulletin:wechat_preview",
        )
        .order_by(AuditEvent.id.desc())
        .limit(1)
    )
    return str((data or {}).get("wechat_name", ""))


def _may_preview_on_wechat(db: Session, actor: Actor, bulletin: Bulletin) -> bool:
    role = actor.role_in(bulletin.agency_id)
    if role is None or not role.at_least(Role.OPERATOR) or bulletin.state not in PREVIEWABLE:
        return False
    return db.scalar(select(WeChatBinding.id).where(WeChatBinding.account_id == bulletin.account_id)) is not None


def allowed_actions(actor: Actor, bulletin: Bulletin) -> dict[str, bool]:
    """Which buttons the page offers; the actions decide again, so this only spares people a refusal."""
    role = actor.role_in(bulletin.agency_id)
    if role is None:
        return {}
    state = bulletin.state
    author = actor.user_id is not None and actor.user_id == bulletin.author_id
    editor = role.at_least(Role.SUPERVISOR) or (role.at_least(Role.OPERATOR) and author)
    approver = role.at_least(Role.SUPERVISOR)
    return {
        "edit": editor and state == BulletinState.DRAFT,
        "submit": editor and state == BulletinState.DRAFT,
        "approve": approver and state == BulletinState.PENDING and not author,
        "wait_for_other": approver and state == BulletinState.PENDING and author,
        "return": approver and state == BulletinState.PENDING,
        "send_now": role is Role.ADMIN
        and bulletin.kind == BulletinKind.ALERT
        and state in (BulletinState.DRAFT, BulletinState.PENDING),
        "cancel": approver and state not in (BulletinState.SENT, BulletinState.CANCELLED),
        # A published alert is adjusted or lifted by a new alert that refers to it (CAP Update / Cancel).
        "supersede": role.at_least(Role.OPERATOR)
        and bulletin.kind == BulletinKind.ALERT
        and state in BulletinState.PUBLISHED
        and bulletin.msg_type != "Cancel",
    }


def _timeline(db: Session, bulletin: Bulletin) -> list[AuditEvent]:
    return list(
        db.execute(
            select(AuditEvent)
            .where(
                AuditEvent.agency_id == bulletin.agency_id,
                AuditEvent.subject_type == "bulletin",
                AuditEvent.subject_id == bulletin.id,
            )
            .order_by(AuditEvent.created_at, AuditEvent.id)
        ).scalars()
    )


def _user_names(db: Session, user_ids: Iterable[int | None]) -> dict[int, str]:
    wanted = {user_id for user_id in user_ids if user_id}
    if not wanted:
        return {}
    return dict(db.execute(select(User.id, User.display_name).where(User.id.in_(wanted))).tuples().all())


def _timezone(db: Session, agency_id: int) -> str:
    agency = db.get(Agency, agency_id)
    return agency.timezone if agency and agency.timezone else "Asia/Shanghai"


@dataclass(frozen=True)
class Chart:
    """The cumulative sends as an SVG polyline, with what its axes say."""

    points: str
    total: int
    first: dt.datetime
    last: dt.datetime
    bucket_seconds: int
    width: int = CHART_WIDTH
    height: int = CHART_HEIGHT


def sent_chart(series: SentSeries, tz: str) -> Chart | None:
    """Scale the series into the chart's box: x is time from the first bucket, y the sends so far."""
    if not series.points:
        return None
    start = series.points[0][0]
    span = (series.points[-1][0] - start).total_seconds() + series.bucket_seconds
    coordinates = [f"0,{CHART_HEIGHT}"]
    for moment, cumulative in series.points:
        x = CHART_WIDTH * ((moment - start).total_seconds() + series.bucket_seconds) / span
        y = CHART_HEIGHT - CHART_HEIGHT * cumulative / series.total
        coordinates.append(f"{x:.1f},{y:.1f}")
    end = series.points[-1][0] + dt.timedelta(seconds=series.bucket_seconds)
    zone = ZoneInfo(tz)
    return Chart(
        " ".join(coordinates), series.total, start.astimezone(zone), end.astimezone(zone), series.bucket_seconds
    )


# --- the actions -----------------------------------------------------------------------------------------------


@router.post("/bulletins/{bulletin_id}/submit")
def submit_bulletin(
    request: Request, bulletin_id: int, actor: Actor = Depends(current_actor), db: Session = Depends(get_db)
) -> Response:
    bulletin = bulletin_for(db, actor, bulletin_id)
    return _act(request, db, actor, bulletin, partial(do_submit_bulletin, db, actor, bulletin), "bulletin_submitted")


@router.post("/bulletins/{bulletin_id}/approve")
def approve_bulletin(
    request: Request, bulletin_id: int, actor: Actor = Depends(current_actor), db: Session = Depends(get_db)
) -> Response:
    bulletin = bulletin_for(db, actor, bulletin_id)
    return _act(request, db, actor, bulletin, partial(do_approve_bulletin, db, actor, bulletin), "bulletin_approved")


@router.post("/bulletins/{bulletin_id}/return")
def return_bulletin(
    request: Request,
    bulletin_id: int,
    reason: str = Form(""),
    actor: Actor = Depends(current_actor),
    db: Session = Depends(get_db),
) -> Response:
    bulletin = bulletin_for(db, actor, bulletin_id)
    action = partial(do_return_bulletin, db, actor, bulletin, reason=reason)
    return _act(request, db, actor, bulletin, action, "bulletin_returned")


@router.post("/bulletins/{bulletin_id}/send-now")
def send_bulletin_now(
    request: Request, bulletin_id: int, actor: Actor = Depends(current_actor), db: Session = Depends(get_db)
) -> Response:
    bulletin = bulletin_for(db, actor, bulletin_id)
    return _act(request, db, actor, bulletin, partial(do_send_alert_alone, db, actor, bulletin), "bulletin_sending")


@router.post("/bulletins/{bulletin_id}/wechat-preview")
def preview_bulletin_on_wechat(
    request: Request,
    bulletin_id: int,
    wechat_name: str = Form(""),
    actor: Actor = Depends(current_actor),
    db: Session = Depends(get_db),
) -> Response:
    bulletin = bulletin_for(db, actor, bulletin_id)
    action = partial(do_preview_on_wechat, db, actor, bulletin, wechat_name=wechat_name)
    return _act(request, db, actor, bulletin, action, "bulletin_previewed")


@router.post("/bulletins/{bulletin_id}/cancel")
def cancel_bulletin(
    request: Request,
    bulletin_id: int,
    reason: str = Form(""),
    actor: Actor = Depends(current_actor),
    db: Session = Depends(get_db),
) -> Response:
    bulletin = bulletin_for(db, actor, bulletin_id)
    action = partial(do_cancel_bulletin, db, actor, bulletin, reason=reason)
    return _act(request, db, actor, bulletin, action, "bulletin_cancelled")


def _act(
    request: Request, db: Session, actor: Actor, bulletin: Bulletin, action: Callable[[], object], notice: str
) -> Response:
    """Run one action; back to the bulletin with a notice, or with the reason it was refused."""
    bulletin_id = bulletin.id
    try:
        action()
    except WenzhengError as refused:
        return _refused(request, db, actor, bulletin_id, refused)
    return see_other(f"/console/bulletins/{bulletin_id}", notice=notice)


def _refused(request: Request, db: Session, actor: Actor, bulletin_id: int, refused: WenzhengError) -> Response:
    if refused.status >= 500:
        raise refused
    db.rollback()
    return _bulletin_page(request, db, actor, bulletin_id, refused=refused)
