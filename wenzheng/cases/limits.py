"""Public time limits, in the spirit of the 12345 hotline rules: a P0 is acknowledged by a person within
10 minutes; consultations and help requests are answered within 3 working days; complaints and the rest
within 15 working days. Working days are counted in the agency's time zone: Monday to Friday, less the
agency's holidays, plus its make-up working days on weekends (调休) — its ``WorkingCalendar``."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

# A P0 must be taken up — acknowledged by a person (cases.acknowledge) — within this; until then it escalates.
P0_LIMIT = dt.timedelta(minutes=10)
P0_ACKNOWLEDGE_WITHIN = P0_LIMIT
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


@dataclass(frozen=True)
class WorkingCalendar:
    """An agency's exceptions to the Monday–Friday week (see cases.calendar for where they are kept)."""

    holidays: frozenset[dt.date] = frozenset()
    working_weekends: frozenset[dt.date] = frozenset()

    def is_working_day(self, day: dt.date) -> bool:
        if day in self.holidays:
            return False
        return day.weekday() < 5 or day in self.working_weekends


WEEKDAYS_ONLY = WorkingCalendar()


def due_at(
    *,
    urgency: str | None,
    intent: str | None,
    opened_at: dt.datetime,
    timezone: str,
    calendar: WorkingCalendar = WEEKDAYS_ONLY,
) -> dt.datetime:
    """The case's next limit: a P0's acknowledgement, else its answer."""
    if urgency == "P0":
        return opened_at + P0_ACKNOWLEDGE_WITHIN
    return answer_due_at(intent=intent, opened_at=opened_at, timezone=timezone, calendar=calendar)


def answer_due_at(
    *, intent: str | None, opened_at: dt.datetime, timezone: str, calendar: WorkingCalendar = WEEKDAYS_ONLY
) -> dt.datetime:
    """When the answer is due, by intent, in working days (also a P0's limit once it is acknowledged)."""
    days = WORKING_DAYS_BY_INTENT.get(intent or "", DEFAULT_WORKING_DAYS)
    return add_working_days(opened_at, days, timezone, calendar)


def add_working_days(
    start: dt.datetime, days: int, timezone: str, calendar: WorkingCalendar = WEEKDAYS_ONLY
) -> dt.datetime:
    """The end (23:59:59 local) of the ``days``-th working day after ``start``."""
    local = start.astimezone(ZoneInfo(timezone))
    day = local.date()
    while days > 0:
        day += dt.timedelta(days=1)
        if calendar.is_working_day(day):
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
