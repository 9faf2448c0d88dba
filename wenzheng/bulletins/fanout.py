"""The fan-out: a bulletin's audience expanded page by page into deliveries, and each page handed to its channels.

Two tasks. ``bulletins.expand`` (one transaction per page) inserts the next page of followers — in id
order, after the bulletin's cursor — as pending deliveries, moves the cursor and queues a
``bulletins.deliver`` job for that page. ``bulletins.deliver`` is a leased task: it reads its page's open
deliveries in one short transaction, hands them to the channels with no transaction open (a slow gateway
never holds the database), and records the outcomes in another. Killed anywhere, it loses nothing: the
expansion is atomic with its cursor, a page whose outcomes were not recorded is sent again when its lease
ends (with the same idempotency keys, see bulletins.senders), and the unique (bulletin, follower) pair makes
a second copy of a delivery impossible. Temporary failures come back with ``bulletins.retry`` after a
backoff; when nothing is open any more the bulletin is sent.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import func, insert, literal, select, update
from sqlalchemy.orm import Session

from wenzheng.accounts.models import Account
from wenzheng.audit.actions import record_audit
from wenzheng.bulletins.audience import NARROWING, audience_filter
from wenzheng.bulletins.cap import bulletin_url
from wenzheng.bulletins.languages import version_of, written_in
from wenzheng.bulletins.models import (
    Bulletin,
    BulletinDelivery,
    BulletinFanout,
    BulletinKind,
    BulletinState,
    BulletinWeChatReport,
    DeliveryState,
)
from wenzheng.bulletins.senders import Content, Outcome, Recipient, WeChatMode, send_page, wechat_text
from wenzheng.channels.models import EmailBinding, SmsBinding
from wenzheng.citizens.models import CitizenHandle
from wenzheng.config import get_settings
from wenzheng.db import rowcount, utcnow
from wenzheng.followers.languages import CHINESE
from wenzheng.followers.models import Follower, FollowerState
from wenzheng.jobs import queue
from wenzheng.jobs.models import Job
from wenzheng.jobs.registry import leased_task, task
from wenzheng.staff.actor import Actor

SessionFactory = Callable[[], Session]
FANOUT = Actor.system("fanout")
DELIVER_LEASE_SECONDS = 300.0
UPDATE_CHUNK = 500  # ids per UPDATE ... WHERE id IN (...)
RETRY_BASE_SECONDS = 30.0


@task("bulletins.expand")
def expand(session: Session, job: Job) -> None:
    bulletin_id = int(job.payload["bulletin_id"])
    progress = session.get(BulletinFanout, bulletin_id, with_for_update=True)
    bulletin = session.get(Bulletin, bulletin_id)
    if progress is None or bulletin is None or bulletin.state != BulletinState.SENDING or progress.expanded:
        return
    if not progress.wechat_mode:
        progress.wechat_mode = decide_wechat_mode(session, bulletin)
    expand_page(session, bulletin, progress)


def expand_page(session: Session, bulletin: Bulletin, progress: BulletinFanout) -> int:
    """Insert the next page of the audience as deliveries and queue its delivery; how many were added."""
    page = get_settings().bulletin_page_size
    conditions = [*audience_filter(bulletin.account_id, bulletin.audience or {}), Follower.id > progress.cursor]
    ids = select(Follower.id).where(*conditions).order_by(Follower.id).limit(page).subquery()
    last = session.scalar(select(func.max(ids.c.id)))
    if last is None:
        progress.expanded = True
        queue.enqueue(session, "bulletins.finish", {"bulletin_id": bulletin.id}, agency_id=bulletin.agency_id)
        return 0
    now = utcnow()
    rows = select(
        literal(bulletin.id),
        Follower.id,
        Follower.channel,
        literal(DeliveryState.PENDING),
        literal(""),
        literal(0),
        literal(""),
        literal(""),
        literal(now, BulletinDelivery.created_at.type),
    ).where(*conditions, Follower.id <= last)
    columns = [
        "bulletin_id",
        "follower_id",
        "channel",
        "state",
        "via",
        "attempts",
        "reason",
        "provider_ref",
        "created_at",
    ]
    added = rowcount(session.execute(insert(BulletinDelivery).from_select(columns, rows)))
    first_id, last_id = session.execute(
        select(func.min(BulletinDelivery.id), func.max(BulletinDelivery.id)).where(
            BulletinDelivery.bulletin_id == bulletin.id,
            BulletinDelivery.follower_id > progress.cursor,
            BulletinDelivery.follower_id <= last,
        )
    ).one()
    progress.cursor = last
    progress.pages += 1
    payload = {"bulletin_id": bulletin.id, "first": first_id, "last": last_id}
    queue.enqueue(session, "bulletins.deliver", payload, agency_id=bulletin.agency_id)
    queue.enqueue(session, "bulletins.expand", {"bulletin_id": bulletin.id}, agency_id=bulletin.agency_id)
    return added


def decide_wechat_mode(session: Session, bulletin: Bulletin) -> str:
    """How WeChat followers get this bulletin: mass send while the quota lasts, then templates, then other channels."""
    from wenzheng.channels.wechat.errors import MassSendQuotaExhausted
    from wenzheng.channels.wechat.models import MassSend, WeChatBinding
    from wenzheng.channels.wechat.outbound import MassSendState, check_mass_send_quota

    binding = session.execute(
        select(WeChatBinding).where(WeChatBinding.account_id == bulletin.account_id)
    ).scalar_one_or_none()
    if binding is None:
        return WeChatMode.FALLBACK
    account = session.get_one(Account, bulletin.account_id)
    try:
        check_mass_send_quota(session, account)
    except MassSendQuotaExhausted:
        return WeChatMode.TEMPLATE if binding.bulletin_template_id else WeChatMode.FALLBACK
    everyone = not any((bulletin.audience or {}).get(key) for key in NARROWING)
    # The bulletin's mass send is recorded like the console's own, so it counts against the same quota.
    session.add(
        MassSend(
            agency_id=bulletin.agency_id,
            account_id=bulletin.account_id,
            client_msg_id=f"wz-bulletin-{bulletin.id}",
            msgtype="text",
            content=mass_all_text(bulletin, account),
            state=MassSendState.QUEUED if everyone else MassSendState.SUBMITTED,
        )
    )
    return WeChatMode.MASS_ALL if everyone else WeChatMode.MASS_LIST


@leased_task("bulletins.deliver", lease_seconds=DELIVER_LEASE_SECONDS)
def deliver(session_factory: SessionFactory, job: Job) -> None:
    payload = job.payload
    deliver_range(session_factory, int(payload["bulletin_id"]), int(payload["first"]), int(payload["last"]))


@leased_task("bulletins.retry", lease_seconds=DELIVER_LEASE_SECONDS)
def retry(session_factory: SessionFactory, job: Job) -> None:
    """Deliveries that failed for a while, due again: the whole bulletin's id range, only those due."""
    bulletin_id = int(job.payload["bulletin_id"])
    with session_factory() as session:
        first, last = session.execute(
            select(func.min(BulletinDelivery.id), func.max(BulletinDelivery.id)).where(
                BulletinDelivery.bulletin_id == bulletin_id, BulletinDelivery.state == DeliveryState.RETRY
            )
        ).one()
        session.rollback()
    if first is not None:
        deliver_range(session_factory, bulletin_id, int(first), int(last), retries=True)


