"""The `compliance` command as a user runs it: real process, real model, real store."""

from __future__ import annotations

import json

import pytest

from tests.conftest import cli_env, run_cli

QUESTION = "How long does a seller have to respond to a buyer's refund request?"


@pytest.fixture(scope="module")
def kb_env(kb_settings, assistant) -> dict[str, str]:
    """Environment pointing the CLI at the session's already-ingested knowledge base."""
    return cli_env(kb_settings)


def run(args: list[str], env: dict[str, str], stdin: str | None = None):
    return run_cli(*args, env=env, stdin=stdin)


def test_ask_json_shape(kb_env):
    result = run(["ask", "--json", QUESTION], kb_env)
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


def test_ask_batch_from_stdin_one_json_per_line(kb_env):
    stdin = f"{QUESTION}\n\nWhat is the capital of France?\nWhich trademarks are restricted?\n"
    result = run(["ask", "--json", "-"], kb_env, stdin=stdin)
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [d["refused"] for d in lines] == [False, True, False]


def test_ask_pretty_output_and_empty_question(kb_env):
    result = run(["ask", QUESTION], kb_env)
    assert result.returncode == 0 and "[1]" in result.stdout and "https://" in result.stdout
    flat = " ".join(result.stdout.replace("│", " ").split())
    assert "after the buyer opens it or changes it." in flat  # wrapped, never cropped
    empty = run(["ask", "   "], kb_env)
    assert empty.returncode == 2 and "Please type a question" in empty.stdout
    assert "Traceback" not in empty.stderr


def test_unreachable_chroma_server_is_one_clear_line(kb_env):
    env = {**kb_env, "CHROMA_HOST": "127.0.0.1", "CHROMA_PORT": "9"}
    result = run(["ask", QUESTION], env)
    assert result.returncode == 2
    assert "Cannot open the Chroma server at 127.0.0.1:9" in result.stderr
    assert "Traceback" not in result.stderr


def test_eval_gate_fails_the_build_below_the_floor(kb_env, tmp_path):
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
        kb_env,
    )
    assert passing.returncode == 0, passing.stderr
    assert "overall" in passing.stdout
    failing = run(["eval", "--questions", str(questions), "--min-recall5", "1.5"], kb_env)
    assert failing.returncode == 1 and "recall@5 1.000 < 1.500" in failing.stderr
    missing = run(["eval", "--questions", str(tmp_path / "nope.yaml")], kb_env)
    assert missing.returncode == 2 and "Cannot read" in missing.stderr
    per_lang = ["eval", "--questions", str(questions), "--min-lang-key-facts"]
    assert run([*per_lang, "en=0.5"], kb_env).returncode == 0
    absent = run([*per_lang, "en=0.5,zh=0.5"], kb_env)
    assert absent.returncode == 1 and "no zh questions" in absent.stderr
    malformed = run([*per_lang, "zh"], kb_env)
    assert malformed.returncode == 2 and "language=number" in malformed.stderr
