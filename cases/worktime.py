"""Working time: when the clocks of a case run, and when they run out.

Two calendars run a case's clocks. The departments' (`Calendar`): the working periods of a
working day (08:00–12:00 and 14:00–18:00 by default), weekends, public holidays and 调休
make-up workdays (`cases/data/calendar/YYYY.csv`, one file a year; a city adds local
adjustments on top). The centre's duty calendar (`Calendar.duty`): its duty periods every day,
holidays included (00:00–24:00 for a centre on 7×24 duty, 08:00–20:00 for 7×12).

A calendar knows the last day its holidays are known for (`covered_until`): beyond it, days
count by weekends alone, and a deadline that falls there is provisional (`provisional`) until
the next year's schedule is loaded. Time-limit types (CJ/T 315 practice):

    hours          紧急工作时: a continuous clock, nights, weekends and holidays included
    natural_days   自然日: whole days of 24 hours
    working_hours  工作时: only inside working periods of working days
    working_days   工作日: N working days = N × the length of a working day in working time, so a
                   case dispatched at 16:00 with 1 工作日 is due at 16:00 on the next working day

Times are timezone-aware; the calendar's wall clock is China Standard Time (UTC+8, no DST).
"""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from importlib import resources

CST = timezone(timedelta(hours=8), "CST")
UNITS = ("hours", "natural_days", "working_hours", "working_days")
UNIT_NAMES = {"紧急工作时": "hours", "小时": "hours", "自然日": "natural_days",
              "天": "natural_days", "工作时": "working_hours", "工作小时": "working_hours",
              "工作日": "working_days",
              "h": "hours", "d": "natural_days", "wh": "working_hours", "wd": "working_days"}


class CalendarError(ValueError):
    pass


def parse_unit(text: str) -> str:
    key = text.strip()
    unit = key if key in UNITS else UNIT_NAMES.get(key) or UNIT_NAMES.get(key.lower())
    if unit is None:
        raise CalendarError(f"时限单位 {text!r} 应为 紧急工作时、自然日、工作时 或 工作日"
                            f"（{'、'.join(UNITS)}） (time-limit unit {text!r} is not one of "
                            f"{', '.join(UNITS)} or 紧急工作时, 工作时, 工作日, 自然日)")
    return unit


MIDNIGHT = time(0)     # as the end of a period: the end of the day (24:00)


@dataclass
class Calendar:
    periods: list[tuple[time, time]] = field(default_factory=lambda: [
        (time(8), time(12)), (time(14), time(18))])
    holidays: dict[date, str] = field(default_factory=dict)       # days off on weekdays too
    workdays: dict[date, str] = field(default_factory=dict)       # 调休: weekend days worked
    every_day: bool = False        # a duty calendar: every day is worked, holidays included
    covered_until: date | None = None   # the last day whose holidays are known

    @classmethod
    def duty(cls, periods: list[tuple[time, time]]) -> Calendar:
        """The centre's duty calendar: these periods every day ([(00:00, 24:00)]: 7×24)."""
        return cls(periods=periods, every_day=True)

    @classmethod
    def shipped(cls) -> Calendar:
        """The calendar files shipped with citygrid (all years)."""
        cal = cls(periods=_periods(_read("working_periods.csv")))
        names = sorted(p.name for p in resources.files("cases").joinpath(
            "data", "calendar").iterdir() if p.name.endswith(".csv"))
        for name in names:
            cal.add_days(_rows(_read(f"calendar/{name}")))
        cal.covered_until = covered_until(int(n[:4]) for n in names if n[:4].isdigit())
        return cal

    def add_days(self, rows: Iterable[dict[str, str]]) -> None:
        for r in rows:
            day = date.fromisoformat(r["date"].strip())
            kind = r["kind"].strip()
            if kind == "holiday":
                self.holidays[day] = r.get("name", "")
                self.workdays.pop(day, None)
            elif kind == "workday":
                self.workdays[day] = r.get("name", "")
                self.holidays.pop(day, None)
            else:
                raise CalendarError(f"{day}：类型 {kind!r} 应为 holiday（节假日）或 workday"
                                    f"（调休上班） ({day}: kind {kind!r} is not holiday or "
                                    "workday)")

    @property
    def day_hours(self) -> float:
        return sum(_seconds(a, b) for a, b in self.periods) / 3600

    def is_workday(self, day: date) -> bool:
        if self.every_day:
            return True
        if day in self.workdays:
            return True
        if day in self.holidays:
            return False
        return day.weekday() < 5

    def provisional(self, moment: datetime) -> bool:
        """Whether a deadline lies beyond the days whose holidays are known (it may move when
        next year's schedule is loaded). A duty calendar knows no holidays: never."""
        if self.every_day or self.covered_until is None:
            return False
        return moment.astimezone(CST).date() > self.covered_until

    # -- deadlines -------------------------------------------------------------------------------

    def due(self, start: datetime, value: float, unit: str) -> datetime:
        """When a clock started at `start` with this limit runs out."""
        if start.tzinfo is None:
            raise CalendarError("times must be timezone-aware")
        if value < 0:
            raise CalendarError(f"时限 {value} 为负数 (time limit {value} is negative)")
        unit = parse_unit(unit)
        if unit == "hours":
            return start + timedelta(hours=value)
        if unit == "natural_days":
            return start + timedelta(days=value)
        hours = value if unit == "working_hours" else value * self.day_hours
        return self.add_working(start, timedelta(hours=hours))

    def add_working(self, start: datetime, amount: timedelta) -> datetime:
        """The instant after `amount` of working time has passed from `start`."""
        local = start.astimezone(CST)
        remaining = amount.total_seconds()
        day = local.date()
        moment = local
        for _ in range(3660):     # ten years of days: a limit beyond that is a data error
            if self.is_workday(day):
                for a, b in self.periods:
                    begin = datetime.combine(day, a, CST)
                    end = _end(day, b)
                    if end <= moment:
                        continue
                    begin = max(begin, moment)
                    available = (end - begin).total_seconds()
                    if remaining <= available:
                        return (begin + timedelta(seconds=remaining)).astimezone(start.tzinfo)
                    remaining -= available
            day += timedelta(days=1)
            moment = datetime.combine(day, time(0), CST)
        raise CalendarError("按工作日计，该时限十年内不会到期 "
                            "(the time limit does not end within ten years of working days)")

    def working_between(self, a: datetime, b: datetime) -> timedelta:
        """Working time between two instants (negative when b is before a)."""
        if b < a:
            return -self.working_between(b, a)
        total = 0.0
        la, lb = a.astimezone(CST), b.astimezone(CST)
        day = la.date()
        while day <= lb.date():
            if self.is_workday(day):
                for s, e in self.periods:
                    begin = max(datetime.combine(day, s, CST), la)
                    end = min(_end(day, e), lb)
                    if end > begin:
                        total += (end - begin).total_seconds()
            day += timedelta(days=1)
        return timedelta(seconds=total)


