"""What staff do with a bulletin: draft it, submit it, approve it (someone other than its author), send, cancel.

Operators draft and submit; supervisors and admins approve, and never their own bulletin, except that an
admin may send an emergency alert alone, which is audited as such. Approval counts the audience and starts
the fan-out at once, or at the scheduled time. Every action is audited and commits.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from wenzheng.accounts.models import Account
from wenzheng.agencies.models import Agency
from wenzheng.audit.actions import record_audit
from wenzheng.bulletins.access import published_bulletin
from wenzheng.bulletins.audience import clean_audience, count_audience
from wenzheng.bulletins.cap import national_identifier
from wenzheng.bulletins.languages import clean_translations
from wenzheng.bulletins.models import (
    Bulletin,
    BulletinDelivery,
    BulletinFanout,
    BulletinKind,
    BulletinState,
    DeliveryState,
)
from wenzheng.db import rowcount, utcnow
from wenzheng.errors import Conflict, Forbidden, InvalidInput
from wenzheng.jobs import queue
from wenzheng.staff.actor import Actor
from wenzheng.staff.roles import Role
from wenzheng.validation import clean_text

# Before it goes out, a bulletin can be seen on one's own WeChat as followers will see it.
PREVIEWABLE = (BulletinState.DRAFT, BulletinState.PENDING, BulletinState.SCHEDULED)
WECHAT_NAME = re.compile(r"[A-Za-z][-_A-Za-z0-9]{5,19}")

SCHEDULER = Actor.system("scheduler")
TITLE_MAX = 64  # a WeChat news title, and what a phone shows of a notification
BODY_MAX = 4000
LINK_MAX = 500


@dataclass
class Draft:
    """What the compose form gives: the text, who gets it, when, and for an alert its CAP fields."""

    kind: str
    title: str
    body: str = ""
    link: str = ""
    audience: Mapping[str, Any] = field(default_factory=dict)
    scheduled_for: dt.datetime | None = None
    alert: Mapping[str, Any] = field(default_factory=dict)
    image: tuple[str, str] | None = None  # (sha256 in the attachment store, content type)
    # Versions in other languages, by code: {"en": {"title": ..., "body": ...}} (bulletins.languages).
    translations: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


def do_create_bulletin(session: Session, actor: Actor, account: Account, draft: Draft) -> Bulletin:
    actor.require_role(account.agency_id, Role.OPERATOR)
    bulletin = Bulletin(agency_id=account.agency_id, account_id=account.id, author_id=actor.user_id)
    _fill(session, bulletin, draft)
    session.add(bulletin)
    session.flush()
    _audit(session, actor, bulletin, "create", {"kind": bulletin.kind, "title": bulletin.title})
    session.commit()
    return bulletin


def do_update_bulletin(session: Session, actor: Actor, bulletin: Bulletin, draft: Draft) -> Bulletin:
    _require_editor(actor, bulletin)
    if bulletin.state != BulletinState.DRAFT:
        raise Conflict(
            "Only a draft can be edited; this bulletin was submitted. Ask the approver to send it back.",
            code="bulletin_not_draft",
        )
    _fill(session, bulletin, draft)
    bulletin.updated_at = utcnow()
    _audit(session, actor, bulletin, "update", {"title": bulletin.title})
    session.commit()
    return bulletin


def do_submit_bulletin(session: Session, actor: Actor, bulletin: Bulletin) -> Bulletin:
    """Draft → waiting for approval."""
    _require_editor(actor, bulletin)
    _require_state(bulletin, (BulletinState.DRAFT,), "submitted")
    bulletin.state = BulletinState.PENDING
    bulletin.submitted_at = bulletin.updated_at = utcnow()
    _audit(session, actor, bulletin, "submit", {})
    session.commit()
    return bulletin


def do_return_bulletin(session: Session, actor: Actor, bulletin: Bulletin, *, reason: str) -> Bulletin:
    """An approver sends a submitted bulletin back to its author as a draft, saying why."""
    actor.require_role(bulletin.agency_id, Role.SUPERVISOR)
    _require_state(bulletin, (BulletinState.PENDING,), "sent back")
    reason = clean_text(reason, field="reason", max_length=200)
    bulletin.state = BulletinState.DRAFT
    bulletin.submitted_at = None
    bulletin.updated_at = utcnow()
    _audit(session, actor, bulletin, "return", {"reason": reason})
    session.commit()
    return bulletin


def do_approve_bulletin(session: Session, actor: Actor, bulletin: Bulletin) -> Bulletin:
    """A second person approves: the audience is counted and the fan-out starts now or at the scheduled time."""
    actor.require_role(bulletin.agency_id, Role.SUPERVISOR)
    _require_state(bulletin, (BulletinState.PENDING,), "approved")
    if actor.user_id is not None and actor.user_id == bulletin.author_id:
        raise Forbidden(
            "You wrote this bulletin, so someone else must approve it. "
            "(An admin may send an emergency alert alone with “send now”.)",
            code="bulletin_self_approval",
        )
    _approve(session, actor, bulletin, "approve")
    session.commit()
    return bulletin


def do_send_alert_alone(session: Session, actor: Actor, bulletin: Bulletin) -> Bulletin:
    """In an emergency an admin sends an alert without a second approver; audited as such."""
    actor.require_role(bulletin.agency_id, Role.ADMIN)
    if bulletin.kind != BulletinKind.ALERT:
        raise Forbidden(
            "Only an emergency alert may be sent without a second approver; submit this bulletin for approval.",
            code="bulletin_needs_approval",
        )
    _require_state(bulletin, (BulletinState.DRAFT, BulletinState.PENDING), "sent")
    bulletin.submitted_at = bulletin.submitted_at or utcnow()
    _approve(session, actor, bulletin, "send_alone")
    session.commit()
    return bulletin


def do_cancel_bulletin(session: Session, actor: Actor, bulletin: Bulletin, *, reason: str) -> Bulletin:
    """Stop a bulletin that has not finished: nothing more goes out; what went out stays recorded."""
    actor.require_role(bulletin.agency_id, Role.SUPERVISOR)
    _require_state(
        bulletin,
        (BulletinState.DRAFT, BulletinState.PENDING, BulletinState.SCHEDULED, BulletinState.SENDING),
        "cancelled",
    )
    reason = clean_text(reason, field="reason", max_length=200)
    was = bulletin.state
    bulletin.state = BulletinState.CANCELLED
    bulletin.cancelled_at = bulletin.updated_at = utcnow()
    bulletin.cancel_reason = reason
    left = rowcount(
        session.execute(
            update(BulletinDelivery)
            .where(BulletinDelivery.bulletin_id == bulletin.id, BulletinDelivery.state.in_(DeliveryState.OPEN))
            .values(state=DeliveryState.CANCELLED, reason="bulletin cancelled")
        )
    )
    _audit(session, actor, bulletin, "cancel", {"reason": reason, "was": was, "deliveries_stopped": left})
    session.commit()
    return bulletin


def start_due_bulletins(session: Session, *, now: dt.datetime | None = None) -> list[Bulletin]:
    """Start the fan-out of every approved bulletin whose time has come (the periodic task; no commit)."""
    moment = now or utcnow()
    due = session.execute(
        select(Bulletin)
        .where(Bulletin.state == BulletinState.SCHEDULED)
        .where(Bulletin.scheduled_for <= moment)
        .with_for_update(skip_locked=True)
    ).scalars()
    started = list(due)
    for bulletin in started:
        _start(session, bulletin, moment)
        _audit(session, SCHEDULER, bulletin, "start", {"scheduled_for": str(bulletin.scheduled_for)})
    return started


def _approve(session: Session, actor: Actor, bulletin: Bulletin, action: str) -> None:
    counts = count_audience(session, bulletin.account_id, bulletin.audience or {})
    bulletin.audience_count = counts["total"]
    bulletin.approver_id = actor.user_id
    bulletin.approved_at = bulletin.updated_at = utcnow()
    bulletin.state = BulletinState.SCHEDULED
    _audit(session, actor, bulletin, action, {"audience": counts, "kind": bulletin.kind})
    if bulletin.scheduled_for is None or bulletin.scheduled_for <= utcnow():
        _start(session, bulletin, utcnow())
    else:
        payload = {"bulletin_id": bulletin.id}
        queue.enqueue(
            session, "bulletins.start_due", payload, agency_id=bulletin.agency_id, run_after=bulletin.scheduled_for
        )


def _start(session: Session, bulletin: Bulletin, moment: dt.datetime) -> None:
    bulletin.state = BulletinState.SENDING
    bulletin.started_at = moment
    if bulletin.kind == BulletinKind.ALERT and bulletin.cap_identifier is None:
        bulletin.cap_identifier = _national_identifier(session, bulletin, moment)
    if session.get(BulletinFanout, bulletin.id) is None:
        session.add(BulletinFanout(bulletin_id=bulletin.id))
    queue.enqueue(session, "bulletins.expand", {"bulletin_id": bulletin.id}, agency_id=bulletin.agency_id)


def _national_identifier(session: Session, bulletin: Bulletin, moment: dt.datetime) -> str | None:
    """The alert's national identifier, when its agency has an issuing-unit code (cap.national_identifier)."""
    unit_code = session.scalar(select(Agency.issuing_unit_code).where(Agency.id == bulletin.agency_id))
    if not unit_code:
        return None

    def taken(prefix: str) -> int:
        matching = select(func.count()).where(Bulletin.cap_identifier.startswith(prefix, autoescape=True))
        return int(session.scalar(matching) or 0)

    return national_identifier(unit_code, moment, taken)


