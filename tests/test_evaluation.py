"""The evaluation harness: question-set validation, scoring, and the CI gates on the dev set."""

from __future__ import annotations

import re

import pytest

from app.services.evaluation import (
    QuestionSetError,
    document_reader,
    evaluate,
    load_questions,
)
from tests.conftest import KNOWLEDGE, REPO

DEV_SET = REPO / "eval" / "questions.yaml"


def test_dev_set_is_valid_and_large_enough():
    items = load_questions(DEV_SET)
    categories = {item.category for item in items}
    assert len(items) >= 80
    assert {
        "direct",
        "paraphrased",
        "multi-part",
        "follow-up",
        "typo",
        "unanswerable",
    } <= categories
    assert sum(item.expect.refuse for item in items) >= 15
    assert all(item.history for item in items if item.category == "follow-up")


def test_every_expected_fact_and_section_exists_in_its_document():
    """A key fact the expected document does not contain could never be answered."""
    for item in load_questions(DEV_SET):
        if item.expect.refuse:
            continue
        text = (KNOWLEDGE / item.expect.source).read_text(encoding="utf-8")
        assert re.search(rf"^#+ .*{re.escape(item.expect.section)}", text, re.M), item.id
        for fact in item.expect.facts:
            assert re.search(fact, text, re.I), f"{item.id}: {fact!r} not in {item.expect.source}"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("- id: a\n  category: direct\n  question: q\n  expect: {}\n", "Question a"),
        (
            "- id: b\n  category: direct\n  question: q\n  expect: {source: x.md, refuse: true}\n",
            "either `source`",
        ),
        (
            "- id: c\n  category: direct\n  question: q\n  expect: {source: x.md, facts: ['(']}\n",
            "Question c",
        ),
        ("- id: d\n  question: q\n  expect: {refuse: true}\n", "Question d"),
        ("just text", "non-empty list"),
        ("- [unclosed", "not valid YAML"),
    ],
)
def test_broken_question_sets_name_the_problem(tmp_path, content, message):
    path = tmp_path / "questions.yaml"
    path.write_text(content)
    with pytest.raises(QuestionSetError, match=re.escape(message)):
        load_questions(path)


def test_scores_on_a_small_set(tmp_path, assistant):
    path = tmp_path / "small.yaml"
    path.write_text(
        "- id: ok\n  category: direct\n"
        "  question: How many days does a seller have to accept or reject a refund request?\n"
        "  expect: {source: disputes-and-refunds.md, section: Response deadline,"
        " facts: ['5 days']}\n"
        "- id: wrong-fact\n  category: direct\n"
        "  question: How many days does a seller have to accept or reject a refund request?\n"
        "  expect: {source: disputes-and-refunds.md, facts: ['5 days', '99 weeks']}\n"
        "- id: offtopic\n  category: unanswerable\n  question: What is the capital of France?\n"
        "  expect: {refuse: true}\n"
    )
    report = evaluate(assistant, load_questions(path), document_reader(assistant))
    overall = report.overall
    assert overall.recall_at_5 == 1.0 and overall.mrr_at_10 > 0.5
    assert overall.key_fact_accuracy == pytest.approx(2 / 3)
    assert overall.answers_fully_correct == pytest.approx(1 / 2)
    assert overall.refusal_recall == 1.0 and overall.refusal_precision == 1.0
    assert overall.citation_validity == 1.0
    assert [f.id for f in report.failures] == ["wrong-fact"]
    assert "99 weeks" in report.failures[0].problems[0]


def test_a_tampered_quote_fails_citation_validity(assistant):
    answer = assistant.ask("How many days does a seller have to accept or reject a refund request?")
    reader = document_reader(assistant)
    assert answer.citations[0].quote in reader(answer.citations[0].source)
    assert "5 weeks to accept" not in reader(answer.citations[0].source)


@pytest.mark.slow
def test_dev_set_meets_the_ci_gates(assistant):
    """CI gate: citation validity must be 100% and recall@5 at least 0.9 on the dev set."""
    report = evaluate(assistant, load_questions(DEV_SET), document_reader(assistant))
    overall = report.overall
    print(f"\ndev set: {overall}")
    assert overall.citation_validity == 1.0, [f.problems for f in report.failures]
    assert overall.recall_at_5 >= 0.9
