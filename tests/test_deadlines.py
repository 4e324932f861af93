"""Working-day deadlines counted in China's working days: Golden Week, Chinese New Year and the
make-up working days, checked against dates worked out by hand from the `holidays` calendar."""

from __future__ import annotations

from datetime import date, timedelta

import holidays
import pytest

from app.services import deadlines
from app.services.deadlines import deadline, due_date


def _cn_exceptions(first: date, last: date) -> tuple[list[date], list[date]]:
    """China's weekdays off and weekend days worked between `first` and `last`, per `holidays`."""
    cn = holidays.country_holidays("CN", years=range(first.year, last.year + 1))
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    weekdays_off = [d for d in days if d.weekday() < 5 and not cn.is_working_day(d)]
    weekends_worked = [d for d in days if d.weekday() >= 5 and cn.is_working_day(d)]
    return weekdays_off, weekends_worked


def test_the_calendar_the_expected_dates_were_worked_out_from():
    # The State Council's 2026 notice: National Day 1-7 October with Sunday 20 September and
    # Saturday 10 October worked; Mid-Autumn Festival Friday 25 September.
    assert _cn_exceptions(date(2026, 9, 14), date(2026, 10, 18)) == (
        [date(2026, 9, 25), *(date(2026, 10, d) for d in (1, 2, 5, 6, 7))],
        [date(2026, 9, 20), date(2026, 10, 10)],
    )
    # New Year 2026: Thursday 1 and Friday 2 January off, Sunday 4 January worked.
    assert _cn_exceptions(date(2026, 1, 1), date(2026, 1, 11)) == (
        [date(2026, 1, 1), date(2026, 1, 2)],
        [date(2026, 1, 4)],
    )
    # No holidays in November 2026.
    assert _cn_exceptions(date(2026, 11, 1), date(2026, 11, 30)) == ([], [])
    # 2027 has no notice yet: `holidays` extrapolates the statutory days (New Year's Eve and the
    # first three days of the year, moved off the weekend) and knows no make-up working days.
    # If this fails, a newer release has the real schedule: work the 2027 dates out again.
    assert _cn_exceptions(date(2027, 1, 1), date(2027, 2, 28)) == (
        [date(2027, 1, 1), *(date(2027, 2, d) for d in (5, 8, 9, 10))],
        [],
    )
    off_2027, worked_2027 = _cn_exceptions(date(2027, 1, 1), date(2027, 12, 31))
    assert (len(off_2027), worked_2027) == (13, [])  # 261 weekdays - 13 = 248 working days
    assert _cn_exceptions(date(2028, 1, 1), date(2028, 1, 9)) == ([date(2028, 1, 3)], [])


@pytest.mark.parametrize(
    ("start", "days", "due"),
    [
        # Tue; 30 Sep (1), 1-7 Oct off, 8 (2), 9 (3), Sat 10 make-up (4), Sun 11 off, Mon 12 (5).
        ("2026-09-29", 5, "2026-10-12"),
        # Sat 3 Oct, inside the holiday: the first working day after it is Thu 8 Oct.
        ("2026-10-03", 1, "2026-10-08"),
        # Thu 1 Jan, a holiday and the calendar's first day: Fri 2 off, Sat 3, Sun 4 make-up (1).
        ("2026-01-01", 1, "2026-01-04"),
        # Mon, plain week: 17, 18, 19, 20, then Mon 23.
        ("2026-11-16", 5, "2026-11-23"),
        # Fri, plain week: Mon 16, Tue 17, Wed 18.
        ("2026-11-13", 3, "2026-11-18"),
        # Fri 18 Sep: Sunday 20 is a make-up working day (1).
        ("2026-09-18", 1, "2026-09-20"),
        # Fri 18 Sep: Sun 20 (1), 21-24 (2-5), Fri 25 Mid-Autumn off, weekend, Mon 28 (6).
        ("2026-09-18", 6, "2026-09-28"),
        # Wed; Thu 4 Feb (1), 5-10 Feb off (Chinese New Year), 11 (2), 12 (3), Mon 15 (4), 16 (5).
        ("2027-02-03", 5, "2027-02-16"),
        # Thu; Thu 31 Dec (1), Fri 1 Jan 2027 off, Mon 4 (2), Tue 5 (3).
        ("2026-12-30", 3, "2027-01-05"),
        # Thu; every one of the 248 working days of 2027, the last being Fri 31 Dec.
        ("2026-12-31", 248, "2027-12-31"),
        # One more: Sat 1, Sun 2, Mon 3 Jan 2028 (New Year's Day moved off Saturday) off, Tue 4.
        ("2026-12-31", 249, "2028-01-04"),
        # 0 days is the start itself, even on a holiday.
        ("2026-10-01", 0, "2026-10-01"),
        ("2026-11-20", 0, "2026-11-20"),
    ],
)
def test_working_days_in_china(start, days, due):
    assert due_date(date.fromisoformat(start), days, working=True) == date.fromisoformat(due)
    assert due_date(date.fromisoformat(start), days, True, "cn") == date.fromisoformat(due)