def covered_until(years: Iterable[int]) -> date | None:
    """The last day of the unbroken run of covered years that starts with the first."""
    known = sorted(set(years))
    if not known:
        return None
    last = known[0]
    for year in known[1:]:
        if year != last + 1:
            break
        last = year
    return date(last, 12, 31)


def _end(day: date, end: time) -> datetime:
    """The end of a period on a day; 00:00 as an end is the day's end (24:00)."""
    if end == MIDNIGHT:
        return datetime.combine(day + timedelta(days=1), MIDNIGHT, CST)
    return datetime.combine(day, end, CST)


def _seconds(a: time, b: time) -> float:
    span = (datetime.combine(date.min, b) - datetime.combine(date.min, a)).total_seconds()
    return span if b != MIDNIGHT else span + 86400


def parse_periods(text: str) -> list[tuple[time, time]]:
    """'08:00-12:00,14:00-18:00', '08:00-20:00', or '7x24' / '24h' for the whole day."""
    value = text.strip().lower().replace("×", "x").replace("：", ":")
    if value in ("7x24", "24h", "24x7", "00:00-24:00"):
        return [(MIDNIGHT, MIDNIGHT)]
    periods = []
    for part in value.split(","):
        start, sep, end = part.strip().partition("-")
        try:
            a = time.fromisoformat(start.strip())
            b = MIDNIGHT if end.strip() == "24:00" else time.fromisoformat(end.strip())
        except ValueError:
            raise CalendarError(f"时段 {part.strip()!r} 的格式应如 08:00-12:00 "
                                f"(period {part.strip()!r} is not like 08:00-12:00)") from None
        if not sep or (b != MIDNIGHT and not a < b):
            raise CalendarError(f"时段 {part.strip()!r} 的结束时间不晚于开始时间 "
                                f"(period {part.strip()!r} does not end after it starts)")
        periods.append((a, b))
    periods.sort()
    for (a1, b1), (a2, _) in itertools.pairwise(periods):
        if b1 == MIDNIGHT or a2 < b1:
            raise CalendarError(f"时段 {a1:%H:%M}-{b1:%H:%M} 与 {a2:%H:%M}… 重叠 "
                                f"(periods {a1:%H:%M}-{b1:%H:%M} and {a2:%H:%M}… overlap)")
    return periods


def _read(name: str) -> str:
    return resources.files("cases").joinpath("data", *name.split("/")).read_text("utf-8")


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def _periods(text: str) -> list[tuple[time, time]]:
    periods = [(time.fromisoformat(r["start"]), time.fromisoformat(r["end"]))
               for r in _rows(text)]
    for a, b in periods:
        if not a < b:
            raise CalendarError(f"工作时段 {a}–{b} 的结束时间早于开始时间 "
                                f"(working period {a}–{b} ends before it starts)")
    return sorted(periods)
