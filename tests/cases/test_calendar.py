"""Each agency's working-day calendar: holidays and make-up working days (调休), managed by its admins, counted
by the public time limits."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.cases.helpers import write_in
from tests.factories import create_tenant, login
from wenzheng.audit.models import AuditEvent
from wenzheng.cases.calendar import calendar_of, parse_days
from wenzheng.cases.limits import WorkingCalendar, add_working_days
from wenzheng.cases.models import CalendarException
from wenzheng.demo import CHINA_2026_HOLIDAYS, CHINA_2026_WORKING_WEEKENDS
from wenzheng.errors import InvalidInput

SHANGHAI = "Asia/Shanghai"
NATIONAL_DAY_2026 = WorkingCalendar(
    holidays=frozenset(d.day for d in parse_days("2026-10-01~2026-10-07 国庆节")),
    working_weekends=frozenset({dt.date(2026, 9, 20), dt.date(2026, 10, 10)}),
)


def test_holidays_are_skipped_and_make_up_days_count() -> None:
    eve = dt.datetime(2026, 9, 30, 4, 0, tzinfo=dt.UTC)  # Wednesday noon in Beijing, the eve of the holiday
    assert add_working_days(eve, 3, SHANGHAI) == dt.datetime(2026, 10, 5, 15, 59, 59, tzinfo=dt.UTC)
    # Thursday 8th, Friday 9th, and Saturday 10th — a make-up working day.
    assert add_working_days(eve, 3, SHANGHAI, NATIONAL_DAY_2026) == dt.datetime(2026, 10, 10, 15, 59, 59, tzinfo=dt.UTC)
    friday = dt.datetime(2026, 9, 18, 4, 0, tzinfo=dt.UTC)
    assert add_working_days(friday, 1, SHANGHAI, NATIONAL_DAY_2026).date() == dt.date(2026, 9, 20)  # a Sunday


def test_pasted_dates_with_ranges_labels_and_chinese_dates() -> None:
    days = parse_days("2026-10-01~2026-10-03 国庆节\n\n2026年9月20日 调休上班\n2026/02/14")
    assert [(d.day.isoformat(), d.label) for d in days] == [
        ("2026-10-01", "国庆节"),
        ("2026-10-02", "国庆节"),
        ("2026-10-03", "国庆节"),
        ("2026-09-20", "调休上班"),
        ("2026-02-14", ""),
    ]
    for bad, code in (
        ("国庆节 2026-10-01", "invalid_date"),
        ("2026-02-30", "invalid_date"),
        ("2026-10-07~2026-10-01", "invalid_range"),
        ("2026-01-01~2026-03-01", "invalid_range"),
    ):
        with pytest.raises(InvalidInput) as raised:
            parse_days(bad)
        assert raised.value.code == code, bad


def test_the_demo_calendar_is_china_2026() -> None:
    holidays = parse_days(CHINA_2026_HOLIDAYS)
    make_up = parse_days(CHINA_2026_WORKING_WEEKENDS)
    assert len(holidays) == 3 + 9 + 3 + 5 + 3 + 3 + 7
    assert {d.day.weekday() for d in make_up} <= {5, 6}, "make-up working days fall on weekends"
    assert not {d.day for d in make_up} & {d.day for d in holidays}
    spring = [d.day for d in holidays if d.label == "春节"]
    assert (spring[0], spring[-1]) == (dt.date(2026, 2, 15), dt.date(2026, 2, 23))


def test_admins_paste_holidays_and_new_cases_count_them(client: TestClient, db: Session) -> None:
    tenant = create_tenant(db, "cal")
    before, _ = write_in(client, db, tenant, "请问低保怎么申请？", kind="consultation")
    assert before.due_at is not None
    today = dt.datetime.now(ZoneInfo(SHANGHAI)).date()
    first, last = today + dt.timedelta(days=1), today + dt.timedelta(days=20)
    csrf_token = login(client, tenant.admin.username)
    saved = client.post(
        f"/console/agencies/{tenant.agency.id}/calendar",
        data={"csrf_token": csrf_token, "kind": "holiday", "days": f"{first.isoformat()}~{last.isoformat()} 长假"},
        follow_redirects=False,
    )
    assert saved.status_code == 303 and "count=20" in saved.headers["location"]
    page = client.get(f"/console/agencies/{tenant.agency.id}/calendar").text
    assert first.isoformat() in page and "长假" in page
    after, _ = write_in(client, db, tenant, "请问公积金怎么提取？", kind="consultation")
    assert after.due_at is not None
    local_due = after.due_at.astimezone(ZoneInfo(SHANGHAI)).date()
    assert local_due > last, "the three working days start after the twenty days off"
    expected = add_working_days(after.created_at, 3, SHANGHAI, calendar_of(db, tenant.agency.id))
    assert local_due == expected.astimezone(ZoneInfo(SHANGHAI)).date()
    assert before.due_at.astimezone(ZoneInfo(SHANGHAI)).date() <= first + dt.timedelta(days=5)
    audit = db.execute(select(AuditEvent).where(AuditEvent.action == "console:calendar:set")).scalar_one()
    assert audit.agency_id == tenant.agency.id and audit.data["count"] == 20


def test_a_weekend_becomes_a_working_day_and_back(client: TestClient, db: Session) -> None:
    tenant = create_tenant(db, "cal2")
    csrf_token = login(client, tenant.admin.username)
    url = f"/console/agencies/{tenant.agency.id}/calendar"
    client.post(url, data={"csrf_token": csrf_token, "kind": "holiday", "days": "2026-09-20"})
    client.post(url, data={"csrf_token": csrf_token, "kind": "working", "days": "2026-09-20 调休上班"})
    row = db.execute(select(CalendarException)).scalar_one()  # replaced, not doubled
    assert (row.day, row.working, row.label) == (dt.date(2026, 9, 20), True, "调休上班")
    assert calendar_of(db, tenant.agency.id).is_working_day(dt.date(2026, 9, 20))
    removed = client.post(f"{url}/remove", data={"csrf_token": csrf_token, "day": "2026-09-20"}, follow_redirects=False)
    assert removed.status_code == 303
    assert db.execute(select(CalendarException)).first() is None
    assert not calendar_of(db, tenant.agency.id).is_working_day(dt.date(2026, 9, 20))  # the cache was dropped
    again = client.post(f"{url}/remove", data={"csrf_token": csrf_token, "day": "2026-09-20"})
    assert again.status_code == 404
    actions = db.execute(select(AuditEvent.action).where(AuditEvent.action.like("console:calendar:%"))).scalars()
    assert sorted(actions) == ["console:calendar:remove", "console:calendar:set", "console:calendar:set"]


def test_operators_see_the_calendar_but_only_admins_change_it(client: TestClient, db: Session) -> None:
    tenant = create_tenant(db, "cal3")
    csrf_token = login(client, tenant.operator.username)
    page = client.get(f"/console/agencies/{tenant.agency.id}/calendar")
    assert page.status_code == 200 and 'name="days"' not in page.text
    refused = client.post(
        f"/console/agencies/{tenant.agency.id}/calendar",
        data={"csrf_token": csrf_token, "kind": "holiday", "days": "2026-10-01"},
    )
    assert refused.status_code == 403
    assert db.execute(select(CalendarException)).first() is None
