"""One serialiser for every result type (answers, passages, deadlines, drafts), so the CLI's
`--json`, the app's saved answers and the tests all see the same shape.

A dataclass field can carry metadata: `skip` leaves it out, `digits` rounds a float, `key`
renames it in the output.
"""

from __future__ import annotations

import dataclasses
from datetime import date
from enum import Enum
from pathlib import Path
from typing import Any


def to_data(value: Any) -> Any:
    """JSON-ready data for a result object (recursively)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out: dict[str, Any] = {}
        for f in dataclasses.fields(value):
            if f.metadata.get("skip"):
                continue
            item = getattr(value, f.name)
            digits = f.metadata.get("digits")
            if digits is not None and isinstance(item, float):
                item = round(item, digits)
            out[f.metadata.get("key", f.name)] = to_data(item)
        return out
    if isinstance(value, dict):
        return {str(k): to_data(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [to_data(v) for v in value]
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Path):
        return str(value)
    return value


class Serialisable:
    """`to_dict()` for result dataclasses, through the one serialiser."""

    def to_dict(self) -> dict[str, Any]:
        return to_data(self)
