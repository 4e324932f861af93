"""Incremental, idempotent ingestion into a real embedded Chroma."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from app.components.store import ModelMismatchError
from ingest.pipeline import run_ingest
from tests.conftest import REPO, cli_env, make_settings, write
from tests.samples import RULE_MD, make_docx, make_pdf


def _doc(topic: str, n: int) -> str:
    body = "\n\n".join(
        f"## Part {i}\n\nFor {topic}, rule {i} requires the seller to keep record {i} for 90 days. "
        f"Missing record {i} is a violation of the {topic} policy."
        for i in range(n)
    )
    return f"---\ntitle: {topic.title()} rules\nsources: [https://example.org/{topic}]\n---\n\n{body}\n"


def _ids_by_source(store) -> dict[str, set[str]]:
    data = store.collection.get(include=["metadatas"])
    out: dict[str, set[str]] = {}
    for chunk_id, meta in zip(data["ids"], data["metadatas"], strict=True):
        out.setdefault(meta["source"], set()).add(chunk_id)
    return out


def test_incremental_reingest_edit_and_delete(tmp_settings, store_for):
    kb = tmp_settings.knowledge_dir
    write(kb / "a.md", _doc("shipping", 4))
    write(kb / "b.md", _doc("returns", 3))
    write(kb / "c.md", RULE_MD)
    store = store_for(tmp_settings)

    first = run_ingest(tmp_settings, store=store)
    assert first.files_read == 3 and first.added == first.chunks_total > 0
    assert set(first.changed_sources.values()) == {"added"}
    before = _ids_by_source(store)

    second = run_ingest(tmp_settings, store=store)
    assert (second.added, second.updated, second.deleted) == (0, 0, 0)
    assert second.unchanged == first.chunks_total and not second.changed_sources

    # Edit one section of b.md: only b's changed chunk is re-embedded, the others stay.
    text = (kb / "b.md").read_text().replace("rule 1 requires", "rule 1 strictly requires")
    (kb / "b.md").write_text(text)
    third = run_ingest(tmp_settings, store=store)
    after = _ids_by_source(store)
    assert third.added == 1 and third.deleted == 1
    assert third.changed_sources == {"b.md": "updated"}
    assert after["a.md"] == before["a.md"] and after["c.md"] == before["c.md"]
    assert len(after["b.md"] - before["b.md"]) == 1

    # Delete a file: its chunks disappear, nothing else does.
    (kb / "a.md").unlink()
    fourth = run_ingest(tmp_settings, store=store)
    assert fourth.deleted == len(before["a.md"])
    assert fourth.changed_sources == {"a.md": "removed"}
    assert "a.md" not in _ids_by_source(store)
    assert store.records.list_keys(group_ids=["a.md"]) == []
    assert (
        store.collection.count() == fourth.chunks_total == first.chunks_total - len(before["a.md"])
    )


def test_bad_files_are_skipped_and_the_rest_ingests(tmp_settings, store_for):
    kb = tmp_settings.knowledge_dir
    write(kb / "good.md", RULE_MD)
    make_pdf(kb / "manual.pdf", ["Pack fragile goods in double boxes before shipping."])
    make_docx(kb / "handbook.docx")
    (kb / "broken.pdf").write_bytes(b"%PDF-1.4 nonsense")
    (kb / "empty.txt").write_bytes(b"")
    (kb / "photo.jpg").write_bytes(b"\xff\xd8\xff")
    (kb / ".hidden.md").write_text("ignored")
    report = run_ingest(tmp_settings, store=store_for(tmp_settings))
    assert report.files_read == 3
    reasons = dict(report.skipped)
    assert set(reasons) == {"broken.pdf", "empty.txt", "photo.jpg"}
    assert "corrupt" in reasons["broken.pdf"] and "empty" in reasons["empty.txt"]
    assert report.ok
    pages = {m.get("page") for m in store_for(tmp_settings).collection.get()["metadatas"]}
    assert 1 in pages  # the PDF's page number reached the store


def test_a_file_that_breaks_keeps_its_previous_version(tmp_settings, store_for):
    kb = tmp_settings.knowledge_dir
    write(kb / "rules.md", RULE_MD)
    store = store_for(tmp_settings)
    first = run_ingest(tmp_settings, store=store)
    (kb / "rules.md").write_bytes(b"\xff\xfe broken encoding \x00")
    second = run_ingest(tmp_settings, store=store)
    assert "previously indexed version is kept" in dict(second.skipped)["rules.md"]
    assert store.collection.count() == first.chunks_total


def test_model_mismatch_is_refused_until_rebuild(tmp_settings, store_for):
    write(tmp_settings.knowledge_dir / "rules.md", RULE_MD)
    store = store_for(tmp_settings)
    run_ingest(tmp_settings, store=store)
    meta = dict(store.collection.metadata)
    store.collection.modify(metadata={**meta, "embedding_model": "some-other-model@0123456789ab"})
    with pytest.raises(ModelMismatchError, match="--rebuild"):
        run_ingest(tmp_settings, store=store_for(tmp_settings))
    rebuilt = run_ingest(tmp_settings, rebuild=True)
    assert rebuilt.added == rebuilt.chunks_total > 0
    assert store_for(tmp_settings).recorded_model() == store.fingerprint


def test_lost_vectors_are_re_embedded(tmp_settings, store_for):
    """If the store is wiped behind the record manager's back, the next run repairs it."""
    write(tmp_settings.knowledge_dir / "rules.md", RULE_MD)
    store = store_for(tmp_settings)
    total = run_ingest(tmp_settings, store=store).chunks_total
    store.client.delete_collection(tmp_settings.collection_name)
    repaired = run_ingest(tmp_settings, store=store_for(tmp_settings))
    assert repaired.added == total and repaired.chunks_total == total