@pytest.mark.parametrize(
    ("start", "days", "due"),
    [
        # Tue; 30 Sep, Thu 1, Fri 2, Mon 5, Tue 6: no holidays, no make-up Saturday.
        ("2026-09-29", 5, "2026-10-06"),
        # Wed; Thu 4, Fri 5, Mon 8, Tue 9, Wed 10.
        ("2027-02-03", 5, "2027-02-10"),
        # Fri; Mon 21 (1): Sunday 20 is not worked.
        ("2026-09-18", 1, "2026-09-21"),
        # From a Saturday: Monday.
        ("2026-11-28", 1, "2026-11-30"),
        ("2026-10-01", 0, "2026-10-01"),
    ],
)
def test_without_a_country_only_weekends_are_skipped(start, days, due):
    assert due_date(date.fromisoformat(start), days, True, None) == date.fromisoformat(due)


def test_calendar_days_ignore_the_holidays():
    assert due_date(date(2026, 9, 29), 5) == date(2026, 10, 4)
    assert due_date(date(2027, 2, 3), 5, country=None) == date(2027, 2, 8)


@pytest.mark.parametrize("country", ["CN", None])
@pytest.mark.parametrize("working", [True, False])
def test_a_negative_count_is_refused(working, country):
    with pytest.raises(ValueError, match="negative"):
        due_date(date(2026, 9, 29), -1, working, country)
    with pytest.raises(ValueError, match="negative"):
        deadline("Respond", date(2026, 9, 29), -5, date(2026, 9, 29), working, country=country)


def test_an_unknown_country_is_a_value_error():
    with pytest.raises(ValueError, match="XX"):
        due_date(date(2026, 9, 29), 5, True, "XX")


def test_a_count_past_the_first_calendar_built_extends_it(monkeypatch):
    # Size the first calendar to the start's year and the next only: 249 working days from
    # 31 Dec 2026 run into 2028, whose 3 January has to be looked up, not taken as working.
    monkeypatch.setattr(deadlines, "_MIN_WORKING_DAYS_PER_YEAR", 10**6)
    assert due_date(date(2026, 12, 31), 249, True) == date(2028, 1, 4)


def test_the_calendar_is_built_once_per_country_and_years():
    deadlines._days_off.cache_clear()
    for _ in range(3):
        due_date(date(2026, 9, 29), 5, True)
    due_date(date(2026, 1, 5), 5, True)  # same years: 2026-2027
    info = deadlines._days_off.cache_info()
    assert (info.misses, info.hits) == (1, 3)


def test_deadline_basis_names_the_calendar():
    late = deadline("Respond", date(2026, 9, 29), 5, date(2026, 10, 13), True, "dispute opened")
    assert (late.due, late.days_left, late.overdue) == (date(2026, 10, 12), -1, True)
    assert late.basis == (
        "5 working days (China's public holidays skipped) from 2026-09-29 (dispute opened)"
    )
    plain = deadline("Respond", date(2026, 9, 29), 5, date(2026, 10, 1), True, country=None)
    assert (plain.due, plain.days_left, plain.overdue) == (date(2026, 10, 6), 5, False)
    assert plain.basis == "5 working days (Monday to Friday) from 2026-09-29"
    calendar = deadline("Respond", date(2026, 9, 29), 5, date(2026, 10, 4))
    assert (calendar.due, calendar.days_left, calendar.overdue) == (date(2026, 10, 4), 0, False)
    assert calendar.basis == "5 calendar days from 2026-09-29"
    assert calendar.to_dict()["due"] == "2026-10-04"
