"""Deadline arithmetic: calendar or working days from a start date, time left and overdue.

AliExpress counts working-day deadlines in China's working days, not the seller's: a
"5 working days" window that opens just before Golden Week (National Day, 1-7 October) or
Chinese New Year ends a week or more later than plain Monday-Friday counting says, and China's
official make-up working days (a Saturday or Sunday worked in exchange for a bridge day off)
count towards it. Counting Monday-Friday only would tell a seller they still have time, or are
already late, when neither is true.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

import numpy as np

from app.components.serialise import Serialisable

DEFAULT_COUNTRY = "CN"
# How `Deadline.basis` names a calendar; other codes are shown as they are.
_COUNTRY_NAMES = {"CN": "China"}
# Fewer working days than any country has in a year: sizes the first calendar built for a count.
_MIN_WORKING_DAYS_PER_YEAR = 200


@dataclass
class Deadline(Serialisable):
    what: str
    due: date
    days_left: int  # calendar days from today; negative once overdue
    overdue: bool
    basis: str  # e.g. "5 calendar days from 2026-11-20 (dispute opened)"


@lru_cache(maxsize=32)
def _days_off(country: str, first_year: int, last_year: int) -> np.ndarray:
    """Every day from `first_year` to `last_year` that is not a working day in `country`.

    `numpy.busday_offset` takes a fixed weekmask plus a list of extra days off, so it cannot
    express a make-up Saturday worked in place of a weekday holiday. Instead every day of the
    week is a business day in the mask and the weekends, minus the make-up days, go into the
    list with the public holidays. `holidays` decides each day (`is_working_day` knows the
    country's weekend and, for China, the make-up working days of each year whose State Council
    notice the installed release includes). For later years it extrapolates the statutory
    holidays with no make-up days, so those deadlines are an estimate until it is updated.
    """
    import holidays  # deferred: only working-day deadlines need it, and it is slow to import

    try:
        calendar = holidays.country_holidays(country, years=range(first_year, last_year + 1))
    except NotImplementedError as exc:
        raise ValueError(f"No public holiday calendar for country {country!r}.") from exc
    day, end = date(first_year, 1, 1), date(last_year, 12, 31)
    off = []
    while day <= end:
        if not calendar.is_working_day(day):
            off.append(day)
        day += timedelta(days=1)
    return np.array(off, dtype="datetime64[D]")


def due_date(
    start: date, days: int, working: bool = False, country: str | None = DEFAULT_COUNTRY
) -> date:
    """The last day to act: `days` after `start`.

    With `working`, only working days count: in `country` (an ISO code, China by default),
    skipping its weekends and public holidays and counting its make-up working days; with
    `country=None`, Monday to Friday. A start on a day off counts from the next working day;
    0 days is `start` itself. Calendar-day deadlines ignore `country`.
    """
    if days < 0:
        raise ValueError("A deadline cannot be a negative number of days.")
    if not working or days == 0:
        return start + timedelta(days=days)
    origin = np.datetime64(start, "D")
    # roll="backward": from a day off, step back to the last working day so that the first
    # working day after `start` counts as day 1, as "N working days from" means.
    if country is None:
        return np.busday_offset(origin, days, roll="backward").item()
    last_year = start.year + days // _MIN_WORKING_DAYS_PER_YEAR + 1
    while True:
        off = _days_off(country.upper(), start.year, last_year)
        due = np.busday_offset(origin, days, roll="backward", weekmask="1111111", holidays=off)
        result: date = due.item()
        if result.year <= last_year:  # past the calendar every day would count as working
            return result
        last_year = result.year + 1


def deadline(
    what: str,
    start: date,
    days: int,
    today: date,
    working: bool = False,
    start_label: str = "",
    country: str | None = DEFAULT_COUNTRY,
) -> Deadline:
    due = due_date(start, days, working, country)
    left = (due - today).days
    if not working:
        kind = "calendar days"
    elif country is None:
        kind = "working days (Monday to Friday)"
    else:
        kind = f"working days ({_COUNTRY_NAMES.get(country, country)}'s public holidays skipped)"
    label = f" ({start_label})" if start_label else ""
    return Deadline(what, due, left, left < 0, f"{days} {kind} from {start.isoformat()}{label}")
