"""Each agency's working-day calendar: its holidays and make-up working days (调休), kept as dated exceptions
to the Monday–Friday week and managed by its admins. The public time limits (cases.limits) count with it.

Limits are computed on the hot path of triage (every new case), so a process keeps each agency's calendar
in memory: loaded with one query, dropped when this process changes it, and reloaded after
``CACHE_SECONDS`` so that a change made through another process is seen within minutes.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
import time
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from wenzheng.audit.actions import record_audit
from wenzheng.cases.limits import WorkingCalendar
from wenzheng.cases.models import CalendarException
from wenzheng.errors import InvalidInput, NotFound
from wenzheng.staff.actor import Actor
from wenzheng.staff.roles import Role
from wenzheng.validation import clean_text

CACHE_SECONDS = 300.0
MAX_DAYS_PER_PASTE = 400
MAX_RANGE_DAYS = 31
EARLIEST, LATEST = dt.date(2000, 1, 1), dt.date(2100, 12, 31)

_cache: dict[int, tuple[float, WorkingCalendar]] = {}
_cache_lock = threading.Lock()


def calendar_of(session: Session, agency_id: int) -> WorkingCalendar:
    """The agency's working calendar, from this process's cache or one query."""
    with _cache_lock:
        cached = _cache.get(agency_id)
    if cached is not None and time.monotonic() - cached[0] < CACHE_SECONDS:
        return cached[1]
    rows = session.execute(
        select(CalendarException.day, CalendarException.working).where(CalendarException.agency_id == agency_id)
    ).all()
    calendar = WorkingCalendar(
        holidays=frozenset(day for day, working in rows if not working),
        working_weekends=frozenset(day for day, working in rows if working),
    )
    with _cache_lock:
        _cache[agency_id] = (time.monotonic(), calendar)
    return calendar


def forget_calendars(agency_id: int | None = None) -> None:
    """Drop cached calendars: one agency's after it changed, or all of them (tests)."""
    with _cache_lock:
        if agency_id is None:
            _cache.clear()
        else:
            _cache.pop(agency_id, None)


def exceptions_of_agency(session: Session, actor: Actor, agency_id: int) -> list[CalendarException]:
    actor.require_role(agency_id, Role.VIEWER)
    return list(
        session.execute(
            select(CalendarException).where(CalendarException.agency_id == agency_id).order_by(CalendarException.day)
        ).scalars()
    )


@dataclass(frozen=True)
class CalendarDay:
    day: dt.date
    label: str = ""


_DATE = r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?"
_LINE = re.compile(rf"^{_DATE}(?:\s*(?:~|～|\.\.|至|到|—|–)\s*{_DATE})?\s*(.*)$")


def parse_days(text: str) -> list[CalendarDay]:
    """Dates pasted one per line, each optionally a range and a label:
    ``2026-10-01`` · ``2026-10-01 国庆节`` · ``2026-10-01~2026-10-07 国庆节`` · ``2026年9月20日 补班``."""
    days: list[CalendarDay] = []
    for number, line in enumerate((raw.strip() for raw in text.splitlines()), start=1):
        if not line:
            continue
        match = _LINE.match(line)
        if match is None:
            raise InvalidInput(
                f"Line {number} ({line[:40]!r}) does not start with a date such as 2026-10-01.",
                code="invalid_date",
                details={"line": number},
            )
        first = _date(match.group(1, 2, 3), number)
        last = _date(match.group(4, 5, 6), number) if match.group(4) else first
        label = clean_text(match.group(7), field="label", max_length=100, required=False)
        days.extend(CalendarDay(day, label) for day in _range(first, last, number))
    if len(days) > MAX_DAYS_PER_PASTE:
        raise InvalidInput(f"Paste at most {MAX_DAYS_PER_PASTE} days at a time.", code="too_many_days")
    return days


def _date(parts: tuple[str | None, ...], line: int) -> dt.date:
    try:
        day = dt.date(*(int(p or "") for p in parts))
    except ValueError as exc:
        raise InvalidInput(f"Line {line} has no such date.", code="invalid_date", details={"line": line}) from exc
    if not EARLIEST <= day <= LATEST:
        raise InvalidInput(f"Line {line}: give a date between 2000 and 2100.", code="invalid_date")
    return day


def _range(first: dt.date, last: dt.date, line: int) -> list[dt.date]:
    length = (last - first).days + 1
    if not 1 <= length <= MAX_RANGE_DAYS:
        raise InvalidInput(
            f"Line {line}: a range runs forward and spans at most {MAX_RANGE_DAYS} days.", code="invalid_range"
        )
    return [first + dt.timedelta(days=n) for n in range(length)]


def do_set_calendar_days(
    session: Session, actor: Actor, agency_id: int, days: list[CalendarDay], *, working: bool
) -> int:
    """Mark days as holidays (``working=False``) or make-up working days, replacing what a day was before."""
    actor.require_role(agency_id, Role.ADMIN)
    if not days:
        raise InvalidInput("Give at least one date.", code="field_required", details={"field": "days"})
    wanted = {d.day: d.label for d in days}
    existing = {
        row.day: row
        for row in session.execute(
            select(CalendarException).where(
                CalendarException.agency_id == agency_id, CalendarException.day.in_(list(wanted))
            )
        ).scalars()
    }
    for day, label in wanted.items():
        row = existing.get(day) or CalendarException(agency_id=agency_id, day=day)
        row.working, row.label = working, label
        session.add(row)
    record_audit(
        session,
        actor,
        "console:calendar:set",
        agency_id=agency_id,
        subject_type="agency",
        subject_id=agency_id,
        data={"working": working, "count": len(wanted), "days": [d.isoformat() for d in sorted(wanted)][:100]},
    )
    session.commit()
    forget_calendars(agency_id)
    return len(wanted)


def do_remove_calendar_day(session: Session, actor: Actor, agency_id: int, day: dt.date) -> None:
    """The day goes back to what its weekday makes it."""
    actor.require_role(agency_id, Role.ADMIN)
    row = session.execute(
        select(CalendarException).where(CalendarException.agency_id == agency_id, CalendarException.day == day)
    ).scalar_one_or_none()
    if row is None:
        raise NotFound(f"{day.isoformat()} is not in this agency's calendar.", code="unknown_day")
    session.delete(row)
    record_audit(
        session,
        actor,
        "console:calendar:remove",
        agency_id=agency_id,
        subject_type="agency",
        subject_id=agency_id,
        data={"day": day.isoformat()},
    )
    session.commit()
    forget_calendars(agency_id)


def parse_day(value: str) -> dt.date:
    """One date from a form field."""
    days = parse_days(value.strip().splitlines()[0] if value.strip() else "")
    if len(days) != 1:
        raise InvalidInput("Give one date, such as 2026-10-01.", code="invalid_date")
    return days[0].day
