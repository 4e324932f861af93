"""Answer-quality evaluation on a question set: retrieval recall and MRR, key-fact accuracy,
refusal precision and recall, and citation validity (every `[n]` quote found verbatim in its
document).

Plain Python so the CLI, CI and the benchmark all score the same way.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from app.components.store import Store
from app.components.text import NUMBER_WORDS
from app.components.yamlfile import read_yaml
from app.services.answering import Answer, Answerer


class Expectation(BaseModel):
    model_config = ConfigDict(extra="forbid")
    source: str | None = None
    section: str | None = None
    facts: list[str] = Field(default_factory=list)
    refuse: bool = False

    @model_validator(mode="after")
    def _answerable_or_refused(self) -> Expectation:
        if self.refuse == bool(self.source or self.facts):
            raise ValueError(
                "give either `source` and/or `facts` (answerable) or `refuse: true`, not both"
            )
        for fact in self.facts:
            re.compile(fact)
        return self


class EvalItem(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    split: Literal["dev", "test"] = "dev"
    lang: str = "en"
    # Written after the glossaries were last widened and never used to widen them: the
    # other-language refusal threshold is read off these (see `calibration.fit`).
    held_from_glossary: bool = False
    category: str
    question: str
    history: list[dict[str, str]] = Field(default_factory=list)
    expect: Expectation

    @field_validator("id", mode="before")
    @classmethod
    def _numbers_are_ids_too(cls, value: object) -> object:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


class QuestionSetError(ValueError):
    """The question file is missing or malformed; the message names the item."""


def load_questions(path: Path) -> list[EvalItem]:
    raw = read_yaml(path, QuestionSetError)
    if not isinstance(raw, list) or not raw:
        raise QuestionSetError(f"{path} must be a non-empty list of questions")
    items: list[EvalItem] = []
    for number, entry in enumerate(raw, 1):
        name = entry.get("id", f"#{number}") if isinstance(entry, dict) else f"#{number}"
        try:
            items.append(EvalItem.model_validate(entry))
        except (ValidationError, re.error) as exc:
            raise QuestionSetError(f"Question {name} in {path}: {exc}") from exc
    ids = [item.id for item in items]
    if len(set(ids)) != len(ids):
        raise QuestionSetError(f"Duplicate question ids in {path}")
    return items


@dataclass
class ItemResult:
    id: str
    category: str
    question: str
    split: str
    lang: str
    refuse_expected: bool
    refused: bool
    doc_rank: int | None = None  # 1-based rank of the first passage from the expected document
    section_hit: bool = False
    facts_found: int = 0
    facts_total: int = 0
    citations: int = 0
    citations_valid: int = 0
    by_model: bool = False  # the text is an LLM's, verified (not the extractive fallback)
    fell_back: bool = False  # an LLM was asked but its answer was not used
    problems: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return bool(self.problems)


@dataclass
class Scores:
    questions: int = 0
    recall_at_1: float = 0.0
    recall_at_3: float = 0.0
    recall_at_5: float = 0.0
    mrr_at_10: float = 0.0
    key_fact_accuracy: float = 0.0
    answers_fully_correct: float = 0.0
    refusal_precision: float | None = None
    refusal_recall: float | None = None
    false_refusals: float | None = None  # answerable questions refused
    citation_validity: float | None = None
    model_answers: int = 0
    fallbacks: int = 0


@dataclass
class SplitReport:
    overall: Scores
    by_category: dict[str, Scores]
    by_language: dict[str, Scores]
    # 95% bootstrap intervals (questions resampled) of the headline figures.
    intervals: dict[str, tuple[float, float]]


@dataclass
class EvalReport:
    overall: Scores
    by_category: dict[str, Scores]
    items: list[ItemResult]
    splits: dict[str, SplitReport] = field(default_factory=dict)

    @property
    def failures(self) -> list[ItemResult]:
        return [item for item in self.items if item.failed]

    def to_dict(self) -> dict[str, Any]:
        return {
            "overall": asdict(self.overall),
            "by_category": {k: asdict(v) for k, v in self.by_category.items()},
            "splits": {
                name: {
                    "overall": asdict(r.overall),
                    "intervals": {k: list(v) for k, v in r.intervals.items()},
                    "by_category": {k: asdict(v) for k, v in r.by_category.items()},
                    "by_language": {k: asdict(v) for k, v in r.by_language.items()},
                }
                for name, r in self.splits.items()
            },
            "failures": [
                {
                    "id": i.id,
                    "split": i.split,
                    "category": i.category,
                    "question": i.question,
                    "problems": i.problems,
                }
                for i in self.failures
            ],
        }


DocumentText = Callable[[str], str]


def evaluate(
    assistant: Answerer,
    items: list[EvalItem],
    document_text: DocumentText,
    progress: Callable[[int, int], None] | None = None,
) -> EvalReport:
    results: list[ItemResult] = []
    for number, item in enumerate(items, 1):
        answer = assistant.ask(item.question, history=item.history)
        ranking = assistant.retrieve(item.question, history=item.history, k=10)
        results.append(_score_item(item, answer, ranking, document_text))
        if progress:
            progress(number, len(items))
    splits = {
        name: _split_report([r for r in results if r.split == name])
        for name in ("dev", "test")
        if any(r.split == name for r in results)
    }
    return EvalReport(
        overall=_aggregate(results),
        by_category=_grouped(results, lambda r: r.category),
        items=results,
        splits=splits,
    )


def _grouped(results: list[ItemResult], key: Callable[[ItemResult], str]) -> dict[str, Scores]:
    groups: dict[str, list[ItemResult]] = defaultdict(list)
    for result in results:
        groups[key(result)].append(result)
    return {name: _aggregate(group) for name, group in sorted(groups.items())}


HEADLINE = ("key_fact_accuracy", "refusal_recall", "false_refusals", "citation_validity")


def _split_report(results: list[ItemResult], rounds: int = 1000) -> SplitReport:
    """Scores of one split, with 95% intervals from resampling its questions (a figure on
    110 questions moves by several points from one question set to the next)."""
    import random

    rng = random.Random(0)
    samples: dict[str, list[float]] = {name: [] for name in HEADLINE}
    for _ in range(rounds):
        scores = _aggregate([rng.choice(results) for _ in results])
        for name in HEADLINE:
            value = getattr(scores, name)
            if value is not None:
                samples[name].append(value)
    intervals = {}
    for name, values in samples.items():
        if values:
            values.sort()
            intervals[name] = (values[int(0.025 * len(values))], values[int(0.975 * len(values))])
    return SplitReport(
        _aggregate(results),
        _grouped(results, lambda r: r.category),
        _grouped(results, lambda r: r.lang),
        intervals,
    )


def _score_item(item: EvalItem, answer: Answer, ranking, document_text: DocumentText) -> ItemResult:
    expect = item.expect
    result = ItemResult(
        item.id, item.category, item.question, item.split, item.lang, expect.refuse, answer.refused
    )
    result.fell_back = answer.provider_error is not None
    result.by_model = answer.engine != "extractive" and not result.fell_back and not answer.refused
    if expect.refuse:
        if not answer.refused:
            result.problems.append("answered, but the knowledge base does not cover this")
    else:
        for rank, passage in enumerate(ranking, 1):
            if passage.source == expect.source:
                result.doc_rank = result.doc_rank or rank
                if rank <= 5 and (not expect.section or expect.section in passage.section):
                    result.section_hit = True
        if expect.source and (result.doc_rank is None or result.doc_rank > 5):
            result.problems.append(f"{expect.source} not in the top 5 passages")
        result.facts_total = len(expect.facts)
        if answer.refused:
            result.problems.append("refused an answerable question")
        else:
            missing = [f for f in expect.facts if not fact_found(f, answer.text)]
            result.facts_found = result.facts_total - len(missing)
            if missing:
                result.problems.append(f"missing facts: {', '.join(missing)}")
    _check_citations(answer, document_text, result)
    return result


_SMALL_NUMBER = re.compile(r"(?<![\d.,])\b(1?\d|20)\b(?![.,]\d)")
_NUMBER_WORD = re.compile(rf"\b({'|'.join(NUMBER_WORDS)})\b", re.I)


def fact_found(pattern: str, text: str) -> bool:
    """A key fact's pattern found in the answer, whichever way a small number is written: the
    rulebook quotes "3 serious infringements" where a question writer expects "three"."""
    spelled = _SMALL_NUMBER.sub(lambda m: NUMBER_WORDS[int(m.group(1))], text)
    digits = _NUMBER_WORD.sub(lambda m: str(NUMBER_WORDS.index(m.group(1).lower())), text)
    return any(re.search(pattern, t, re.I) for t in (text, spelled, digits))


def _check_citations(answer: Answer, document_text: DocumentText, result: ItemResult) -> None:
    """Every marker maps to a citation, and every citation's quote is in its document."""
    numbers = {c.n: c for c in answer.citations}
    markers = {int(n) for n in re.findall(r"\[(\d+)\]", answer.text)}
    result.citations = len(markers | set(numbers))
    for n in sorted(markers | set(numbers)):
        citation = numbers.get(n)
        if citation is None:
            result.problems.append(f"[{n}] has no citation")
        elif citation.quote and citation.quote in document_text(citation.source):
            result.citations_valid += 1
        else:
            result.problems.append(f"[{n}] quote not found verbatim in {citation.source}")


