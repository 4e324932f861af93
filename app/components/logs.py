"""Library noise (pypdf's "EOF marker not found", deprecation warnings) goes to a log file in
the data folder, never to the terminal: `--json` output stays machine-readable and a seller
sees only the lines written for them."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from app.settings import Settings

LOG_NAME = "compliance.log"
_configured: Path | None = None


def route_library_logs(settings: Settings) -> Path | None:
    """Send warnings of every library to DATA_DIR/compliance.log (or drop them when the folder
    is not writable); returns the log file's path."""
    global _configured
    root = logging.getLogger()
    path = settings.data_dir / LOG_NAME
    if _configured == path:
        return path
    for handler in [h for h in root.handlers if getattr(h, "_compliance", False)]:
        root.removeHandler(handler)
    handler: logging.Handler
    try:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        if not os.access(settings.data_dir, os.W_OK) or (
            path.exists() and not os.access(path, os.W_OK)
        ):
            raise PermissionError(path)
        handler = logging.FileHandler(path, encoding="utf-8", delay=True)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        opened: Path | None = path
    except OSError:
        handler, opened = logging.NullHandler(), None
    handler._compliance = True  # type: ignore[attr-defined]
    handler.setLevel(logging.WARNING)
    root.addHandler(handler)
    if root.level > logging.WARNING or root.level == logging.NOTSET:
        root.setLevel(logging.WARNING)
    logging.captureWarnings(True)
    _configured = path
    return opened
