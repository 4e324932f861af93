"""Models fitted by `compliance calibrate` and stored as JSON data (the refusal model, the
sentence ranking): one way to save them and to load them, refusing a file fitted on other
inputs than the code now computes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TypeVar

Fitted = TypeVar("Fitted")


def save_fitted(model: Any, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(vars(model), indent=2) + "\n", encoding="utf-8")


def load_fitted(
    path: Path | None,
    kind: type[Fitted],
    features: list[str],
    error: type[ValueError],
    name: str,
) -> Fitted | None:
    """The model in `path` (None when there is no file); `error` names what is wrong with it."""
    if path is None or not path.is_file():
        return None
    try:
        model = kind(**json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError) as exc:
        raise error(f"Cannot read the {name} {path}: {exc}") from exc
    fitted_on = getattr(model, "features", None)
    if fitted_on != features:
        raise error(
            f"The {name} {path} was fitted on other inputs ({', '.join(fitted_on or [])});"
            " refit it with `compliance calibrate`."
        )
    return model
