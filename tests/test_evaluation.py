"""The evaluation harness: question-set validation, scoring, and the CI gates on the dev set."""

from __future__ import annotations

import dataclasses
import re

import pytest

from app.services.evaluation import (
    EvalItem,
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
    assert len(items) >= 300
    splits = {name: [i for i in items if i.split == name] for name in ("dev", "test")}
    assert len(splits["test"]) >= 100 and len(splits["dev"]) >= 100
    for group in splits.values():  # both splits hold every kind of question
        assert {"seller-voice", "scenario", "close-uncovered"} <= {i.category for i in group}
    assert sum(i.expect.refuse for i in items if i.category != "unanswerable") >= 60
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
    """A key fact the expected document does not contain could never be answered (checked for
    the hand-labelled items, which name a section; the blind-written ones may not be covered)."""
    for item in load_questions(DEV_SET):
        if item.expect.refuse or not item.expect.section:
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
    report = evaluate(assistant, load_questions(path), document_reader(assistant.retrieval.store))
    overall = report.overall
    assert overall.recall_at_5 == 1.0 and overall.mrr_at_10 > 0.5
    assert overall.key_fact_accuracy == pytest.approx(2 / 3)
    assert overall.answers_fully_correct == pytest.approx(1 / 2)
    assert overall.refusal_recall == 1.0 and overall.refusal_precision == 1.0
    assert overall.citation_validity == 1.0
    assert [f.id for f in report.failures] == ["wrong-fact"]
    assert "99 weeks" in report.failures[0].problems[0]


class _FixedAnswer:
    """An engine whose answer is given (a tampered one, say) but whose ranking is the real
    assistant's, so `evaluate` scores exactly that answer."""

    label = "fixed"
    streams = False
    llm = None
    llm_settings = None

    def __init__(self, assistant, answer):
        self.assistant, self.answer = assistant, answer

    def ask(self, question, history=None, on_token=None):
        return self.answer

    def retrieve(self, question, history=None, k=None):
        return self.assistant.retrieve(question, history=history, k=k)


def test_a_tampered_quote_fails_citation_validity(assistant):
    question = "How many days does a seller have to accept or reject a refund request?"
    item = EvalItem(
        id="refund-deadline",
        category="direct",
        question=question,
        expect={"source": "disputes-and-refunds.md", "facts": ["5 days"]},
    )
    reader = document_reader(assistant.retrieval.store)
    real = assistant.ask(question)
    assert not real.refused and len(real.citations) >= 2
    target = next(c for c in real.citations if "5 days" in c.quote)
    forged_quote = target.quote.replace("5 days", "5 weeks")
    assert forged_quote not in reader(target.source)  # really a tampered quote
    tampered = dataclasses.replace(
        real,
        citations=[
            dataclasses.replace(c, quote=forged_quote) if c is target else c for c in real.citations
        ],
    )
    assert target.quote in reader(target.source)  # the real answer was left untouched

    honest = evaluate(_FixedAnswer(assistant, real), [item], reader)
    assert honest.overall.citation_validity == 1.0
    assert not honest.failures

    forged = evaluate(_FixedAnswer(assistant, tampered), [item], reader)
    total = forged.items[0].citations
    assert total == len(real.citations)
    assert forged.overall.citation_validity == pytest.approx((total - 1) / total)
    assert forged.overall.citation_validity < 1.0
    assert [f.id for f in forged.failures] == ["refund-deadline"]
    assert forged.failures[0].problems == [
        f"[{target.n}] quote not found verbatim in {target.source}"
    ]


@pytest.mark.slow
def test_dev_set_meets_the_ci_gates(assistant):
    """Citation validity must be 100% on the dev split, and recall@5 at least 0.9 on its
    hand-labelled items (the test split is gated by `make eval`)."""
    items = [i for i in load_questions(DEV_SET) if i.split == "dev"]
    report = evaluate(assistant, items, document_reader(assistant.retrieval.store))
    print(f"\ndev split: {report.overall}")
    assert report.overall.citation_validity == 1.0, [f.problems for f in report.failures]
    labelled = {i.id for i in items if i.expect.section}
    ranks = [r.doc_rank for r in report.items if r.id in labelled and not r.refuse_expected]
    assert sum(1 for r in ranks if r and r <= 5) / len(ranks) >= 0.9


def test_a_key_fact_counts_whichever_way_a_small_number_is_written():
    from app.services.evaluation import fact_found

    assert fact_found("three", "3 serious IP infringements close the account.")
    assert fact_found(r"\b2 points\b", "A minor false shipment costs two points.")
    assert fact_found(r"\b(12|twelve) points\b", "At 12 points the store is frozen for 7 days.")
    assert not fact_found("three", "Refunds reach the buyer in 13 days or 1.3 weeks.")
    assert not fact_found("three", "Serious infringements close the account.")
