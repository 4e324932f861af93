"""The knowledge base as the app manages it: what is indexed, uploads, re-index, removal, and
what the last ingest changed. Uploads go through the same ingestion as `compliance ingest`."""

from __future__ import annotations

import hashlib
import json
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from app.components.database import Database, DatabaseError
from app.components.retrieval import Retrieval
from app.components.store import Store
from app.settings import Settings
from ingest.loaders import SUPPORTED, SkipFile, load_file
from ingest.pipeline import (
    IngestReport,
    NoticeFn,
    ProgressFn,
    remove_document,
    run_ingest,
    source_path,
)

UPLOAD_DIR = "uploads"


class UploadRejected(ValueError):
    """The uploaded file cannot be added; the message says why."""


class DuplicateUpload(UploadRejected):
    """The uploaded file's content is already in the knowledge folder (under any name)."""


@dataclass
class DocumentInfo:
    source: str
    title: str
    topic: str
    updated: str
    chunks: int
    urls: list[str]
    uploaded: bool


class KnowledgeBase:
    """The one ingest service: the CLI, the app and `python -m ingest` all come through here,
    so every run is recorded for the Knowledge base page."""

    def __init__(
        self,
        settings: Settings,
        store: Callable[[], Store],
        database: Database | None,
        retrieval: Callable[[], Retrieval | None] | None = None,
    ) -> None:
        self.settings = settings
        # Opened on first use: an ingest opens the store (and loads the model) only once it
        # holds the ingest lock, so a second process waits before touching anything.
        self._store = store
        self.db = database  # None (or unusable): ingest still works, the run is not recorded
        self._retrieval = retrieval or (lambda: None)

    @property
    def store(self) -> Store:
        return self._store()

    def _refresh(self) -> None:
        retrieval = self._retrieval()
        if retrieval is not None:
            retrieval.refresh(force=True)

    def documents(self) -> list[DocumentInfo]:
        metas = self.store.collection.get(include=["metadatas"])["metadatas"] or []
        grouped: dict[str, list[dict]] = defaultdict(list)
        for meta in metas:
            if meta and meta.get("source"):
                grouped[str(meta["source"])].append(meta)
        docs = []
        for source, chunks in grouped.items():
            first = chunks[0]
            docs.append(
                DocumentInfo(
                    source=source,
                    title=str(first.get("title", source)),
                    topic=str(first.get("topic", "")),
                    updated=str(first.get("updated", "")),
                    chunks=len(chunks),
                    urls=str(first.get("urls", "")).split(),
                    uploaded=source.startswith(f"{UPLOAD_DIR}/"),
                )
            )
        return sorted(docs, key=lambda d: (d.uploaded, d.title.lower()))

    def save_upload(self, name: str, data: bytes) -> Path:
        """Check and store an uploaded file under knowledge/uploads/; never overwrite silently."""
        safe = _safe_name(name)
        suffix = Path(safe).suffix.lower()
        if suffix not in SUPPORTED:
            allowed = ", ".join(sorted(s.lstrip(".") for s in SUPPORTED))
            raise UploadRejected(f"'{name}' is not a supported type. Upload one of: {allowed}.")
        limit = int(self.settings.max_file_mb * 1_000_000)
        if len(data) > limit:
            raise UploadRejected(
                f"'{name}' is {len(data) / 1e6:.1f} MB; "
                f"the limit is {self.settings.max_file_mb:g} MB."
            )
        same = self._same_content(data)
        if same is not None:
            raise DuplicateUpload(
                f"Skipped '{name}': the same content is already in the knowledge base as {same}."
            )
        target_dir = self.settings.knowledge_dir / UPLOAD_DIR
        target_dir.mkdir(parents=True, exist_ok=True)
        staging = target_dir / f".incoming-{safe}"  # hidden: ingestion never picks it up
        staging.write_bytes(data)
        try:
            load_file(staging, limit)
        except SkipFile as why:
            staging.unlink(missing_ok=True)
            raise UploadRejected(f"'{name}' cannot be used: {why}.") from None
        target = _free_path(target_dir / safe)
        staging.rename(target)
        return target

    def _same_content(self, data: bytes) -> str | None:
        """The knowledge file (relative name) with exactly these bytes, if any: one upload
        again under another name must not index the same rules twice."""
        root = self.settings.knowledge_dir
        digest = hashlib.sha256(data).digest()
        for path in sorted(root.rglob("*")):
            if (
                path.suffix.lower() in SUPPORTED
                and not path.name.startswith(".")
                and path.is_file()
                and path.stat().st_size == len(data)
                and hashlib.sha256(path.read_bytes()).digest() == digest
            ):
                return path.relative_to(root).as_posix()
        return None

    def ingest(
        self,
        paths: list[Path] | None = None,
        progress: ProgressFn | None = None,
        rebuild: bool = False,
        notice: NoticeFn | None = None,
    ) -> IngestReport:
        report = run_ingest(
            self.settings,
            paths,
            progress=progress,
            store=self._store,
            rebuild=rebuild,
            notice=notice,
        )
        self._record(report)
        self._refresh()
        return report

    def remove(self, source: str) -> int:
        """Remove a document from the index; an uploaded file is deleted too (a file in
        knowledge/ itself stays, so a re-index would bring it back: say so in the UI)."""
        removed = remove_document(self.store, source)
        path = source_path(source, self.settings)
        if source.startswith(f"{UPLOAD_DIR}/") and path.is_file():
            path.unlink()
        report = IngestReport(deleted=removed, changed_sources={source: "removed"})
        self._record(report)
        self._refresh()
        return removed

    def last_changes(self) -> dict[str, object] | None:
        if self.db is None:
            return None
        row = self.db.fetch_one(
            "SELECT finished_at, report_json FROM ingest_runs "
            "WHERE json_array_length(json_extract(report_json, '$.changed')) > 0 "
            "ORDER BY id DESC LIMIT 1"
        )
        if row is None:
            return None
        return {"finished_at": row["finished_at"], **json.loads(row["report_json"])}

    def _record(self, report: IngestReport) -> None:
        if self.db is None:
            return
        summary = {
            "changed": [
                {"source": s, "change": c} for s, c in sorted(report.changed_sources.items())
            ],
            "skipped": [{"source": s, "reason": r} for s, r in report.skipped],
            "warnings": [{"source": s, "warning": w} for s, w in report.warnings],
            "chunks": report.to_dict()["chunks"],
        }
        try:
            with self.db.connect() as db:
                db.execute(
                    "INSERT INTO ingest_runs(report_json) VALUES (?)", (json.dumps(summary),)
                )
        except DatabaseError as exc:  # the index is updated either way; say why it's unlisted
            report.warnings.append(("app database", f"this run was not recorded: {exc}"))


def _safe_name(name: str) -> str:
    base = Path(name.replace("\\", "/")).name
    cleaned = re.sub(r"[^\w.\- ]+", "_", base).strip(" .") or "upload"
    return cleaned[:120]


def _free_path(path: Path) -> Path:
    """`rules.pdf`, then `rules (2).pdf`: an upload never replaces a file silently."""
    candidate, n = path, 2
    while candidate.exists():
        candidate = path.with_name(f"{path.stem} ({n}){path.suffix}")
        n += 1
    return candidate
