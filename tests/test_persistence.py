"""The app database and the services on it: migrations, conversations, feedback, uploads."""

from __future__ import annotations

import sqlite3

import pytest

from app.components.database import MIGRATIONS, Database
from app.services.conversations import Conversations, UnknownConversation
from app.services.knowledge import DuplicateUpload, UploadRejected
from tests.samples import RULE_MD


def test_an_old_database_is_upgraded_in_place(tmp_path):
    path = tmp_path / "app.sqlite"
    db = sqlite3.connect(path)
    db.executescript(MIGRATIONS[0] + "; PRAGMA user_version=1;")
    db.execute("INSERT INTO conversations(title) VALUES ('kept')")
    db.commit()
    db.close()
    database = Database(path)
    assert database.fetch_one("PRAGMA user_version")[0] == len(MIGRATIONS)
    assert database.fetch_one("PRAGMA journal_mode")[0] == "wal"
    assert [c.title for c in Conversations(database).list()] == ["kept"]
    Database(path)  # opening again runs nothing twice
    assert database.fetch_one("SELECT COUNT(*) FROM conversations")[0] == 1


def test_a_question_and_its_answer_are_saved_together(tmp_path):
    store = Conversations(Database(tmp_path / "app.sqlite"))
    answer = {"text": "Five days. [1]", "citations": []}
    cid, mid = store.add_exchange(None, "How long do I have to respond?", "Five days. [1]", answer)
    _, second = store.add_exchange(cid, "and if I miss it?", "It closes.", {"text": "It closes."})
    conversation = store.get(cid)
    assert conversation.title == "How long do I have to respond?"
    assert [(m.role, m.content) for m in conversation.messages] == [
        ("user", "How long do I have to respond?"),
        ("assistant", "Five days. [1]"),
        ("user", "and if I miss it?"),
        ("assistant", "It closes."),
    ]
    assert [m.id for m in conversation.messages][1::2] == [mid, second]
    assert conversation.messages[1].answer == answer
    store.delete(cid)
    with pytest.raises(UnknownConversation):  # deleted meanwhile: nothing half-saved
        store.add_exchange(cid, "still there?", "No.", {"text": "No."})
    assert store.db.fetch_one("SELECT COUNT(*) FROM messages")[0] == 0


def test_conversation_lifecycle_and_export(tmp_path):
    store = Conversations(Database(tmp_path / "app.sqlite"))
    cid = store.create("  How long   do I have to respond?  " + "x" * 200)
    assert len(store.get(cid).title) <= 80
    store.add_message(cid, "user", "How long do I have to respond?")
    answer = {
        "text": "Five days. [1]",
        "citations": [
            {
                "n": 1,
                "title": "Disputes",
                "section": "Response deadline",
                "source": "d.md",
                "url": "https://example.org/d",
                "quote": "A seller has 5 days.",
            }
        ],
    }
    mid = store.add_message(cid, "assistant", "Five days. [1]", answer)
    conversation = store.get(cid)
    assert conversation.history() == [
        {"role": "user", "content": "How long do I have to respond?"},
        {"role": "assistant", "content": "Five days. [1]"},
    ]
    assert conversation.messages[1].answer == answer

    store.record_feedback(mid, -1, "too short")
    store.record_feedback(mid, 1, "fine after all")  # changing one's mind replaces the vote
    [entry] = store.feedback()
    assert (entry.score, entry.comment, entry.question) == (
        1,
        "fine after all",
        "How long do I have to respond?",
    )
    with pytest.raises(UnknownConversation):
        store.record_feedback(conversation.messages[0].id, 1)  # questions are not rated

    store.rename(cid, "Dispute deadline")
    [listed] = store.list()  # the list tells conversations apart by their first question
    assert (listed.title, listed.first_question, listed.questions) == (
        "Dispute deadline",
        "How long do I have to respond?",
        1,
    )
    markdown = store.export_markdown(cid)
    assert markdown.startswith("# Dispute deadline")
    assert (
        '[1] Disputes > Response deadline (d.md) <https://example.org/d>: "A seller has 5 days."'
        in markdown
    )
    with pytest.raises(ValueError):
        store.rename(cid, "   ")

    store.delete(cid)
    assert store.list() == [] and store.feedback() == []
    with pytest.raises(UnknownConversation):
        store.get(cid)


def test_uploads_are_checked_and_never_overwrite(tmp_settings, embeddings):
    from app.container import build

    kb = build(tmp_settings, embeddings).knowledge(Database(tmp_settings.data_dir / "app.sqlite"))
    first = kb.save_upload("../../etc/Returns policy.md", RULE_MD.encode())
    second = kb.save_upload("Returns policy.md", (RULE_MD + "\nRevised.\n").encode())
    uploads = tmp_settings.knowledge_dir / "uploads"
    assert first == uploads / "Returns policy.md"
    assert second == uploads / "Returns policy (2).md"
    for name in ("Returns policy.md", "copy of the policy.md"):  # same bytes, any name
        with pytest.raises(DuplicateUpload, match="already in the knowledge base as uploads/Ret"):
            kb.save_upload(name, RULE_MD.encode())
    with pytest.raises(UploadRejected, match="not a supported type"):
        kb.save_upload("photo.jpg", b"\xff\xd8")
    with pytest.raises(UploadRejected, match="corrupt"):
        kb.save_upload("broken.docx", b"PK\x03\x04 nope")
    with pytest.raises(UploadRejected, match="limit is 20 MB"):
        kb.save_upload("huge.txt", b"a" * 20_000_001)
    assert sorted(p.name for p in uploads.iterdir()) == [
        "Returns policy (2).md",
        "Returns policy.md",
    ]

    report = kb.ingest([first])
    assert report.files_read == 1 and kb.last_changes()["changed"] == [
        {"source": "uploads/Returns policy.md", "change": "added"}
    ]
    assert [d.source for d in kb.documents()] == ["uploads/Returns policy.md"]
    assert kb.remove("uploads/Returns policy.md") == report.added
    assert not first.exists() and kb.documents() == []
    assert kb.last_changes()["changed"][0]["change"] == "removed"
