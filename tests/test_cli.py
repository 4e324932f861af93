"""The `compliance` command as a user runs it: real process, real model, real store."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import REPO

QUESTION = "How long does a seller have to respond to a buyer's refund request?"


@pytest.fixture(scope="module")
def cli_env(kb_settings, assistant) -> dict[str, str]:
    """Environment pointing the CLI at the session's already-ingested knowledge base."""
    return {
        **os.environ,
        "KNOWLEDGE_DIR": str(kb_settings.knowledge_dir),
        "DATA_DIR": str(kb_settings.data_dir),
        "CHROMA_HOST": "",
    }


def run(args: list[str], env: dict[str, str], stdin: str | None = None):
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        cwd=REPO,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_ask_json_shape(cli_env):
    result = run(["ask", "--json", QUESTION], cli_env)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert {"text", "refused", "citations", "passages"} <= set(data)
    assert data["refused"] is False and "5 days" in data["text"]
    citation = data["citations"][0]
    assert {"n", "source", "title", "section", "url", "quote"} <= set(citation)
    assert citation["source"].endswith(".md") and citation["n"] == 1
    passage = data["passages"][0]
    assert {"source", "section", "score", "text"} <= set(passage)
    assert data["passages"] == sorted(data["passages"], key=lambda p: -p["score"])


def test_ask_batch_from_stdin_one_json_per_line(cli_env):
    stdin = f"{QUESTION}\n\nWhat is the capital of France?\nWhich trademarks are restricted?\n"
    result = run(["ask", "--json", "-"], cli_env, stdin=stdin)
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [d["refused"] for d in lines] == [False, True, False]


def test_ask_pretty_output_and_empty_question(cli_env):
    result = run(["ask", QUESTION], cli_env)
    assert result.returncode == 0 and "[1]" in result.stdout and "https://" in result.stdout
    empty = run(["ask", "   "], cli_env)
    assert empty.returncode == 2 and "Please type a question" in empty.stdout
    assert "Traceback" not in empty.stderr


def test_unreachable_chroma_server_is_one_clear_line(cli_env):
    env = {**cli_env, "CHROMA_HOST": "127.0.0.1", "CHROMA_PORT": "9"}
    result = run(["ask", QUESTION], env)
    assert result.returncode == 2
    assert "Cannot open the Chroma server at 127.0.0.1:9" in result.stderr
    assert "Traceback" not in result.stderr


def test_eval_gate_fails_the_build_below_the_floor(cli_env, tmp_path):
    questions = tmp_path / "q.yaml"
    questions.write_text(
        "- id: x\n  category: direct\n"
        "  question: How many days does a seller have to accept or reject a refund request?\n"
        "  expect: {source: disputes-and-refunds.md, facts: ['5 days']}\n"
    )
    passing = run(
        [
            "eval",
            "--questions",
            str(questions),
            "--min-recall5",
            "0.9",
            "--min-citation-validity",
            "1.0",
        ],
        cli_env,
    )
    assert passing.returncode == 0, passing.stderr
    assert "overall" in passing.stdout
    failing = run(["eval", "--questions", str(questions), "--min-recall5", "1.5"], cli_env)
    assert failing.returncode == 1 and "recall@5 1.000 < 1.500" in failing.stderr
    missing = run(["eval", "--questions", str(tmp_path / "nope.yaml")], cli_env)
    assert missing.returncode == 2 and "Cannot read" in missing.stderr