def _fill(session: Session, bulletin: Bulletin, draft: Draft) -> None:
    if draft.kind not in BulletinKind.ALL:
        raise InvalidInput(
            f"A bulletin is a notice, news or an emergency alert, not {draft.kind!r}.", code="bulletin_bad_kind"
        )
    bulletin.kind = draft.kind
    bulletin.title = clean_text(draft.title, field="title", max_length=TITLE_MAX)
    bulletin.body = clean_text(draft.body, field="body", max_length=BODY_MAX, required=draft.kind != BulletinKind.ALERT)
    bulletin.link = _clean_link(draft.link)
    bulletin.audience = clean_audience(draft.audience)
    bulletin.scheduled_for = _clean_schedule(draft.scheduled_for)
    if draft.image is not None:
        bulletin.image_sha256, bulletin.image_content_type = draft.image
    bulletin.translations = clean_translations(draft.translations, kind=draft.kind)
    if draft.kind == BulletinKind.ALERT:
        _fill_alert(session, bulletin, draft.alert)


def _fill_alert(session: Session, bulletin: Bulletin, alert: Mapping[str, Any]) -> None:
    from wenzheng.bulletins.cap import ALERT_FIELDS, check_alert_fields

    checked = check_alert_fields(alert)
    if checked.get("supersedes_id") is not None:
        # An update or withdrawal refers to an alert this account already published.
        earlier = published_bulletin(session, bulletin.account_id, int(checked["supersedes_id"]))
        if earlier.kind != BulletinKind.ALERT:
            raise InvalidInput("Only an alert can be updated or cancelled by an alert.", code="invalid_supersedes_id")
    for name in ALERT_FIELDS:
        if name in checked:
            setattr(bulletin, name, checked[name])