@pytest.mark.slow
def test_killed_ingest_then_rerun_leaves_exactly_the_right_chunks(tmp_path, store_for):
    killed = make_settings(tmp_path / "killed")
    fresh = make_settings(tmp_path / "fresh", knowledge_dir=killed.knowledge_dir)
    for i in range(40):
        write(killed.knowledge_dir / f"doc{i:02d}.md", _doc(f"topic{i}", 6))

    proc = subprocess.Popen(
        [sys.executable, "-m", "ingest"],
        cwd=REPO,
        env=cli_env(killed),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    records = killed.data_dir / "records.sqlite"
    recorded = 0
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if records.exists():
            try:
                with sqlite3.connect(records, timeout=0.1) as db:
                    recorded = db.execute("select count(*) from upsertion_record").fetchone()[0]
            except sqlite3.Error:
                recorded = 0
            if recorded >= 6:
                break
        time.sleep(0.02)
    assert proc.poll() is None, "ingest finished before it could be interrupted"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert 0 < recorded < 240  # it really was cut off part-way

    rerun = run_ingest(killed, store=store_for(killed))
    reference = run_ingest(fresh, store=store_for(fresh))
    got = store_for(killed).collection.get()
    want = store_for(fresh).collection.get()
    assert len(got["ids"]) == len(set(got["ids"])) == reference.chunks_total == rerun.chunks_total
    assert set(got["ids"]) == set(want["ids"])
    assert sorted(got["documents"]) == sorted(want["documents"])


def _ingest_cli(settings, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ingest", *args],
        cwd=REPO,
        env=cli_env(settings),
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_cli_ingest_exit_codes(tmp_path):
    result = _ingest_cli(make_settings(tmp_path / "empty"), "--json")
    assert result.returncode == 1 and "no documents found" in result.stderr
    assert "Traceback" not in result.stderr

    bad = make_settings(tmp_path / "bad")
    (bad.knowledge_dir / "broken.pdf").write_bytes(b"%PDF garbage")
    result = _ingest_cli(bad)
    assert result.returncode == 1 and "no file could be ingested" in result.stderr
    assert "broken.pdf" in result.stdout and "corrupt" in result.stdout

    result = _ingest_cli(bad, str(tmp_path / "nope"))
    assert result.returncode == 1 and "no such file or folder" in result.stdout
