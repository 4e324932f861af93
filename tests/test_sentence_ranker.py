"""The fitted sentence ranking: the shipped model, its use in answers, and fitting it again from
real evidence on the shipped knowledge base."""

from __future__ import annotations

import json
import re

import pytest

from app.components.sentence_ranker import (
    SENTENCE_FEATURES,
    SentenceRankerError,
    load_sentence_ranker,
)
from app.services.calibration import (
    SentenceRows,
    collect_sentences,
    facts_in_top,
    fit_sentences,
)
from app.services.evaluation import load_questions
from tests.conftest import REPO, write

SHIPPED = REPO / "eval" / "sentence-model.json"


def test_the_shipped_sentence_model_matches_the_measures():
    model = load_sentence_ranker(SHIPPED)
    assert model is not None and model.features == SENTENCE_FEATURES
    assert len(model.coef) == len(model.mean) == len(model.scale) == len(SENTENCE_FEATURES)
    assert "dev split" in model.fitted_on
    # what the fit found, in the direction the measures mean: a sentence closer to the question
    # and one stating the figure asked for are likelier to hold the fact
    coef = dict(zip(model.features, model.coef, strict=True))
    assert coef["semantic"] > 0 and coef["states_figure"] > 0


def test_answers_are_ranked_by_the_fitted_model(assistant):
    assert assistant.retrieval.ranker is not None
    found = assistant.retrieval.find("How long do penalty points stay on my record?", 8)
    scores = [s.score for s in found.scored]
    assert all(0.0 <= s <= 1.0 for s in scores) and scores == sorted(scores, reverse=True)
    assert all(len(s.features) == len(SENTENCE_FEATURES) for s in found.scored)


@pytest.mark.parametrize(
    ("question", "fact"),
    [
        # the hand-set weights quoted four neighbouring sentences and left these out
        ("IOSS limit for AliExpress orders?", r"(EUR|€) ?150\b|\b150 ?(EUR|euros?)"),
        ("Which EU law lets customs officers stop counterfeit goods at the border?", "608/2013"),
    ],
)
def test_the_fitted_ranking_quotes_the_fact(assistant, question, fact):
    answer = assistant.ask(question)
    assert not answer.refused
    assert re.search(fact, answer.text, re.I), answer.text


def test_facts_in_top_counts_each_fact_once_per_question():
    rows = SentenceRows(
        rows=[(0.0,)] * 5,
        facts=[0b01, 0b01, 0b10, 0, 0b1],
        question=[0, 0, 0, 1, 1],
        fact_count=[2, 2, 2, 1, 1],
        hand_score=[],
    )
    # question 0: the two best hold fact 1 twice (1 of 2); question 1: its best holds nothing
    assert facts_in_top(rows, [0.9, 0.8, 0.1, 0.7, 0.2], top=2) == pytest.approx(2 / 3)
    assert facts_in_top(rows, [0.9, 0.8, 0.1, 0.7, 0.2], top=1) == pytest.approx(1 / 3)
    assert facts_in_top(rows, [0.1, 0.2, 0.9, 0.1, 0.9], top=2) == pytest.approx(3 / 3)


def test_calibration_fits_a_ranking_from_real_evidence(assistant):
    items = [
        i
        for i in load_questions(REPO / "eval" / "questions.yaml")
        if i.split == "dev" and i.lang == "en" and i.expect.facts
    ][:80]
    data = collect_sentences(assistant, items)
    assert len(set(data.question)) >= 70
    assert all(len(r) == len(SENTENCE_FEATURES) for r in data.rows)
    assert any(data.facts) and not all(data.facts)
    report = fit_sentences(data)
    assert report.model.features == SENTENCE_FEATURES
    assert report.questions == len(set(data.question)) and report.sentences == len(data.rows)
    assert 0.5 < report.cv_facts_in_top <= 1.0 and 0.5 < report.hand_facts_in_top <= 1.0


def test_a_broken_or_stale_sentence_model_is_named(tmp_path):
    path = write(tmp_path / "ranker.json", "{not json")
    with pytest.raises(SentenceRankerError, match="Cannot read"):
        load_sentence_ranker(path)
    stale = json.loads(SHIPPED.read_text())
    stale["features"] = stale["features"][:-1]
    path.write_text(json.dumps(stale))
    with pytest.raises(SentenceRankerError, match="calibrate"):
        load_sentence_ranker(path)
    assert load_sentence_ranker(tmp_path / "absent.json") is None


def test_calibrate_writes_both_models_and_ask_uses_them(kb_settings, assistant, tmp_path):
    import yaml

    from tests.conftest import cli_env, run_cli

    every = yaml.safe_load((REPO / "eval" / "questions.yaml").read_text(encoding="utf-8"))
    dev = [q for q in every if q["split"] == "dev"]
    subset = [q for q in dev if q.get("lang", "en") == "en"][:150]
    questions = write(tmp_path / "questions.yaml", yaml.safe_dump(subset, allow_unicode=True))
    env = cli_env(kb_settings)
    ranker, refusal = tmp_path / "sentences.json", tmp_path / "refusal.json"
    result = run_cli(
        "calibrate",
        "--questions",
        str(questions),
        "--out",
        str(refusal),
        "--sentences-out",
        str(ranker),
        env=env,
    )
    assert result.returncode == 0, result.stderr
    assert "Sentence ranking fitted on" in result.stdout and "hand-set weights" in result.stdout
    assert load_sentence_ranker(ranker).features == SENTENCE_FEATURES
    asked = run_cli(
        "ask",
        "--json",
        # clearly covered: a fit on 150 questions puts a terse one ("IOSS limit?") either side
        # of its threshold as the questions' evidence shifts
        "How many days does a seller have to respond to a refund request?",
        env={**env, "SENTENCE_MODEL": str(ranker), "REFUSAL_MODEL": str(refusal)},
    )
    assert asked.returncode == 0, asked.stderr
    assert json.loads(asked.stdout)["citations"]


def test_a_broken_sentence_model_is_one_clear_line_in_the_cli(kb_settings, assistant, tmp_path):
    from tests.conftest import cli_env, run_cli

    broken = write(tmp_path / "ranker.json", "{not json")
    env = {**cli_env(kb_settings), "SENTENCE_MODEL": str(broken)}
    result = run_cli("ask", "How long do penalty points last?", env=env)
    assert result.returncode != 0
    assert "Cannot read the sentence model" in result.stdout + result.stderr
    assert "Traceback" not in result.stderr
