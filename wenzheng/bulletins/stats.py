"""How a bulletin's sending went: progress for the list and the live bar, sends over time, failure reasons.

Read-only queries over ``bulletin_deliveries``, grouped in the database so a bulletin to a million followers
costs a handful of rows here. They work the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import BigInteger, ColumnElement, Integer, case, cast, extract, func, select
from sqlalchemy.orm import Session

from wenzheng.bulletins.models import Bulletin, BulletinDelivery, BulletinWeChatReport, DeliveryState
from wenzheng.bulletins.refusals import is_refusal

# Bucket widths for the chart: seconds for a short run, minutes for a long one, hours for a very long one.
BUCKET_SECONDS = ((10 * 60, 1), (10 * 3600, 60))
LONGEST_BUCKET = 3600
CLOSED = (DeliveryState.SENT, DeliveryState.FAILED, DeliveryState.CANCELLED)


@dataclass(frozen=True)
class Progress:
    """Where a bulletin's sending stands: deliveries by channel and state, and the totals the bar shows."""

    state: str
    counts: dict[str, dict[str, int]]
    expected: int  # the audience counted at approval, or the deliveries recorded when more
    recorded: int
    sent: int
    failed: int
    closed: int  # sent, failed or cancelled: nothing more will happen to these

    @property
    def percent(self) -> int:
        return min(100, round(100 * self.closed / self.expected)) if self.expected else 0


@dataclass(frozen=True)
class SentSeries:
    """Cumulative sends per time bucket: ``points`` are (bucket start, sent by the end of that bucket)."""

    bucket_seconds: int
    points: list[tuple[dt.datetime, int]]

    @property
    def total(self) -> int:
        return self.points[-1][1] if self.points else 0


def progress_of(session: Session, bulletin: Bulletin) -> Progress:
    from wenzheng.bulletins.fanout import delivery_counts

    counts = delivery_counts(session, bulletin.id)
    by_state: dict[str, int] = {}
    for states in counts.values():
        for state, count in states.items():
            by_state[state] = by_state.get(state, 0) + count
    recorded = sum(by_state.values())
    return Progress(
        state=bulletin.state,
        counts=counts,
        expected=max(bulletin.audience_count or 0, recorded),
        recorded=recorded,
        sent=by_state.get(DeliveryState.SENT, 0),
        failed=by_state.get(DeliveryState.FAILED, 0),
        closed=sum(by_state.get(state, 0) for state in CLOSED),
    )


def sent_and_recorded(session: Session, bulletin_ids: Sequence[int]) -> dict[int, tuple[int, int]]:
    """For each bulletin: (deliveries sent, deliveries recorded), in one grouped query (the list page)."""
    if not bulletin_ids:
        return {}
    is_sent = func.sum(case((BulletinDelivery.state == DeliveryState.SENT, 1), else_=0))
    rows = session.execute(
        select(BulletinDelivery.bulletin_id, is_sent, func.count(BulletinDelivery.id))
        .where(BulletinDelivery.bulletin_id.in_(list(bulletin_ids)))
        .group_by(BulletinDelivery.bulletin_id)
    ).all()
    return {int(bulletin_id): (int(sent or 0), int(total)) for bulletin_id, sent, total in rows}