def _aggregate(results: list[ItemResult]) -> Scores:
    answerable = [r for r in results if not r.refuse_expected]
    scores = Scores(questions=len(results))
    if answerable:
        scores.false_refusals = sum(r.refused for r in answerable) / len(answerable)
        ranks = [r.doc_rank for r in answerable]
        scores.recall_at_1 = _share(ranks, 1)
        scores.recall_at_3 = _share(ranks, 3)
        scores.recall_at_5 = _share(ranks, 5)
        scores.mrr_at_10 = sum(1 / r for r in ranks if r and r <= 10) / len(ranks)
        facts = sum(r.facts_total for r in answerable)
        scores.key_fact_accuracy = sum(r.facts_found for r in answerable) / facts if facts else 1.0
        scores.answers_fully_correct = sum(
            1 for r in answerable if r.facts_found == r.facts_total and not r.refused
        ) / len(answerable)
    refused = [r for r in results if r.refused]
    unanswerable = [r for r in results if r.refuse_expected]
    if refused:
        scores.refusal_precision = sum(r.refuse_expected for r in refused) / len(refused)
    if unanswerable:
        scores.refusal_recall = sum(r.refused for r in unanswerable) / len(unanswerable)
    scores.model_answers = sum(r.by_model for r in results)
    scores.fallbacks = sum(r.fell_back for r in results)
    cited = sum(r.citations for r in results)
    if cited:
        scores.citation_validity = sum(r.citations_valid for r in results) / cited
    return scores


def _share(ranks: list[int | None], k: int) -> float:
    return sum(1 for r in ranks if r and r <= k) / len(ranks)


def document_reader(store: Store) -> DocumentText:
    """The text a citation must be found in: the file itself for UTF-8 Markdown and text
    sources, the indexed text for converted formats (PDF, DOCX, HTML) and other encodings."""
    cache: dict[str, str] = {}

    def read(source: str) -> str:
        if source not in cache:
            path = Path(source)
            path = path if path.is_absolute() else store.settings.knowledge_dir / path
            try:
                if path.suffix.lower() not in {".md", ".markdown", ".txt"}:
                    raise ValueError("converted format")
                cache[source] = path.read_text(encoding="utf-8-sig")
            except (OSError, ValueError):
                chunks = store.collection.get(where={"source": source})
                cache[source] = "\n".join(chunks["documents"] or [])
        return cache[source]

    return read
