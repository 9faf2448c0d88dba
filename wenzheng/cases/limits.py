"""Public time limits, in the spirit of the 12345 hotline rules: a P0 is taken up by a person within
10 minutes; consultations and help requests are answered within 3 working days; complaints and the rest
within 15 working days. Working days are counted in the agency's time zone, Monday to Friday."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

P0_LIMIT = dt.timedelta(minutes=10)
WORKING_DAYS_BY_INTENT = {
    "rescue": 3,
    "help": 3,
    "missing_person": 3,
    "consultation": 3,
    "complaint": 15,
    "suggestion": 15,
    "report": 15,
    "offer": 15,
    "sympathy": 15,
    "other": 15,
}
DEFAULT_WORKING_DAYS = 15
SOON = dt.timedelta(hours=4)  # "near its limit": highlighted before it is late


def due_at(*, urgency: str | None, intent: str | None, opened_at: dt.datetime, timezone: str) -> dt.datetime:
    if urgency == "P0":
        return opened_at + P0_LIMIT
    days = WORKING_DAYS_BY_INTENT.get(intent or "", DEFAULT_WORKING_DAYS)
    return add_working_days(opened_at, days, timezone)


def add_working_days(start: dt.datetime, days: int, timezone: str) -> dt.datetime:
    """The end (23:59:59 local) of the ``days``-th working day after ``start``."""
    local = start.astimezone(ZoneInfo(timezone))
    day = local.date()
    while days > 0:
        day += dt.timedelta(days=1)
        if day.weekday() < 5:
            days -= 1
    end = dt.datetime.combine(day, dt.time(23, 59, 59), tzinfo=ZoneInfo(timezone))
    return end.astimezone(dt.UTC)


def deadline_state(due: dt.datetime | None, now: dt.datetime) -> str:
    """'overdue', 'soon' or '' — what the queue highlights."""
    if due is None:
        return ""
    if due <= now:
        return "overdue"
    return "soon" if due - now <= SOON else ""