def sent_over_time(session: Session, bulletin_id: int) -> SentSeries:
    """Sends counted per second (short runs), minute or hour (long runs), cumulated, for the chart."""
    first, last = session.execute(
        select(func.min(BulletinDelivery.sent_at), func.max(BulletinDelivery.sent_at)).where(
            BulletinDelivery.bulletin_id == bulletin_id, BulletinDelivery.state == DeliveryState.SENT
        )
    ).one()
    if first is None or last is None:
        return SentSeries(1, [])
    width = bucket_width(_as_utc(last) - _as_utc(first))
    bucket = (_epoch_seconds(session) // width) * width
    rows = session.execute(
        select(bucket.label("bucket"), func.count(BulletinDelivery.id))
        .where(BulletinDelivery.bulletin_id == bulletin_id, BulletinDelivery.state == DeliveryState.SENT)
        .where(BulletinDelivery.sent_at.is_not(None))
        .group_by("bucket")
        .order_by("bucket")
    ).all()
    points: list[tuple[dt.datetime, int]] = []
    running = 0
    for start, count in rows:
        running += int(count)
        points.append((dt.datetime.fromtimestamp(int(start), dt.UTC), running))
    return SentSeries(width, points)


def bucket_width(span: dt.timedelta) -> int:
    """The bucket in seconds for a run lasting ``span``: 1 up to ten minutes, 60 up to ten hours, else 3600."""
    seconds = span.total_seconds()
    return next((width for longest, width in BUCKET_SECONDS if seconds <= longest), LONGEST_BUCKET)


def failure_reasons(session: Session, bulletin_id: int, *, limit: int = 20) -> list[tuple[str, int]]:
    """Why deliveries failed (or wait for a retry), the most common reason first."""
    count = func.count(BulletinDelivery.id)
    rows = session.execute(
        select(BulletinDelivery.reason, count)
        .where(
            BulletinDelivery.bulletin_id == bulletin_id,
            BulletinDelivery.state.in_((DeliveryState.FAILED, DeliveryState.RETRY)),
        )
        .group_by(BulletinDelivery.reason)
        .order_by(count.desc(), BulletinDelivery.reason)
        .limit(limit)
    ).all()
    return [(reason or "", int(n)) for reason, n in rows]


def _epoch_seconds(session: Session) -> ColumnElement[int]:
    """Whole seconds since 1970 of ``sent_at``: SQLite keeps naive UTC text, PostgreSQL a timestamptz."""
    if session.get_bind().dialect.name == "sqlite":
        return cast(func.strftime("%s", BulletinDelivery.sent_at), Integer)
    return cast(func.floor(extract("epoch", BulletinDelivery.sent_at)), BigInteger)


def _as_utc(value: dt.datetime) -> dt.datetime:
    # min()/max() come back without the column's type on SQLite: a naive UTC datetime or its text.
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


@dataclass(frozen=True)
class WeChatReport:
    """What WeChat itself reported for a bulletin's mass sends (MASSSENDJOBFINISH), summed."""

    sends: int  # mass sends WeChat took
    reported: int  # of which it has reported
    handed: int  # OpenIDs handed over in the list sends
    total: int
    sent: int
    filtered: int  # targeted, but filtered out by WeChat (the follower refuses mass messages, or got 4 this month)
    errors: int
    refusals: tuple[str, ...] = ()  # the statuses of the sends WeChat refused whole ("err(10001)", "send fail")
    uncounted: int = 0  # reported by asking WeChat (/message/mass/get), which gives no numbers


def wechat_report(session: Session, bulletin_id: int) -> WeChatReport | None:
    """None when the bulletin went through no mass send."""
    row = session.execute(
        select(
            func.count(BulletinWeChatReport.id),
            func.count(BulletinWeChatReport.finished_at),
            func.coalesce(func.sum(BulletinWeChatReport.handed), 0),
            func.coalesce(func.sum(BulletinWeChatReport.total_count), 0),
            func.coalesce(func.sum(BulletinWeChatReport.filter_count), 0),
            func.coalesce(func.sum(BulletinWeChatReport.sent_count), 0),
            func.coalesce(func.sum(BulletinWeChatReport.error_count), 0),
        ).where(BulletinWeChatReport.bulletin_id == bulletin_id)
    ).one()
    sends, reported, handed, total, kept, sent, errors = (int(v or 0) for v in row)
    if not sends:
        return None
    finished = session.execute(
        select(BulletinWeChatReport.status, BulletinWeChatReport.total_count).where(
            BulletinWeChatReport.bulletin_id == bulletin_id, BulletinWeChatReport.finished_at.is_not(None)
        )
    ).all()
    refusals = tuple(dict.fromkeys(status for status, _ in finished if is_refusal(status)))
    uncounted = sum(1 for _, counted in finished if counted is None)
    # WeChat's FilterCount is what is left to send after its filters; what they took out is the difference.
    filtered = max(0, total - kept) if reported else 0
    return WeChatReport(sends, reported, handed, total, sent, filtered, errors, refusals, uncounted)
