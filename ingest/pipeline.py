"""The ingestion run: files -> chunks -> LangChain `index()` into Chroma with a SQL record
manager, so re-runs embed only what changed and deleted files lose their chunks.

A run killed half-way is repaired by the next one: vector ids are content hashes (upserts
cannot duplicate) and the record manager still lists the stale chunks to clean up. One run at
a time per data folder (an inter-process lock), and a rebuild fills a shadow collection that
replaces the live one only when it is complete.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from filelock import FileLock, Timeout
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.indexing import index

from app.components.embeddings import load_embeddings, model_fingerprint, token_budget
from app.components.retrieval import SentenceVectors
from app.components.retriever import asks_of
from app.components.store import (
    Store,
    StoreUnavailableError,
    drop_collection,
    open_store,
    promote,
    shadow_settings,
)
from app.components.text import looks_like_instruction, split_sentences
from app.settings import Settings
from ingest.chunking import chunk_document
from ingest.freshness import FileState, FileStates
from ingest.loaders import SUPPORTED, LoadedDoc, SkipFile, load_file

ProgressFn = Callable[[str, int, int], None]
NoticeFn = Callable[[str], None]
# App data in knowledge/, not guidance: never indexed.
DATA_FOLDERS = {"checklists", "templates", "glossary", "listing-checks"}
INDEX_BATCH = 64


class IngestBusyError(RuntimeError):
    """Another ingest of the same data folder did not finish in time."""


@dataclass
class IngestReport:
    files_seen: int = 0
    files_read: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[tuple[str, str]] = field(default_factory=list)  # ingested, with a caveat
    added: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    chunks_total: int = 0
    seconds: float = 0.0
    changed_sources: dict[str, str] = field(default_factory=dict)  # source -> added/updated/removed

    @property
    def ok(self) -> bool:
        """Non-zero exit only when nothing at all could be ingested."""
        return self.files_read > 0 or (self.files_seen == 0 and self.deleted > 0)

    @property
    def failure(self) -> str | None:
        """The one line that says why nothing was ingested (None when something was)."""
        if self.ok:
            return None
        reason = "no documents found" if self.files_seen == 0 else "no file could be ingested"
        return f"Nothing was ingested: {reason}."

    def to_dict(self) -> dict[str, object]:
        return {
            "files_seen": self.files_seen,
            "files_read": self.files_read,
            "skipped": [{"path": p, "reason": r} for p, r in self.skipped],
            "warnings": [{"path": p, "warning": w} for p, w in self.warnings],
            "chunks": {
                "added": self.added,
                "updated": self.updated,
                "deleted": self.deleted,
                "unchanged": self.unchanged,
                "total": self.chunks_total,
            },
            "changed_sources": self.changed_sources,
            "seconds": round(self.seconds, 2),
        }


def source_id(path: Path, settings: Settings) -> str:
    """Stable id of a file: relative to the knowledge folder when inside it."""
    resolved = path.resolve()
    try:
        return resolved.relative_to(settings.knowledge_dir.resolve()).as_posix()
    except ValueError:
        return resolved.as_posix()


def source_path(source: str, settings: Settings) -> Path:
    candidate = Path(source)
    return candidate if candidate.is_absolute() else (settings.knowledge_dir / candidate).resolve()


def discover(paths: Iterable[Path]) -> tuple[list[Path], list[tuple[str, str]]]:
    """Files to read under the given paths; missing paths are reported, hidden files and the
    app's data folders (checklists, templates) are passed over."""
    files: list[Path] = []
    missing: list[tuple[str, str]] = []
    for path in paths:
        if path.is_dir():
            for found in sorted(path.rglob("*")):
                parts = found.relative_to(path).parts
                if (
                    found.is_file()
                    and not any(p.startswith(".") for p in parts)
                    and not DATA_FOLDERS & set(parts[:-1])
                ):
                    files.append(found)
        elif path.is_file():
            files.append(path)
        else:
            missing.append((str(path), "no such file or folder"))
    return files, missing


@contextmanager
def ingest_lock(settings: Settings, notice: NoticeFn | None = None) -> Iterator[None]:
    """One ingest per data folder at a time, across processes: a second run waits (and says
    so) instead of reading the first one's half-written files."""
    try:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        lock = FileLock(settings.data_dir / "ingest.lock")
        try:
            lock.acquire(timeout=0)
        except Timeout:
            if notice:
                notice(
                    f"Another ingest of {settings.data_dir} is running; waiting for it to finish…"
                )
            try:
                lock.acquire(timeout=settings.ingest_wait_seconds)
            except Timeout:
                raise IngestBusyError(
                    f"Another ingest of {settings.data_dir} is still running after "
                    f"{settings.ingest_wait_seconds:g} s; try again when it has finished."
                ) from None
    except OSError as exc:
        raise StoreUnavailableError(
            f"Cannot write to the data folder {settings.data_dir} "
            f"({exc.strerror or exc}); ingesting needs it writable (set DATA_DIR)."
        ) from exc
    try:
        yield
    finally:
        lock.release()


