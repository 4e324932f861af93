"""Which files changed since the last ingest, without reading every file on every start.

Per indexed file the last ingest recorded its size, modification time (ns) and SHA-256. A file
whose size and mtime are both unchanged is taken as unchanged without being opened; one whose
mtime moved but whose size did not is hashed, and only a different hash re-reads it. The
trade-off: a file rewritten with the same size *and* the same mtime to the nanosecond (a tool
that restores timestamps) is missed until it is touched or `compliance ingest --rebuild`, which
ignores this record and reads everything. The record is a hint, never the truth: it is dropped
whole when chunking settings, the model or the format change, and a file whose chunks are no
longer in the index is read again whatever the record says.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from app.settings import Settings

FORMAT = 1  # bump when loading or chunking changes what a file turns into


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass
class FileState:
    size: int
    mtime_ns: int
    sha256: str
    chunks: int = 0
    warnings: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, path: Path) -> FileState:
        """Size and mtime first, then the hash: a write after this is seen next time."""
        stat = path.stat()
        return cls(stat.st_size, stat.st_mtime_ns, file_digest(path))


class FileStates:
    """The record of one index's files, kept as JSON beside the index."""

    def __init__(self, path: Path, config: str, entries: dict[str, FileState]) -> None:
        self.path = path
        self.config = config
        self.entries = entries
        self.changed = False

    @classmethod
    def load(cls, settings: Settings, fingerprint: str, trust: bool = True) -> FileStates:
        """The saved record, or an empty one if it is missing, unreadable, made under other
        settings, or not to be trusted (a rebuild)."""
        path = settings.data_dir / f"file-state-{settings.collection_name}.json"
        config = json.dumps(
            [FORMAT, fingerprint, settings.chunk_size, settings.chunk_overlap], sort_keys=True
        )
        entries: dict[str, FileState] = {}
        if trust:
            try:
                saved = json.loads(path.read_text(encoding="utf-8"))
                if saved.get("config") == config:
                    entries = {k: FileState(**v) for k, v in saved["files"].items()}
            except (OSError, ValueError, TypeError, KeyError, AttributeError):
                entries = {}  # a damaged record only costs one full check
        return cls(path, config, entries)

    def unchanged(self, source: str, path: Path) -> FileState | None:
        """The recorded state if the file is as it was when last indexed."""
        entry = self.entries.get(source)
        if entry is None:
            return None
        try:
            stat = path.stat()
            if stat.st_size != entry.size:
                return None
            if stat.st_mtime_ns == entry.mtime_ns:
                return entry
            if file_digest(path) != entry.sha256:
                return None
        except OSError:
            return None
        entry.mtime_ns = stat.st_mtime_ns  # touched, same content: no need to hash next time
        self.changed = True
        return entry

    def record(self, source: str, state: FileState) -> None:
        self.entries[source] = state
        self.changed = True

    def forget(self, source: str) -> None:
        if self.entries.pop(source, None) is not None:
            self.changed = True

    def save(self) -> None:
        """Written whole to a temporary file and renamed; failing to write only costs time."""
        if not self.changed:
            return
        data = {"config": self.config, "files": {k: vars(v) for k, v in self.entries.items()}}
        tmp = None
        try:
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".tmp-file-state-")
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(data, handle)
            os.replace(tmp, self.path)
        except OSError:
            if tmp:
                Path(tmp).unlink(missing_ok=True)
            return
        self.changed = False
