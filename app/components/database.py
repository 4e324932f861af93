"""The app's own SQLite database (conversations, feedback, ingest history; later inspections
and drafts): one schema, versioned migrations, WAL so the UI can read while another thread writes.

Migrations only ever append to MIGRATIONS; `PRAGMA user_version` records how many have run, so
an old database is upgraded in place and never rebuilt.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

MIGRATIONS: list[str] = [
    # 1: conversations and their messages, feedback on answers
    """
    CREATE TABLE conversations (
        id INTEGER PRIMARY KEY,
        title TEXT NOT NULL,
        created_at TEXT NOT NULL DEFAULT (datetime('now')),
        updated_at TEXT NOT NULL DEFAULT (datetime('now'))
    );
    CREATE TABLE messages (
        id INTEGER PRIMARY KEY,
        conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
        role TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
        content TEXT NOT NULL,
        answer_json TEXT,
        created_at TEXT NOT NULL DEFAULT (datetime('now'))
    );
    CREATE INDEX messages_by_conversation ON messages(conversation_id, id);
    CREATE TABLE feedback (
        message_id INTEGER PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE,
        score INTEGER NOT NULL CHECK (score IN (-1, 1)),
        comment TEXT NOT NULL DEFAULT '',
        created_at TEXT NOT NULL DEFAULT (datetime('now'))
    );
    """,
    # 2: what each ingest run changed, for the knowledge base page
    """
    CREATE TABLE ingest_runs (
        id INTEGER PRIMARY KEY,
        finished_at TEXT NOT NULL DEFAULT (datetime('now')),
        report_json TEXT NOT NULL
    );
    """,
    # 3: self-inspections and their answers
    """
    CREATE TABLE inspections (
        id INTEGER PRIMARY KEY,
        store_name TEXT NOT NULL,
        checklist_id TEXT NOT NULL,
        profile_json TEXT NOT NULL,
        created_at TEXT NOT NULL DEFAULT (datetime('now')),
        updated_at TEXT NOT NULL DEFAULT (datetime('now')),
        completed_at TEXT
    );
    CREATE TABLE inspection_answers (
        inspection_id INTEGER NOT NULL REFERENCES inspections(id) ON DELETE CASCADE,
        item_id TEXT NOT NULL,
        answer TEXT NOT NULL CHECK (answer IN ('yes', 'no', 'unsure', 'na')),
        note TEXT NOT NULL DEFAULT '',
        updated_at TEXT NOT NULL DEFAULT (datetime('now')),
        PRIMARY KEY (inspection_id, item_id)
    );
    """,
    # 4: saved drafts of buyer replies and appeals
    """
    CREATE TABLE drafts (
        id INTEGER PRIMARY KEY,
        case_type TEXT NOT NULL,
        title TEXT NOT NULL,
        case_json TEXT NOT NULL,
        draft_json TEXT NOT NULL,
        created_at TEXT NOT NULL DEFAULT (datetime('now'))
    );
    """,
    # 5: what each catalogue listing check found, for the self-inspection to start from
    """
    CREATE TABLE listing_checks (
        id INTEGER PRIMARY KEY,
        checked_at TEXT NOT NULL DEFAULT (datetime('now')),
        source TEXT NOT NULL,
        listings INTEGER NOT NULL,
        at_risk INTEGER NOT NULL,
        summary_json TEXT NOT NULL
    );
    """,
]


class DatabaseError(RuntimeError):
    """The app database cannot be used; the message names the file and what to do."""

    damaged = False


class DatabaseDamagedError(DatabaseError):
    """The file is not a SQLite database any more (or is malformed)."""

    damaged = True


_DAMAGED = ("not a database", "malformed", "file is encrypted", "disk image")


def database_error(path: Path, exc: Exception) -> DatabaseError:
    """One readable error for any sqlite3 failure on the app database."""
    text = str(exc)
    if any(mark in text for mark in _DAMAGED):
        return DatabaseDamagedError(
            f"The app database {path} is damaged ({text}). It still holds your saved history and "
            "was not changed. Run `compliance repair-db` to keep it as "
            f"{path.name}.corrupt-<date> and start a fresh one (the app offers the same button)."
        )
    if any(mark in text for mark in ("readonly", "read-only", "unable to open", "permission")):
        return DatabaseError(
            f"Cannot write the app database {path} ({text}): its folder must be writable. "
            "Fix the folder's permissions or set DATA_DIR to a folder you can write to."
        )
    return DatabaseError(f"The app database {path} could not be used ({text}).")


def set_aside(path: Path) -> Path:
    """Keep a damaged database (and its journal files) under a dated name, so a fresh one can
    start; never deletes anything. Returns where the database went."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    for suffix in ("-wal", "-shm"):
        journal = path.with_name(path.name + suffix)
        if journal.exists():
            journal.rename(target.with_name(target.name + suffix))
    path.rename(target)
    return target


class Database:
    """Opens short-lived connections: sqlite3 connections must not cross Streamlit's threads."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise database_error(path, exc) from exc
        with self.connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            migrate(db)

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        try:
            db = sqlite3.connect(self.path, timeout=10)
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA foreign_keys=ON")
        except sqlite3.DatabaseError as exc:
            raise database_error(self.path, exc) from exc
        try:
            with db:  # commit on success, roll back on error
                yield db
        except sqlite3.DatabaseError as exc:
            if isinstance(exc, sqlite3.IntegrityError):
                raise
            raise database_error(self.path, exc) from exc
        finally:
            db.close()

    def fetch_all(self, sql: str, params: tuple = ()) -> list[sqlite3.Row]:
        with self.connect() as db:
            return db.execute(sql, params).fetchall()

    def fetch_one(self, sql: str, params: tuple = ()) -> sqlite3.Row | None:
        with self.connect() as db:
            return db.execute(sql, params).fetchone()


def migrate(db: sqlite3.Connection) -> int:
    version = db.execute("PRAGMA user_version").fetchone()[0]
    for number, script in enumerate(MIGRATIONS[version:], version + 1):
        db.executescript(f"BEGIN; {script}; PRAGMA user_version={number}; COMMIT;")
    return len(MIGRATIONS)