def deliver_range(
    session_factory: SessionFactory, bulletin_id: int, first: int, last: int, *, retries: bool = False
) -> int:
    """Send the open deliveries of a bulletin with ids in [first, last]; how many were handed over."""
    chunk = get_settings().bulletin_page_size
    handed = 0
    start = first
    while start <= last:
        end = min(last, start + chunk - 1)
        read = _read_page(session_factory, bulletin_id, start, end, retries)
        if read is None:
            return handed  # cancelled, or finished by someone else
        for content, recipients in read:  # one group per language the page's followers read
            outcomes = send_page(content, recipients)
            _record(session_factory, content, outcomes)
            handed += sum(1 for o in outcomes.values() if o.state == DeliveryState.SENT)
        start = end + 1
    with session_factory() as session:
        if finish_if_done(session, bulletin_id):
            session.commit()
    return handed


def _read_page(
    session_factory: SessionFactory, bulletin_id: int, first: int, last: int, retries: bool
) -> list[tuple[Content, list[Recipient]]] | None:
    """The page's open deliveries, grouped by the language of the copy each follower gets, with its content."""
    with session_factory() as session:
        bulletin = session.get(Bulletin, bulletin_id)
        if bulletin is None or bulletin.state != BulletinState.SENDING:
            return None
        states = [DeliveryState.RETRY] if retries else [DeliveryState.PENDING]
        query = (
            select(
                BulletinDelivery.id,
                BulletinDelivery.follower_id,
                BulletinDelivery.channel,
                Follower.handle,
                Follower.language,
            )
            .join(Follower, Follower.id == BulletinDelivery.follower_id)
            .where(BulletinDelivery.bulletin_id == bulletin_id)
            .where(BulletinDelivery.id.between(first, last))
            .where(BulletinDelivery.state.in_(states))
            .order_by(BulletinDelivery.id)
        )
        if retries:
            query = query.where(BulletinDelivery.next_attempt_at <= utcnow())
        groups: dict[str, list[Recipient]] = defaultdict(list)
        versions = bulletin.translations or {}
        for row in session.execute(query):
            recipient = Recipient(row[0], row[1], row[2], row[3], row[4])
            # The version the follower reads: their language's where the bulletin has one, else the Chinese.
            groups[recipient.language if recipient.language in versions else CHINESE].append(recipient)
        progress = session.get_one(BulletinFanout, bulletin_id)
        read = [(_content(session, bulletin, progress, group, language), group) for language, group in groups.items()]
        session.commit()  # a refreshed WeChat token, a mass send's id
        return read


