"""Reading the project's YAML data files with one clear error message per failure."""

from __future__ import annotations

from pathlib import Path

import yaml


def read_yaml(path: Path, error: type[Exception], what: str = "") -> object:
    """Parse a YAML file, raising `error` with a sentence a user can act on."""
    label = f"{what} {path}".strip()
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise error(f"Cannot read {label}: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        raise error(f"{label[0].upper()}{label[1:]} is not valid YAML: {exc}") from exc
