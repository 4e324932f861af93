"""`python -m ingest [PATH...] [--rebuild] [--json]`: the same ingest service as
`compliance ingest` and the app's Knowledge base page, without the CLI's progress bars."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from app.components.database import DatabaseError
from app.components.embeddings import ModelNotFoundError
from app.components.store import ModelMismatchError, StoreUnavailableError
from app.container import build
from ingest.pipeline import IngestBusyError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ingest", description=__doc__)
    parser.add_argument("paths", nargs="*", type=Path, help="files or folders (default: knowledge)")
    parser.add_argument("--rebuild", action="store_true", help="re-embed everything")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    args = parser.parse_args(argv)
    container = build()
    try:
        try:
            database = container.database()
        except DatabaseError as exc:
            print(f"Warning: {exc}", file=sys.stderr)
            database = None
        report = container.knowledge(database).ingest(
            args.paths or None,
            rebuild=args.rebuild,
            notice=lambda text: print(text, file=sys.stderr),
        )
    except (
        StoreUnavailableError,
        ModelMismatchError,
        ModelNotFoundError,
        IngestBusyError,
    ) as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 2
    summary = report.to_dict()
    if args.json:
        print(json.dumps(summary, ensure_ascii=False))
    else:
        chunks = summary["chunks"]
        print(
            f"{report.files_read} of {report.files_seen} files read; chunks added "
            f"{chunks['added']}, updated {chunks['updated']}, deleted {chunks['deleted']}, "
            f"unchanged {chunks['unchanged']}; {chunks['total']} in the index."
        )
        for path, reason in report.skipped:
            print(f"skipped {path}: {reason}")
        for path, warning in report.warnings:
            print(f"warning {path}: {warning}")
    if report.failure:
        print(f"Error: {report.failure}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
