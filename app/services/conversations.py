"""Saved conversations and answer feedback: reopen, rename, delete, export as Markdown, and
the feedback list that shows where the knowledge base needs work."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from app.components.database import Database

MAX_TITLE = 80
_INSERT_MESSAGE = (
    "INSERT INTO messages(conversation_id, role, content, answer_json) VALUES (?,?,?,?)"
)


@dataclass
class Message:
    id: int
    role: str
    content: str
    answer: dict[str, Any] | None = None
    feedback: int | None = None
    comment: str = ""


@dataclass
class Conversation:
    id: int
    title: str
    created_at: str
    updated_at: str
    messages: list[Message] = field(default_factory=list)
    first_question: str = ""  # filled by `list()`, to tell conversations apart at a glance
    questions: int = 0

    def history(self) -> list[dict[str, str]]:
        """The `history` argument `Assistant.ask` takes."""
        return [{"role": m.role, "content": m.content} for m in self.messages]


@dataclass
class FeedbackEntry:
    message_id: int
    conversation_id: int
    question: str
    answer: str
    score: int
    comment: str
    created_at: str


class UnknownConversation(LookupError):
    """The conversation was deleted or never existed."""


def title_from(question: str) -> str:
    line = " ".join(question.split())
    return line if len(line) <= MAX_TITLE else line[: MAX_TITLE - 1].rstrip() + "…"


class Conversations:
    def __init__(self, database: Database) -> None:
        self.db = database

    def create(self, title: str) -> int:
        with self.db.connect() as db:
            cursor = db.execute("INSERT INTO conversations(title) VALUES (?)", (title_from(title),))
            return int(cursor.lastrowid)

    def add_message(
        self, conversation_id: int, role: str, content: str, answer: dict[str, Any] | None = None
    ) -> int:
        with self.db.connect() as db:
            self._require(db, conversation_id)
            cursor = db.execute(
                _INSERT_MESSAGE,
                (conversation_id, role, content, json.dumps(answer) if answer else None),
            )
            db.execute(
                "UPDATE conversations SET updated_at = datetime('now') WHERE id = ?",
                (conversation_id,),
            )
            return int(cursor.lastrowid)

    def add_exchange(
        self, conversation_id: int | None, question: str, reply: str, answer: dict[str, Any]
    ) -> tuple[int, int]:
        """Save a question and its answer in one transaction (starting a conversation titled
        by the question when `conversation_id` is None): never one without the other, and one
        disk sync instead of three, which sessions answering at once would wait on in turn.
        Returns (conversation id, the answer's message id)."""
        with self.db.connect() as db:
            if conversation_id is None:
                cursor = db.execute(
                    "INSERT INTO conversations(title) VALUES (?)", (title_from(question),)
                )
                conversation_id = int(cursor.lastrowid)
            else:
                self._require(db, conversation_id)
            db.execute(_INSERT_MESSAGE, (conversation_id, "user", question, None))
            cursor = db.execute(
                _INSERT_MESSAGE, (conversation_id, "assistant", reply, json.dumps(answer))
            )
            db.execute(
                "UPDATE conversations SET updated_at = datetime('now') WHERE id = ?",
                (conversation_id,),
            )
            return conversation_id, int(cursor.lastrowid)

    def list(self) -> list[Conversation]:
        """Newest first, each with its first question and how many it holds (no messages)."""
        rows = self.db.fetch_all(
            "SELECT c.*, "
            "(SELECT q.content FROM messages q WHERE q.conversation_id = c.id "
            " AND q.role = 'user' ORDER BY q.id LIMIT 1) AS first_question, "
            "(SELECT COUNT(*) FROM messages q WHERE q.conversation_id = c.id "
            " AND q.role = 'user') AS questions "
            "FROM conversations c ORDER BY c.updated_at DESC, c.id DESC"
        )
        return [
            Conversation(
                r["id"],
                r["title"],
                r["created_at"],
                r["updated_at"],
                first_question=r["first_question"] or "",
                questions=r["questions"],
            )
            for r in rows
        ]

    def get(self, conversation_id: int) -> Conversation:
        with self.db.connect() as db:
            row = self._require(db, conversation_id)
            messages = db.execute(
                "SELECT m.*, f.score, f.comment FROM messages m "
                "LEFT JOIN feedback f ON f.message_id = m.id "
                "WHERE m.conversation_id = ? ORDER BY m.id",
                (conversation_id,),
            ).fetchall()
        return Conversation(
            row["id"],
            row["title"],
            row["created_at"],
            row["updated_at"],
            [
                Message(
                    m["id"],
                    m["role"],
                    m["content"],
                    json.loads(m["answer_json"]) if m["answer_json"] else None,
                    m["score"],
                    m["comment"] or "",
                )
                for m in messages
            ],
        )

    def rename(self, conversation_id: int, title: str) -> None:
        title = title_from(title)
        if not title:
            raise ValueError("A conversation needs a title.")
        with self.db.connect() as db:
            self._require(db, conversation_id)
            db.execute("UPDATE conversations SET title = ? WHERE id = ?", (title, conversation_id))

    def delete(self, conversation_id: int) -> None:
        with self.db.connect() as db:
            self._require(db, conversation_id)
            db.execute("DELETE FROM conversations WHERE id = ?", (conversation_id,))

    def record_feedback(self, message_id: int, score: int, comment: str = "") -> None:
        if score not in (-1, 1):
            raise ValueError("Feedback is thumbs up (1) or thumbs down (-1).")
        with self.db.connect() as db:
            role = db.execute("SELECT role FROM messages WHERE id = ?", (message_id,)).fetchone()
            if role is None or role["role"] != "assistant":
                raise UnknownConversation("That answer no longer exists.")
            db.execute(
                "INSERT INTO feedback(message_id, score, comment) VALUES (?,?,?) "
                "ON CONFLICT(message_id) DO UPDATE SET score = excluded.score, "
                "comment = excluded.comment, created_at = datetime('now')",
                (message_id, score, comment.strip()[:2000]),
            )

    def feedback(self) -> list[FeedbackEntry]:
        rows = self.db.fetch_all(
            "SELECT f.*, m.conversation_id, m.content AS answer, "
            "(SELECT q.content FROM messages q WHERE q.conversation_id = m.conversation_id "
            " AND q.id < m.id AND q.role = 'user' ORDER BY q.id DESC LIMIT 1) AS question "
            "FROM feedback f JOIN messages m ON m.id = f.message_id "
            "ORDER BY f.created_at DESC, f.message_id DESC"
        )
        return [
            FeedbackEntry(
                r["message_id"],
                r["conversation_id"],
                r["question"] or "",
                r["answer"],
                r["score"],
                r["comment"],
                r["created_at"],
            )
            for r in rows
        ]

    def export_markdown(self, conversation_id: int) -> str:
        conversation = self.get(conversation_id)
        lines = [f"# {conversation.title}", "", f"Started {conversation.created_at} UTC.", ""]
        for message in conversation.messages:
            if message.role == "user":
                lines += [f"**Question:** {message.content}", ""]
                continue
            lines += [message.content, ""]
            for c in (message.answer or {}).get("citations", []):
                where = " > ".join(x for x in (c.get("title"), c.get("section")) if x)
                url = f" <{c['url']}>" if c.get("url") else ""
                lines.append(f'[{c["n"]}] {where} ({c.get("source", "")}){url}: "{c["quote"]}"')
            lines.append("")
        lines.append("Not legal advice. Check figures against the current AliExpress seller rules.")
        return "\n".join(lines) + "\n"

    @staticmethod
    def _require(db, conversation_id: int):
        row = db.execute("SELECT * FROM conversations WHERE id = ?", (conversation_id,)).fetchone()
        if row is None:
            raise UnknownConversation("That conversation was deleted or never existed.")
        return row
