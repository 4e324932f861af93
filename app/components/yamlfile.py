"""Reading the project's YAML data files with one clear error message per failure."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import ValidationError

# libyaml's parser when PyYAML was built with it (the wheels are): the glossaries alone take
# about a second to parse in pure Python, on every cold start.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_yaml(path: Path, error: type[Exception], what: str = "") -> object:
    """Parse a YAML file, raising `error` with a sentence a user can act on."""
    label = f"{what} {path}".strip()
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)
    except OSError as exc:
        raise error(f"Cannot read {label}: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        raise error(f"{label[0].upper()}{label[1:]} is not valid YAML: {exc}") from exc


def describe_errors(exc: ValidationError, raw: object) -> str:
    """Validation errors located by the ids of the entries they are in ("item acc-one-account
    > why") instead of bare list indexes."""
    lines = []
    for error in exc.errors():
        loc = list(error["loc"])
        where = []
        node = raw
        for part in loc:
            try:
                node = node[part]  # type: ignore[index]
            except (KeyError, IndexError, TypeError):
                node = None
            if isinstance(node, dict) and "id" in node and isinstance(part, int):
                kind = (
                    "section"
                    if "items" in node
                    else "item"
                    if "question" in node
                    else "case type"
                    if "body" in node
                    else "entry"
                )
                where.append(f"{kind} {node['id']}")
            elif not isinstance(part, int):
                where.append(str(part))
        message = error["msg"].removeprefix("Value error, ")
        lines.append(f"  - {' > '.join(where) or 'checklist'}: {message}")
    return "\n".join(lines)
