"""Deadline arithmetic: calendar or working days from a start date, time left and overdue.

Working days are Monday to Friday; public holidays differ by country and are not known here,
so a working-day deadline that spans holidays may in fact fall later (the UI says so).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta


@dataclass
class Deadline:
    what: str
    due: date
    days_left: int  # calendar days from today; negative once overdue
    overdue: bool
    basis: str  # e.g. "5 calendar days from 2026-11-20 (dispute opened)"

    def to_dict(self) -> dict[str, object]:
        return {
            "what": self.what,
            "due": self.due.isoformat(),
            "days_left": self.days_left,
            "overdue": self.overdue,
            "basis": self.basis,
        }


def due_date(start: date, days: int, working: bool = False) -> date:
    """The last day to act: `days` after `start`, counting only Monday-Friday if `working`."""
    if days < 0:
        raise ValueError("A deadline cannot be a negative number of days.")
    if not working:
        return start + timedelta(days=days)
    current, counted = start, 0
    while counted < days:
        current += timedelta(days=1)
        if current.weekday() < 5:
            counted += 1
    return current


def deadline(
    what: str, start: date, days: int, today: date, working: bool = False, start_label: str = ""
) -> Deadline:
    due = due_date(start, days, working)
    left = (due - today).days
    kind = "working" if working else "calendar"
    label = f" ({start_label})" if start_label else ""
    return Deadline(
        what, due, left, left < 0, f"{days} {kind} days from {start.isoformat()}{label}"
    )