def run_ingest(
    settings: Settings,
    paths: list[Path] | None = None,
    *,
    rebuild: bool = False,
    progress: ProgressFn | None = None,
    store: Store | Callable[[], Store] | None = None,
    notice: NoticeFn | None = None,
) -> IngestReport:
    """Bring the index up to date with `paths` (default: the knowledge folder).

    With `rebuild`, everything is embedded again into a shadow collection that replaces the
    live one only once every file has been read; until then the old index keeps answering.
    """
    with ingest_lock(settings, notice):
        if callable(store):  # opened only now, under the lock
            store = store()
        if not rebuild:
            live = store or _open(settings)
            if live.older_recipe():
                _reembed(live, settings, notice)
            states = FileStates.load(settings, live.fingerprint)
            report = _ingest(live, settings, paths, progress, states)
            states.save()
            return report
        embeddings = store.embeddings if store else load_embeddings(settings)
        shadow_cfg = shadow_settings(settings)
        drop_collection(shadow_cfg)  # the leftovers of an interrupted rebuild
        shadow = open_store(shadow_cfg, embeddings, model_fingerprint(settings.model_path))
        # A rebuild reads and hashes every file, then its record replaces the live one.
        states = FileStates.load(settings, shadow.fingerprint, trust=False)
        report = _ingest(shadow, settings, paths, progress, states)
        if not report.ok:
            drop_collection(shadow_cfg)
            report.warnings.append(
                ("index", "nothing could be read, so the existing index was kept as it was")
            )
            return report
        promote(shadow, settings)
        states.changed = True  # replaces the old record, even with nothing in it
        states.save()
        if store is not None:
            store.reopen()
        return report


def _reembed(store: Store, settings: Settings, notice: NoticeFn | None) -> None:
    """New vectors for every chunk, in place, when they were computed from other text than
    the store's recipe says (text and ids are unchanged; the recipe is stamped only at the
    end, so an interrupted run starts over)."""
    if notice:
        notice("The index's vectors were computed from an older text recipe; updating them once…")
    data = store.collection.get(include=["documents"])
    sentences = SentenceVectors(settings, store.embeddings)
    for start in range(0, len(data["ids"]), INDEX_BATCH):
        ids = data["ids"][start : start + INDEX_BATCH]
        vectors = sentences.embed_chunks(data["documents"][start : start + INDEX_BATCH])
        store.collection.update(ids=ids, embeddings=vectors)
    store.stamp()


def _open(settings: Settings) -> Store:
    embeddings = load_embeddings(settings)
    return open_store(settings, embeddings, model_fingerprint(settings.model_path))


