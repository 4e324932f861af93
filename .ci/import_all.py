"""Import every module of app/ and ingest/ with whatever is installed: run in the runtime-only
venv, it proves the runtime dependencies alone satisfy the code (a missing one fails here)."""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SKIP = {"app.ui.main"}  # a Streamlit script: it renders on import (the app check covers it)


def modules() -> list[str]:
    names = []
    for package in ("app", "ingest"):
        names.append(package)
        for info in pkgutil.walk_packages([str(ROOT / package)], prefix=f"{package}."):
            if info.name not in SKIP and not info.name.startswith("app.ui.views"):
                names.append(info.name)
    return names


def main() -> int:
    failed = []
    for name in modules():
        try:
            importlib.import_module(name)
        except Exception as exc:  # report every failure, not just the first
            failed.append(f"{name}: {type(exc).__name__}: {exc}")
    for line in failed:
        print(f"import failed: {line}", file=sys.stderr)
    print(f"imported {len(modules()) - len(failed)} of {len(modules())} modules")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
