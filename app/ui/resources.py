"""Process-wide objects for the Streamlit pages, created once (`st.cache_resource`), and small
rendering helpers shared by the pages.

The heavy parts (model, index, the startup sync with knowledge/) load in a background thread
that the first page starts, so that page renders at once; a page that needs them waits with a
spinner (`ensure_index`). Nothing heavy is imported at module level for the same reason.
"""

from __future__ import annotations

import hashlib
import re
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import streamlit as st

from app.components.database import Database, DatabaseError, set_aside
from app.services.conversations import Conversations
from app.settings import Settings, get_settings

if TYPE_CHECKING:
    from app.container import Container
    from app.services.answering import Answerer, Assistant
    from app.services.drafting import DraftingService
    from app.services.inspection import InspectionService
    from app.services.knowledge import KnowledgeBase
    from ingest.pipeline import IngestReport

_MD_SPECIAL = re.compile(r"([\\`*_{}()#+\-.!|>~<$])")  # brackets kept for [n] markers
# A link in shown text: left unescaped (an escaped dot reaches the href as %5C) and rendered as
# an autolink, whose inside Markdown never parses; closing punctuation stays outside it.
_URL = re.compile(r"https?://[^\s<>\"'`\]\[]+[^\s<>\"'`\]\[.,;:!?)(]")


def slug(text: str, default: str) -> str:
    """A file-name-safe form of a title, for downloads."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:50] or default


def md_escape(text: str) -> str:
    """Show user or document text literally: no Markdown, and never raw HTML; web links stay
    intact and clickable."""
    parts, at = [], 0
    for link in _URL.finditer(text):
        parts += [_MD_SPECIAL.sub(r"\\\1", text[at : link.start()]), f"<{link.group()}>"]
        at = link.end()
    return "".join([*parts, _MD_SPECIAL.sub(r"\\\1", text[at:])])


@st.cache_resource(show_spinner=False)
def container() -> Container:
    """Built once per process; every page and session shares it (its parts load lazily)."""
    from app.container import build

    return build(get_settings())


class Startup:
    """Loads the model and the index and brings the index up to date with knowledge/ (embeds
    nothing when nothing changed), once per process, in a background thread: the first page
    renders at once instead of after the whole load."""

    def __init__(self, parts: Container, database: Database | None) -> None:
        self.ready = threading.Event()
        self.error: Exception | None = None
        self.report: IngestReport | None = None  # the startup sync, for the Knowledge base page
        self.first_run = False
        self.progress: tuple[str, int, int] = ("", 0, 0)  # file being indexed, number, total
        self.notices: list[str] = []
        self._parts, self._database = parts, database
        threading.Thread(target=self._load, name="compliance-startup", daemon=True).start()

    def _load(self) -> None:
        try:
            retrieval = self._parts.assistant.retrieval  # loads the model, opens the store
            retrieval.refresh()
            self.first_run = retrieval.size == 0
            self.report = self._parts.knowledge(self._database).ingest(
                progress=lambda source, n, total: setattr(self, "progress", (source, n, total)),
                notice=self.notices.append,
            )
            self._parts.assistant.ask(WARM_UP)  # first-use costs (caches, kernels) paid here
        except Exception as exc:  # shown by the page that waits; the next visit tries again
            self.error = exc
        finally:
            self.ready.set()

    def label(self) -> str:
        source, number, total = self.progress
        if self.first_run and total:
            return f"Indexing the knowledge base for the first time: {number} of {total} ({source})"
        if self.first_run:
            return "Indexing the knowledge base for the first time…"
        return "Loading the rulebook (language model and index)…"


WARM_UP = "How long do I have to respond to a refund request?"


_started = threading.Event()  # set once the load has begun in this process


@st.cache_resource(show_spinner=False)
def startup() -> Startup:
    """Begun by the first page that needs the model, once that page has drawn (Ask) or
    before it draws (pages that cannot work without it)."""
    _started.set()
    try:
        db: Database | None = _database()
    except DatabaseError:
        db = None  # the sync still runs; it is just not recorded
    return Startup(container(), db)


def ensure_index() -> None:
    """Wait, with a spinner, until the model and index are loaded and up to date; a loading
    fault is raised here (the page shows its one-line message) and retried on the next visit."""
    loading = startup()
    if not loading.ready.is_set():
        with st.spinner(loading.label(), show_time=True):
            line = st.empty()
            while not loading.ready.wait(0.25):
                number, total = loading.progress[1:]
                # an element written each turn: leaving for another page need not wait
                if total:
                    line.progress(number / total, text=loading.label())
                else:  # e.g. waiting for another ingest to finish
                    line.caption(loading.notices[-1] if loading.notices else "")
            line.empty()
    if loading.error is not None:
        startup.clear()
        raise loading.error


def setup_fault(exc: Exception) -> bool:
    """A fault in the set-up (model, index, ingest lock) whose message says the fix."""
    from app.components.embeddings import ModelNotFoundError
    from app.components.store import ModelMismatchError, StoreUnavailableError
    from ingest.pipeline import IngestBusyError

    faults = (ModelNotFoundError, ModelMismatchError, StoreUnavailableError, IngestBusyError)
    return isinstance(exc, faults)


def ready() -> bool:
    """Whether the model and index are loaded; neither waits nor begins the load, so a page
    draws before the load's imports compete with it."""
    return _started.is_set() and startup().ready.is_set()


