"""Process-wide objects for the Streamlit pages, created once (`st.cache_resource`), and small
rendering helpers shared by the pages."""

from __future__ import annotations

import hashlib
import re
import tempfile
import threading
from pathlib import Path

import streamlit as st

from app.components.database import Database, DatabaseError, set_aside
from app.components.llm import ProviderError
from app.container import Container, build
from app.services.answering import Answerer, Assistant
from app.services.conversations import Conversations
from app.services.drafting import DraftingService
from app.services.inspection import InspectionService
from app.services.knowledge import KnowledgeBase
from app.settings import Settings, get_settings

_MD_SPECIAL = re.compile(r"([\\`*_{}()#+\-.!|>~<$])")  # brackets kept for [n] markers


def slug(text: str, default: str) -> str:
    """A file-name-safe form of a title, for downloads."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:50] or default


def md_escape(text: str) -> str:
    """Show user or document text literally: no Markdown, and never raw HTML."""
    return _MD_SPECIAL.sub(r"\\\1", text)


@st.cache_resource(show_spinner=False)
def container() -> Container:
    """Built once per process; every page and session shares it."""
    return build(get_settings())


def assistant() -> Assistant:
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
    return container().knowledge(database())


@st.cache_resource(show_spinner=False, max_entries=8)
def _inspections(_database: Database, path: str) -> InspectionService:
    return container().inspections(_database)


def inspections() -> InspectionService:
    """Cached (per database file) so each checklist item's cited rule is looked up once."""
    db = database()
    return _inspections(db, str(db.path))


@st.cache_resource(show_spinner=False, max_entries=8)
def _drafting(_database: Database, path: str) -> DraftingService:
    return container().drafting(_database)


def drafting() -> DraftingService:
    """Cached (per database file) so each case type's cited rules are looked up once."""
    db = database()
    return _drafting(db, str(db.path))


@st.cache_resource(show_spinner=False)
def _sync_state() -> dict[str, object]:
    return {"done": False, "lock": threading.Lock()}


def ensure_index() -> None:
    """Once per process, bring the index up to date with knowledge/ (embeds nothing when
    nothing changed); on a first run this is the initial indexing, shown with progress."""
    state = _sync_state()
    if state["done"]:
        return
    with state["lock"]:
        if state["done"]:
            return
        retrieval = assistant().retrieval
        retrieval.refresh()
        first_run = retrieval.size == 0
        label = (
            "Indexing the knowledge base for the first time…"
            if first_run
            else "Checking the knowledge base for changes…"
        )
        with st.status(label, expanded=first_run) as status:
            bar = st.progress(0.0)

            def step(source: str, number: int, total: int) -> None:
                bar.progress(number / max(total, 1), text=source)

            report = knowledge().ingest(progress=step, notice=st.info)
            changed = len(report.changed_sources)
            status.update(
                label=f"Knowledge base ready: {report.chunks_total} passages"
                + (f", {changed} document(s) changed." if changed else ", no changes."),
                state="complete",
                expanded=False,
            )
        state["done"] = True