def _clean_link(link: str) -> str:
    link = (link or "").strip()
    if link and not link.startswith(("https://", "http://")):
        raise InvalidInput("The link must be a full web address starting with https://.", code="bulletin_bad_link")
    return clean_text(link, field="link", max_length=LINK_MAX, required=False)


def _clean_schedule(moment: dt.datetime | None) -> dt.datetime | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        raise InvalidInput("The scheduled time needs a time zone.", code="bulletin_bad_schedule")
    if moment < utcnow() - dt.timedelta(minutes=1):
        raise InvalidInput(
            "The scheduled time has passed; leave it empty to send on approval.", code="bulletin_schedule_past"
        )
    return moment


def _require_editor(actor: Actor, bulletin: Bulletin) -> None:
    role = actor.require_role(bulletin.agency_id, Role.OPERATOR)
    if not role.at_least(Role.SUPERVISOR) and actor.user_id != bulletin.author_id:
        raise Forbidden("Only its author or a supervisor can change this bulletin.", code="bulletin_not_author")


def do_preview_on_wechat(session: Session, actor: Actor, bulletin: Bulletin, *, wechat_name: str) -> str:
    """Send the bulletin's WeChat copy to one person's WeChat (their WeChat ID, 微信号) before it is sent; audited
    with whom it went to; commits. The cleaned WeChat ID is returned.

    Operators and up, while the bulletin is a draft, waits for approval or is scheduled. WeChat's refusal (an ID it
    does not know, WeChat busy) is a Conflict with WeChat's code and words.
    """
    from wenzheng.bulletins.fanout import mass_all_text
    from wenzheng.channels.wechat.errors import WeChatApiError
    from wenzheng.channels.wechat.outbound import send_mass_preview

    actor.require_role(bulletin.agency_id, Role.OPERATOR)
    _require_state(bulletin, PREVIEWABLE, "previewed")
    name = clean_wechat_name(wechat_name)
    account = session.get_one(Account, bulletin.account_id)
    try:
        send_mass_preview(session, account, name, mass_all_text(bulletin, account))
    except WeChatApiError as error:
        session.commit()  # a refreshed access token is worth keeping
        raise Conflict(
            f"WeChat did not send the preview: {error.message}", code=error.code, details=error.details
        ) from error
    _audit(session, actor, bulletin, "wechat_preview", {"wechat_name": name})
    session.commit()
    return name


def clean_wechat_name(value: str) -> str:
    """A WeChat ID as WeChat allows one: 6–20 letters, digits, _ or -, starting with a letter."""
    name = (value or "").strip()
    if not WECHAT_NAME.fullmatch(name):
        raise InvalidInput(
            "A WeChat ID (微信号) is 6–20 letters, digits, _ or -, and starts with a letter: see 我 → 个人信息 in "
            "WeChat. A phone number or a nickname will not do.",
            code="invalid_wechat_name",
            details={"field": "wechat_name"},
        )
    return name


def _require_state(bulletin: Bulletin, allowed: tuple[str, ...], doing: str) -> None:
    if bulletin.state not in allowed:
        raise Conflict(
            f"This bulletin is {bulletin.state}; it cannot be {doing} now. Reload the page to see its state.",
            code="bulletin_wrong_state",
        )


def _audit(session: Session, actor: Actor, bulletin: Bulletin, action: str, data: dict[str, Any]) -> None:
    record_audit(
        session,
        actor,
        f"console:bulletin:{action}",
        agency_id=bulletin.agency_id,
        subject_type="bulletin",
        subject_id=bulletin.id,
        data={"account_id": bulletin.account_id, **data},
    )