def assistant() -> Assistant:
    ensure_index()
    return container().assistant


SESSION_LLM = "llm_override"  # this browser session's provider choice (key kept in memory only)


def llm_settings() -> Settings:
    """The settings from .env, with this session's provider choice from the Settings page."""
    override = st.session_state.get(SESSION_LLM)
    return get_settings().updated(**override) if override else get_settings()


@st.cache_resource(show_spinner=False, max_entries=4)
def _engine(_settings: Settings, fingerprint: str) -> Answerer:
    """One engine per provider configuration; `fingerprint` stands for the settings in the
    cache key (with the key hashed), so the raw key is never part of it."""
    return container().engine(_settings)


def engine() -> Answerer:
    """The answer engine for this session; a provider that can't even be built (missing
    model name, bad GGUF path) leaves the extractive one in place, with the reason shown."""
    from app.components.llm import ProviderError

    ensure_index()
    settings = llm_settings()
    key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else ""
    fingerprint = settings.model_dump_json() + hashlib.sha256(key.encode()).hexdigest()
    try:
        return _engine(settings, fingerprint)
    except ProviderError as exc:
        st.warning(f"{exc} Using the quoted (extractive) answers instead.")
        return assistant()


@st.cache_resource(show_spinner=False)
def _database() -> Database:
    return container().database()


SCRATCH_DB = "scratch_database"


def database() -> Database:
    """The app database; when it is damaged or not writable, every page says so once, offers
    the fix, and keeps working on a scratch database for this browser session (nothing is
    saved, and the real file is never touched)."""
    try:
        return _database()
    except DatabaseError:
        if SCRATCH_DB not in st.session_state:
            folder = Path(tempfile.mkdtemp(prefix="compliance-scratch-"))
            st.session_state[SCRATCH_DB] = Database(folder / "app.sqlite")
        return st.session_state[SCRATCH_DB]


def database_banner() -> None:
    """Shown above every page while the app database cannot be used."""
    try:
        _database()
        return
    except DatabaseError as problem:
        exc = problem
    box = st.container(border=True)
    box.error(str(exc).replace("`compliance repair-db`", "the button below"), icon="⚠️")
    box.caption(
        "You can still ask, inspect and draft, but nothing you do is saved until this is fixed."
    )
    if exc.damaged and box.button("Keep the damaged file aside and start a fresh database"):
        try:
            kept = set_aside(get_settings().app_db_path)
        except OSError as error:
            box.error(f"Could not move the file: {error}")
            return
        st.session_state.pop(SCRATCH_DB, None)
        st.toast(f"Kept the damaged file as {kept.name}; a fresh database is in use.")
        st.rerun()


def conversations() -> Conversations:
    return Conversations(database())


def knowledge() -> KnowledgeBase:
    ensure_index()
    return container().knowledge(database())


@st.cache_resource(show_spinner=False, max_entries=8)
def _inspections(_database: Database, path: str) -> InspectionService:
    return container().inspections(_database)


def inspections() -> InspectionService:
    """Cached (per database file) so each checklist item's cited rule is looked up once."""
    ensure_index()
    db = database()
    return _inspections(db, str(db.path))


@st.cache_resource(show_spinner=False, max_entries=8)
def _drafting(_database: Database, path: str) -> DraftingService:
    return container().drafting(_database)


def drafting() -> DraftingService:
    """Cached (per database file) so each case type's cited rules are looked up once."""
    ensure_index()
    db = database()
    return _drafting(db, str(db.path))