def _content(
    session: Session, bulletin: Bulletin, progress: BulletinFanout, recipients: Sequence[Recipient], language: str
) -> Content:
    account = session.get_one(Account, bulletin.account_id)
    content = content_stub(bulletin, account, language)
    channels = {r.channel for r in recipients}
    extra: dict[str, Any] = {}
    if "sms" in channels or progress.wechat_mode == WeChatMode.FALLBACK:
        extra["sms_sender"] = session.scalar(select(SmsBinding.number).where(SmsBinding.account_id == account.id)) or ""
    if "email" in channels or progress.wechat_mode == WeChatMode.FALLBACK:
        extra["mail_sender"] = (
            session.scalar(select(EmailBinding.address).where(EmailBinding.account_id == account.id)) or ""
        )
    if "wechat" in channels:
        extra.update(_wechat_content(session, bulletin, progress.wechat_mode, account, recipients))
    if "webpush" in channels:
        extra.update(_push_content(session, bulletin, content, recipients))
    return Content(**{**content.__dict__, **extra})


def content_stub(bulletin: Bulletin, account: Account, language: str | None = None) -> Content:
    """What every channel's copy is made from (the text of a WeChat, SMS or mail copy; see bulletins.senders), in
    the version for followers who read ``language`` (the Chinese by default, and where it has no such version)."""
    version = version_of(bulletin, language)
    return Content(
        bulletin_id=bulletin.id,
        account_id=account.id,
        account_name=account.name,
        kind=bulletin.kind,
        title=version.title,
        body=version.body or version.instruction,
        url=bulletin_url(account.slug, bulletin.id, language=version.language),
        account_slug=account.slug,
        language=version.language,
    )


def _wechat_content(
    session: Session, bulletin: Bulletin, mode: str, account: Account, recipients: Sequence[Recipient]
) -> dict[str, Any]:
    from wenzheng.channels.wechat.models import WeChatBinding
    from wenzheng.channels.wechat.tokens import access_token

    extra: dict[str, Any] = {"wechat_mode": mode}
    if mode == WeChatMode.FALLBACK:
        extra["fallbacks"] = _fallbacks(session, recipients)
        return extra
    extra["wechat_token"] = access_token(session, account)
    if mode == WeChatMode.TEMPLATE:
        binding = session.execute(select(WeChatBinding).where(WeChatBinding.account_id == account.id)).scalar_one()
        extra["template_id"] = binding.bulletin_template_id
    if mode == WeChatMode.MASS_ALL:
        extra["wechat_msg_id"], extra["wechat_error"] = ensure_mass_all(session, bulletin, account)
    return extra