def _ingest(
    store: Store,
    settings: Settings,
    paths: list[Path] | None,
    progress: ProgressFn | None,
    states: FileStates,
) -> IngestReport:
    started = time.perf_counter()
    roots = [p.resolve() for p in (paths or [settings.knowledge_dir])]
    files, missing = discover(roots)
    report = IngestReport(files_seen=len(files), skipped=list(missing))
    store.check_model()
    _reconcile(store)
    sentences = SentenceVectors(settings, store.embeddings)
    writer = store.writer(ChunkEmbeddings(sentences))
    max_bytes = int(settings.max_file_mb * 1_000_000)
    seen: set[str] = set()
    asks: set[str] = set()

    for number, path in enumerate(files, 1):
        source = source_id(path, settings)
        seen.add(source)
        if progress:
            progress(source, number, len(files))
        known = states.unchanged(source, path)
        if known is not None and store.records.list_keys(group_ids=[source], limit=1):
            report.files_read += 1  # indexed as it is: not even opened
            report.unchanged += known.chunks
            report.warnings.extend((source, w) for w in known.warnings)
            continue
        try:
            state = FileState.of(path)  # before reading: a later write is seen next time
        except OSError:
            state = None  # unreadable: load_file says why
        try:
            loaded = load_file(path, max_bytes)
        except SkipFile as why:
            if path.suffix.lower() in SUPPORTED and store.records.list_keys(
                group_ids=[source], limit=1
            ):
                report.skipped.append((source, f"{why}; the previously indexed version is kept"))
            else:
                report.skipped.append((source, str(why)))
            continue
        warnings = [*loaded.warnings, *_ai_directed(loaded)]
        report.warnings.extend((source, w) for w in warnings)
        chunks = _distinct(
            chunk_document(
                loaded,
                source,
                settings.chunk_size,
                settings.chunk_overlap,
                token_budget(settings.model_path),
            )
        )
        asks.update(q for chunk in chunks for q in asks_of(chunk.metadata))
        had_before = bool(store.records.list_keys(group_ids=[source], limit=1))
        result = index(
            _reporting(chunks, source, number, len(files), progress),
            store.records,
            writer,
            cleanup="incremental",
            source_id_key="source",
            key_encoder="sha256",
            batch_size=INDEX_BATCH,
        )
        report.files_read += 1
        if state is not None:
            state.chunks, state.warnings = len(chunks), warnings
            states.record(source, state)
        report.added += result["num_added"]
        report.updated += result["num_updated"]
        report.deleted += result["num_deleted"]
        report.unchanged += result["num_skipped"]
        if result["num_added"] or result["num_deleted"] or result["num_updated"]:
            report.changed_sources[source] = "updated" if had_before else "added"

    for source in _indexed_sources(store) - seen:
        if any(_is_under(source_path(source, settings), root) for root in roots):
            report.deleted += _remove_source(store, source)
            report.changed_sources[source] = "removed"
            states.forget(source)

    if asks:  # new chunks' sellers' questions embedded now, not at the first question
        sentences(sorted(asks))
    if report.changed_sources or store.recorded_model() != store.fingerprint:
        store.stamp()
    report.chunks_total = store.collection.count()
    report.seconds = time.perf_counter() - started
    return report


class ChunkEmbeddings(Embeddings):
    """What `index()` embeds new chunks with: vectors composed from their sentences', which
    land in the sentence cache (see SentenceVectors.embed_chunks)."""

    def __init__(self, sentences: SentenceVectors) -> None:
        self.sentences = sentences

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.sentences.embed_chunks(texts)

    def embed_query(self, text: str) -> list[float]:
        return self.sentences.embed_chunks([text])[0]


def _distinct(chunks: list[Document]) -> list[Document]:
    """A document that repeats itself is stored once per distinct chunk text."""
    seen: set[str] = set()
    out = []
    for chunk in chunks:
        if chunk.page_content not in seen:
            seen.add(chunk.page_content)
            out.append(chunk)
    return out


def _reporting(
    chunks: list[Document], source: str, number: int, total: int, progress: ProgressFn | None
) -> Iterator[Document]:
    """Feed `index()` while telling a long file's progress in batches."""
    for n, chunk in enumerate(chunks):
        if progress and n and n % INDEX_BATCH == 0 and len(chunks) > INDEX_BATCH:
            progress(f"{source} ({n}/{len(chunks)} passages)", number, total)
        yield chunk


def _ai_directed(doc: LoadedDoc) -> list[str]:
    """Name text that addresses an AI rather than a seller: it is indexed but never quoted."""
    found = [
        s.text
        for part in doc.parts
        for s in split_sentences(part.text)
        if looks_like_instruction(s.text)
    ]
    if not found:
        return []
    example = found[0] if len(found[0]) <= 80 else found[0][:77] + "…"
    return [
        f"contains {len(found)} sentence(s) addressed to an AI rather than a seller "
        f'("{example}"); they are never quoted in answers'
    ]


def remove_document(store: Store, source: str) -> int:
    """Remove one document's chunks (used by the app's knowledge page)."""
    removed = _remove_source(store, source)
    if removed:
        store.stamp()
    return removed


def _remove_source(store: Store, source: str) -> int:
    keys = store.records.list_keys(group_ids=[source])
    stored = store.collection.get(where={"source": source}, include=[])["ids"]
    ids = sorted(set(keys) | set(stored))
    if ids:
        store.vectorstore.delete(ids=ids)
    if keys:
        store.records.delete_keys(keys)
    return len(ids)


def _indexed_sources(store: Store) -> set[str]:
    metas = store.collection.get(include=["metadatas"])["metadatas"] or []
    return {str(m.get("source")) for m in metas if m and m.get("source")}


def _reconcile(store: Store) -> None:
    """If the vectors were lost (server wiped, collection deleted) forget the records too,
    otherwise `index()` would believe everything is still there and embed nothing."""
    keys = store.records.list_keys()
    if not keys:
        return
    present = set(store.collection.get(ids=keys, include=[])["ids"])
    missing = [k for k in keys if k not in present]
    if missing:
        store.records.delete_keys(missing)


def _is_under(path: Path, root: Path) -> bool:
    return path == root or root in path.parents
