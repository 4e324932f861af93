"""Grounded answers without an LLM: the answer is made of the indexed sentences that best
answer the question, each with an `[n]` marker whose citation quotes it verbatim.

When the evidence is weak the assistant says the knowledge base does not cover the question
and shows the closest passages, instead of stitching together something that sounds right.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from app.components.embeddings import load_embeddings, model_fingerprint, sentence_embedder
from app.components.retriever import HybridRetriever, Passage
from app.components.store import Store, open_store
from app.components.text import Sentence, split_sentences, terms
from app.services.questions import clean_question, condense
from app.settings import Settings, get_settings

UNCERTAIN_NOTE = (
    "Caution: the knowledge base marks part of this as uncertain, or its sources disagree. "
    "Check the current AliExpress seller rules before relying on it."
)
_URL = re.compile(r"https?://[^\s)>\]]+")
_SOURCE_LINE = re.compile(r"^Sources?:", re.I)
REFUSAL_TEXT = (
    "The knowledge base does not cover this question well enough to answer it, so I won't "
    "guess. The closest passages are listed below; the official AliExpress seller rules or "
    "seller support can answer what they don't."
)


@dataclass
class Citation:
    n: int
    source: str
    title: str
    section: str
    page: int | None
    url: str
    quote: str
    uncertain: bool
    passage_id: str


@dataclass
class Answer:
    question: str
    text: str
    refused: bool
    citations: list[Citation] = field(default_factory=list)
    passages: list[Passage] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    standalone_question: str = ""
    error: str | None = None
    confidence: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "standalone_question": self.standalone_question,
            "text": self.text,
            "refused": self.refused,
            "error": self.error,
            "confidence": round(self.confidence, 4),
            "notes": self.notes,
            "citations": [asdict(c) for c in self.citations],
            "passages": [p.to_dict() for p in self.passages],
        }


@dataclass
class _Scored:
    sentence: Sentence
    passage_rank: int
    passage: Passage
    score: float
    semantic: float


class Assistant:
    """The question-answering service; build once per process, then call `ask` many times."""

    def __init__(self, settings: Settings, store: Store, retriever: HybridRetriever) -> None:
        self.settings = settings
        self.store = store
        self.retriever = retriever
        self.embeddings = store.vectorstore.embeddings
        self._sentences = sentence_embedder(settings, self.embeddings)
        self._vectors: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> Assistant:
        settings = settings or get_settings()
        embeddings = load_embeddings(settings)
        store = open_store(settings, embeddings, model_fingerprint(settings.model_path))
        store.check_model()
        retriever = HybridRetriever(store, settings.candidate_k, settings.rrf_k)
        retriever.refresh(force=True)
        return cls(settings, store, retriever)

    # -- public API ---------------------------------------------------------------------------
    def ask(self, question: object, history: Sequence[dict] | None = None) -> Answer:
        cleaned = clean_question(question, self.settings.max_question_chars)
        if cleaned.error:
            return Answer(str(question or ""), cleaned.error, refused=True, error=cleaned.error)
        standalone = condense(cleaned.text, history)
        with self._lock:  # the model and caches are shared by Streamlit's threads
            return self._answer(cleaned.text, standalone, cleaned.notes)

    # -- internals ----------------------------------------------------------------------------
    def _answer(self, question: str, standalone: str, notes: list[str]) -> Answer:
        self.retriever.refresh()
        if self.retriever.size == 0:
            message = (
                "The knowledge base is empty. Run `compliance ingest` (or open the app, "
                "which indexes knowledge/ on first start) and ask again."
            )
            return Answer(
                question,
                message,
                refused=True,
                notes=notes,
                standalone_question=standalone,
                error="empty_index",
            )
        query_vector = self.embeddings.embed_query(standalone)
        k = self.settings.retrieval_k
        candidates = self.retriever.search(standalone, query_vector, k=max(k, 8))
        passages = candidates[:k]
        confidence = max((p.dense for p in candidates[:3]), default=0.0)
        if confidence < self.settings.refusal_threshold:
            return Answer(
                question,
                REFUSAL_TEXT,
                refused=True,
                passages=passages,
                notes=notes,
                standalone_question=standalone,
                confidence=confidence,
            )
        chosen = self._choose_sentences(standalone, query_vector, candidates[:4])
        text, citations = _compose(chosen)
        if any(c.uncertain for c in citations):
            notes = [*notes, UNCERTAIN_NOTE]
            text = f"{text}\n\n{UNCERTAIN_NOTE}"
        return Answer(
            question,
            text,
            refused=False,
            citations=citations,
            passages=passages,
            notes=notes,
            standalone_question=standalone,
            confidence=confidence,
        )

    def _choose_sentences(
        self, query: str, query_vector: list[float], passages: list[Passage]
    ) -> list[_Scored]:
        pool = [
            (rank, p, s)
            for rank, p in enumerate(passages)
            for s in split_sentences(p.text)
            if not _SOURCE_LINE.match(s.text)
        ]
        if not pool:
            return []
        vectors = self._sentence_vectors([s.text for _, _, s in pool])
        q = np.asarray(query_vector, dtype=np.float32)
        semantic = vectors @ q
        weights = {t: self._idf(t) for t in set(terms(query))}
        total = sum(weights.values()) or 1.0
        scored: list[_Scored] = []
        headings = {p.id: set(terms(f"{p.title} {p.section}")) for p in passages}
        for (rank, passage, sentence), sem in zip(pool, semantic, strict=True):
            present = set(terms(sentence.text))
            heading = headings[passage.id]
            lexical = (
                sum(
                    w if t in present else 0.5 * w if t in heading else 0.0
                    for t, w in weights.items()
                )
                / total
            )
            score = 0.45 * float(sem) + 0.30 * lexical + 0.25 * passage.dense
            scored.append(_Scored(sentence, rank, passage, score, float(sem)))
        scored.sort(key=lambda s: -s.score)
        best = scored[0].score
        picked: list[_Scored] = []
        for cand in scored:
            if len(picked) >= self.settings.answer_sentences:
                break
            if picked and cand.score < 0.8 * best:
                break
            if any(_near_duplicate(cand.sentence.text, p.sentence.text) for p in picked):
                continue
            picked.append(cand)
        picked = _with_list_items(picked, scored, self.settings.answer_sentences + 3)
        picked.sort(key=lambda s: (s.passage_rank, s.sentence.start))
        return picked

    def _sentence_vectors(self, texts: list[str]) -> np.ndarray:
        missing = sorted({t for t in texts if t not in self._vectors})
        if missing:
            for text, vec in zip(missing, self._sentences.embed_documents(missing), strict=True):
                self._vectors[text] = np.asarray(vec, dtype=np.float32)
        return np.stack([self._vectors[t] for t in texts])

    def _idf(self, term: str) -> float:
        df = self.retriever.document_frequency(term)
        n = max(self.retriever.size, 1)
        return math.log(1 + (n - df + 0.5) / (df + 0.5))


def _near_duplicate(a: str, b: str) -> bool:
    ta, tb = set(terms(a)), set(terms(b))
    return bool(ta and tb) and len(ta & tb) / len(ta | tb) > 0.8


def _with_list_items(picked: list[_Scored], scored: list[_Scored], limit: int) -> list[_Scored]:
    """A picked sentence that introduces a list ("...include:") brings the list items with it."""
    out = list(picked)
    for cand in picked:
        if not cand.sentence.text.endswith(":"):
            continue
        following = sorted(
            (
                s
                for s in scored
                if s.passage.id == cand.passage.id and s.sentence.start > cand.sentence.start
            ),
            key=lambda s: s.sentence.start,
        )
        for item in following[:4]:
            if len(out) >= limit:
                break
            if item not in out:
                out.append(item)
    return out


def _compose(chosen: list[_Scored]) -> tuple[str, list[Citation]]:
    """Answer text with `[n]` after each sentence; adjacent sentences of one line share a quote."""
    citations: list[Citation] = []
    parts: list[str] = []
    previous: _Scored | None = None
    begin = 0  # where the current citation's quote starts in its passage
    for item in chosen:
        sentence, passage = item.sentence, item.passage
        if (
            previous is not None
            and previous.passage.id == passage.id
            and _joinable(passage.text, previous.sentence, sentence)
        ):
            citations[-1].quote = passage.text[begin : sentence.start + len(sentence.text)]
        else:
            begin = sentence.start
            citations.append(
                Citation(
                    n=len(citations) + 1,
                    source=passage.source,
                    title=passage.title,
                    section=passage.section,
                    page=passage.page,
                    url=_url_for(passage, sentence),
                    quote=sentence.text,
                    uncertain=passage.uncertain,
                    passage_id=passage.id,
                )
            )
        parts.append(f"{sentence.text} [{citations[-1].n}]")
        previous = item
    return " ".join(parts), citations


def _url_for(passage: Passage, sentence: Sentence) -> str:
    """The source the document names for this sentence: the first address after it in the
    passage (documents end paragraphs with "Source: ..."), else the nearest one before it."""
    found = [(m.start(), m.group().rstrip(".,;")) for m in _URL.finditer(passage.text)]
    after = [url for pos, url in found if pos >= sentence.start]
    before = [url for pos, url in found if pos < sentence.start]
    return after[0] if after else before[-1] if before else passage.url


def _joinable(text: str, first: Sentence, second: Sentence) -> bool:
    between = text[first.start + len(first.text) : second.start]
    return second.start > first.start and between.strip() == "" and "\n" not in between