def mass_all_text(bulletin: Bulletin, account: Account) -> str:
    """The text of the one sendall: it reaches every WeChat follower, those we know and those who followed before
    the account was connected here, so a bulletin with other versions carries them all, the Chinese first
    (lists, one per language, would miss the followers we do not know)."""
    return "\n\n".join(
        wechat_text(content_stub(bulletin, account, language))[:2000] for language in written_in(bulletin)
    )


def ensure_mass_all(session: Session, bulletin: Bulletin, account: Account) -> tuple[str, str]:
    """Submit the bulletin's one mass send to everyone (once: WeChat dedupes its clientmsgid): (msg_id, error)."""
    from wenzheng.channels.wechat.models import MassSend
    from wenzheng.channels.wechat.outbound import submit_mass_send

    mass = session.execute(select(MassSend).where(MassSend.client_msg_id == f"wz-bulletin-{bulletin.id}")).scalar_one()
    submit_mass_send(session, mass)
    return mass.wechat_msg_id or "", mass.error or ""


def _fallbacks(session: Session, recipients: Sequence[Recipient]) -> dict[int, tuple[str, str]]:
    """For WeChat followers: their phone number, else e-mail address, when the citizen gave one."""
    rows = session.execute(
        select(Follower.id, Follower.citizen_id).where(Follower.id.in_([r.follower_id for r in recipients]))
    )
    follower_citizen: dict[int, int] = {follower_id: citizen_id for follower_id, citizen_id in rows}
    handles: dict[int, dict[str, str]] = defaultdict(dict)
    handle_rows = session.execute(
        select(CitizenHandle.citizen_id, CitizenHandle.channel, CitizenHandle.handle).where(
            CitizenHandle.citizen_id.in_(set(follower_citizen.values())), CitizenHandle.channel.in_(("phone", "email"))
        )
    )
    for citizen_id, channel, handle in handle_rows:
        handles[citizen_id].setdefault(channel, handle)
    found: dict[int, tuple[str, str]] = {}
    for recipient in recipients:
        known = handles.get(follower_citizen.get(recipient.follower_id, -1), {})
        for channel in ("phone", "email"):
            if channel in known:
                found[recipient.delivery_id] = (channel, known[channel])
                break
    return found


def _push_content(
    session: Session, bulletin: Bulletin, content: Content, recipients: Sequence[Recipient]
) -> dict[str, Any]:
    from wenzheng.bulletins import webpush

    followers = [r.follower_id for r in recipients if r.channel == "webpush"]
    ttl, urgency = webpush.ttl_and_urgency(bulletin)
    return {
        "push_payload": webpush.bulletin_payload(bulletin, content.url, language=content.language),
        "push_targets": webpush.push_targets(session, followers),
        "vapid": webpush.vapid_for_sending(session),
        "push_ttl": ttl,
        "push_urgency": urgency,
    }


def _record(session_factory: SessionFactory, content: Content, outcomes: Mapping[int, Outcome]) -> None:
    """Write the outcomes of a page in few statements: one UPDATE per (state, via, reason, ref) group."""
    now = utcnow()
    settings = get_settings()
    groups: dict[tuple[str, str, str, str], list[int]] = defaultdict(list)
    for delivery_id, outcome in outcomes.items():
        ref = outcome.provider_ref if outcome.via in ("wechat_mass", "wechat_template") else ""
        groups[(outcome.state, outcome.via, outcome.reason, ref)].append(delivery_id)
    per_row_refs = {d: o.provider_ref for d, o in outcomes.items() if o.provider_ref and o.via not in ("wechat_mass",)}
    with session_factory() as session:
        for (state, via, reason, ref), ids in groups.items():
            for start in range(0, len(ids), UPDATE_CHUNK):
                _update(
                    session,
                    ids[start : start + UPDATE_CHUNK],
                    state,
                    via,
                    reason,
                    ref,
                    now,
                    settings.bulletin_max_attempts,
                )
        if per_row_refs and len(per_row_refs) <= 5000:
            session.execute(
                update(BulletinDelivery),
                [{"id": d, "provider_ref": ref[:100]} for d, ref in per_row_refs.items()],
            )
        _after_outcomes(session, content, outcomes)
        session.commit()


