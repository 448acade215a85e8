"""Deadlines to the minute across weekends, public holidays and 调休 make-up workdays (2026)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from cases.worktime import CST, Calendar, CalendarError

CAL = Calendar.shipped()


def t(*args: int) -> datetime:
    return datetime(*args, tzinfo=CST)


@pytest.mark.parametrize(("start", "value", "unit", "due"), [
    # inside one working period
    (t(2026, 11, 26, 9, 0), 2, "working_hours", t(2026, 11, 26, 11, 0)),
    # across the lunch break: 11:30 + 1 h = 12:00 + 30 min after 14:00
    (t(2026, 11, 26, 11, 30), 1, "工作时", t(2026, 11, 26, 14, 30)),
    # across a weekend: Friday 16:20 + 4 h → Monday 10:20
    (t(2026, 11, 27, 16, 20), 4, "working_hours", t(2026, 11, 30, 10, 20)),
    # started in the evening: the clock waits for the next working morning
    (t(2026, 11, 26, 20, 0), 1, "working_hours", t(2026, 11, 27, 9, 0)),
    # across National Day (Oct 1–7): Wednesday Sep 30 17:00 + 4 h → Thursday Oct 8 11:00
    (t(2026, 9, 30, 17, 0), 4, "working_hours", t(2026, 10, 8, 11, 0)),
    # onto the 调休 Saturday Oct 10: Friday Oct 9 17:00 + 2 h → Saturday 09:00
    (t(2026, 10, 9, 17, 0), 2, "working_hours", t(2026, 10, 10, 9, 0)),
    # the 调休 Sunday Sep 20 is a working day; Saturday Sep 19 is not
    (t(2026, 9, 18, 17, 0), 3, "working_hours", t(2026, 9, 20, 10, 0)),
    # Spring Festival: Feb 13 (Fri) 17:00 + 1 h → Sat Feb 14 is a 调休 workday → 08:00
    (t(2026, 2, 13, 17, 0), 1, "working_hours", t(2026, 2, 13, 18, 0)),
    (t(2026, 2, 13, 17, 30), 1, "working_hours", t(2026, 2, 14, 8, 30)),
    # and then nine days off: Sat Feb 14 17:00 + 2 h → Tue Feb 24 09:00
    (t(2026, 2, 14, 17, 0), 2, "working_hours", t(2026, 2, 24, 9, 0)),
    # working days: same clock time N working days later
    (t(2026, 11, 27, 16, 0), 1, "working_days", t(2026, 11, 30, 16, 0)),
    (t(2026, 9, 29, 10, 0), 2, "工作日", t(2026, 10, 8, 10, 0)),
    (t(2026, 4, 3, 15, 0), 1, "working_days", t(2026, 4, 7, 15, 0)),      # Qingming Apr 4–6
    # continuous clocks ignore the calendar
    (t(2026, 10, 1, 23, 0), 2, "紧急工作时", t(2026, 10, 2, 1, 0)),
    (t(2026, 10, 1, 23, 0), 3, "natural_days", t(2026, 10, 4, 23, 0)),
])
def test_due(start, value, unit, due):
    assert CAL.due(start, value, unit) == due


def test_a_working_day_is_the_working_periods_long():
    assert CAL.day_hours == 8.0


def test_holidays_and_make_up_days():
    assert not CAL.is_workday(date(2026, 10, 1))          # National Day
    assert CAL.is_workday(date(2026, 10, 10))             # 调休 Saturday
    assert CAL.is_workday(date(2026, 2, 28))              # 调休 Saturday
    assert not CAL.is_workday(date(2026, 11, 28))         # an ordinary Saturday
    assert CAL.is_workday(date(2026, 11, 27))             # an ordinary Friday


def test_working_time_between_two_instants():
    assert CAL.working_between(t(2026, 11, 27, 16, 20), t(2026, 11, 30, 10, 20)) == \
        timedelta(hours=4)
    assert CAL.working_between(t(2026, 11, 30, 10, 20), t(2026, 11, 27, 16, 20)) == \
        timedelta(hours=-4)


def test_times_from_other_zones_are_the_same_instants():
    utc = datetime(2026, 11, 27, 8, 20, tzinfo=CST.utc)       # 16:20 CST
    assert CAL.due(utc, 4, "working_hours") == t(2026, 11, 30, 10, 20)


def test_local_adjustments_override_the_national_calendar():
    cal = Calendar.shipped()
    cal.add_days([{"date": "2026-11-30", "kind": "holiday", "name": "local"}])
    assert cal.due(t(2026, 11, 27, 16, 20), 4, "working_hours") == t(2026, 12, 1, 10, 20)


@pytest.mark.parametrize(("args", "needle"), [
    ((datetime(2026, 11, 27, 16, 20), 4, "working_hours"), "timezone-aware"),
    ((t(2026, 11, 27, 16, 20), 4, "fortnights"), "^时限单位 'fortnights' 应为 紧急工作时"),
    ((t(2026, 11, 27, 16, 20), -1, "hours"), r"^时限 -1 为负数 \(time limit -1 is negative\)"),
])
def test_bad_limits(args, needle):
    with pytest.raises(CalendarError, match=needle):
        CAL.due(*args)