def _update(
    session: Session, ids: list[int], state: str, via: str, reason: str, ref: str, now: dt.datetime, max_attempts: int
) -> None:
    values: dict[str, Any] = {"via": via, "reason": reason, "attempts": BulletinDelivery.attempts + 1}
    if state == DeliveryState.SENT:
        values.update(state=DeliveryState.SENT, sent_at=now, provider_ref=ref)
    elif state == DeliveryState.RETRY:
        values.update(state=DeliveryState.RETRY, next_attempt_at=now + dt.timedelta(seconds=RETRY_BASE_SECONDS))
    else:
        values.update(state=DeliveryState.FAILED)
    base = update(BulletinDelivery).where(BulletinDelivery.id.in_(ids), BulletinDelivery.state.in_(DeliveryState.OPEN))
    session.execute(base.values(**values), execution_options={"synchronize_session": False})
    if state == DeliveryState.RETRY:
        # Past the allowed attempts a temporary failure is final; retries back off exponentially until then.
        session.execute(
            update(BulletinDelivery)
            .where(BulletinDelivery.id.in_(ids), BulletinDelivery.attempts >= max_attempts)
            .values(state=DeliveryState.FAILED, reason=f"gave up after {max_attempts} attempts: {reason}"[:200])
            .execution_options(synchronize_session=False)
        )


def _after_outcomes(session: Session, content: Content, outcomes: Mapping[int, Outcome]) -> None:
    bulletin = session.get_one(Bulletin, content.bulletin_id)
    _note_mass_sends(session, content, outcomes)
    if content.push_targets:
        _note_push_outcomes(session, content, outcomes)
    if any("wechat_token_rejected" in o.reason for o in outcomes.values()) and content.wechat_token:
        from wenzheng.channels.wechat.tokens import invalidate_token

        invalidate_token(session, session.get_one(Account, content.account_id), content.wechat_token)
    if any(o.state == DeliveryState.RETRY for o in outcomes.values()):
        attempts = session.scalar(
            select(func.min(BulletinDelivery.attempts)).where(
                BulletinDelivery.bulletin_id == bulletin.id, BulletinDelivery.state == DeliveryState.RETRY
            )
        )
        delay = RETRY_BASE_SECONDS * 2 ** max(0, int(attempts or 1) - 1)
        session.execute(
            update(BulletinDelivery)
            .where(BulletinDelivery.bulletin_id == bulletin.id, BulletinDelivery.state == DeliveryState.RETRY)
            .values(next_attempt_at=utcnow() + dt.timedelta(seconds=delay))
            .execution_options(synchronize_session=False)
        )
        queue.enqueue(
            session,
            "bulletins.retry",
            {"bulletin_id": bulletin.id},
            agency_id=bulletin.agency_id,
            run_after=utcnow() + dt.timedelta(seconds=delay),
        )


def _note_mass_sends(session: Session, content: Content, outcomes: Mapping[int, Outcome]) -> None:
    """A row per mass send WeChat took (its msg_id), for its MASSSENDJOBFINISH count to land on."""
    from wenzheng.channels.wechat.outbound import schedule_mass_check

    handed: dict[str, int] = defaultdict(int)
    for outcome in outcomes.values():
        if outcome.via == "wechat_mass" and outcome.state == DeliveryState.SENT and outcome.provider_ref:
            handed[outcome.provider_ref] += 1
    if not handed:
        return
    known = set(
        session.scalars(
            select(BulletinWeChatReport.msg_id).where(
                BulletinWeChatReport.account_id == content.account_id, BulletinWeChatReport.msg_id.in_(list(handed))
            )
        )
    )
    listed = content.wechat_mode != WeChatMode.MASS_ALL  # a sendall reaches everyone, not a count we handed over
    account = session.get_one(Account, content.account_id)
    for msg_id, count in handed.items():
        if msg_id not in known:
            session.add(
                BulletinWeChatReport(
                    bulletin_id=content.bulletin_id,
                    account_id=content.account_id,
                    msg_id=msg_id[:64],
                    handed=count if listed else 0,
                )
            )
            if listed:  # the sendall's own check was scheduled when WeChat took it (outbound.submit_mass_send)
                schedule_mass_check(session, account, msg_id[:64])


def _note_push_outcomes(session: Session, content: Content, outcomes: Mapping[int, Outcome]) -> None:
    """Dead subscriptions are pruned (their followers unfollowed); the others remember success or failure."""
    from wenzheng.bulletins import webpush

    pushed = {d: o for d, o in outcomes.items() if o.via == "webpush"}
    rows = session.execute(
        select(BulletinDelivery.id, BulletinDelivery.follower_id).where(BulletinDelivery.id.in_(list(pushed)))
    )
    followers: dict[int, int] = {delivery_id: follower_id for delivery_id, follower_id in rows}
    by_state: dict[str, list[int]] = defaultdict(list)
    for delivery_id, outcome in pushed.items():
        follower_id = followers.get(delivery_id)
        target = content.push_targets.get(follower_id) if follower_id is not None else None
        if target is None:
            continue
        kind = "gone" if outcome.reason.startswith("gone:") else outcome.state
        by_state[kind].append(target.subscription_id if kind != "gone" else follower_id or 0)
    webpush.prune_followers(session, by_state["gone"])
    webpush.record_success(session, by_state[DeliveryState.SENT])
    webpush.record_failure(session, by_state[DeliveryState.RETRY] + by_state[DeliveryState.FAILED])


@task("bulletins.finish")
def finish(session: Session, job: Job) -> None:
    finish_if_done(session, int(job.payload["bulletin_id"]))


def finish_if_done(session: Session, bulletin_id: int) -> bool:
    """Mark the bulletin sent once it is fully expanded and no delivery is open; True when it did."""
    bulletin = session.get(Bulletin, bulletin_id)
    progress = session.get(BulletinFanout, bulletin_id)
    if bulletin is None or progress is None or bulletin.state != BulletinState.SENDING or not progress.expanded:
        return False
    open_left = session.scalar(
        select(func.count(BulletinDelivery.id)).where(
            BulletinDelivery.bulletin_id == bulletin_id, BulletinDelivery.state.in_(DeliveryState.OPEN)
        )
    )
    if open_left:
        return False
    bulletin.state = BulletinState.SENT
    bulletin.finished_at = utcnow()
    record_audit(
        session,
        FANOUT,
        "system:bulletin:sent",
        agency_id=bulletin.agency_id,
        subject_type="bulletin",
        subject_id=bulletin.id,
        data={"deliveries": delivery_counts(session, bulletin.id)},
    )
    return True


@task("bulletins.start_due")
def start_due(session: Session, job: Job) -> None:
    from wenzheng.bulletins.actions import start_due_bulletins

    start_due_bulletins(session)


def delivery_counts(session: Session, bulletin_id: int) -> dict[str, dict[str, int]]:
    """Deliveries by channel and state: {"wechat": {"sent": 10, "failed": 1}, ...}."""
    rows = session.execute(
        select(BulletinDelivery.channel, BulletinDelivery.state, func.count(BulletinDelivery.id))
        .where(BulletinDelivery.bulletin_id == bulletin_id)
        .group_by(BulletinDelivery.channel, BulletinDelivery.state)
    ).all()
    counts: dict[str, dict[str, int]] = defaultdict(dict)
    for channel, state, count in rows:
        counts[channel][state] = int(count)
    return dict(counts)


__all__ = ["BulletinKind", "FollowerState", "delivery_counts", "expand_page", "finish_if_done"]
