"""Grounded answers without an LLM: the answer is made of the indexed sentences that best
answer the question, each with an `[n]` marker whose citation quotes it verbatim.

When the evidence is weak the assistant says the knowledge base does not cover the question
and shows the closest passages, instead of stitching together something that sounds right.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from app.components.embeddings import load_embeddings, model_fingerprint, sentence_embedder
from app.components.retriever import HybridRetriever, Passage
from app.components.store import Store, open_store
from app.components.text import SOURCE_LINE, Sentence, split_sentences, terms
from app.services.policy import LEGAL_NOTE, declined, legal_exposure, looks_like_instruction
from app.services.questions import CleanQuestion, clean_question, condense
from app.settings import Settings, get_settings

UNCERTAIN_NOTE = (
    "Caution: the knowledge base marks part of this as uncertain, or its sources disagree. "
    "Check the current AliExpress seller rules before relying on it."
)
_URL = re.compile(r"https?://[^\s)>\]]+")
_SOURCE_TAIL = re.compile(r"\s*Sources?:.*$", re.I)
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
    reliability: str = ""


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
    # Who wrote the text. `verified` is False when an LLM's answer failed the check against
    # its sources (the text is then the quoted answer); `unsupported_sentences` are the model's
    # sentences that were left out or rejected.
    engine: str = "extractive"
    verified: bool = True
    unsupported_sentences: list[str] = field(default_factory=list)
    provider_error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "standalone_question": self.standalone_question,
            "text": self.text,
            "refused": self.refused,
            "error": self.error,
            "confidence": round(self.confidence, 4),
            "engine": self.engine,
            "verified": self.verified,
            "unsupported_sentences": self.unsupported_sentences,
            "provider_error": self.provider_error,
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


@dataclass
class Evidence:
    """What retrieval found for one question, before any answer is written from it."""

    question: str
    standalone: str
    notes: list[str]
    candidates: list[Passage]
    passages: list[Passage]
    scored: list[_Scored]
    score: float

    def answer(
        self, text: str, citations: list[Citation], notes: list[str], **extra: Any
    ) -> Answer:
        """An answer resting on this evidence, with the caution and legal notes it calls for."""
        text, notes = with_caution(self.question, text, notes, citations)
        return Answer(
            self.question,
            text,
            refused=False,
            citations=citations,
            passages=self.passages,
            notes=notes,
            standalone_question=self.standalone,
            confidence=self.score,
            **extra,
        )

    def refusal(self, notes: list[str], **extra: Any) -> Answer:
        """The "not covered" answer, with the closest passages to look at instead."""
        return Answer(
            self.question,
            REFUSAL_TEXT,
            refused=True,
            passages=self.passages,
            notes=notes,
            standalone_question=self.standalone,
            confidence=self.score,
            **extra,
        )


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
    def ask(
        self,
        question: object,
        history: Sequence[dict] | None = None,
        on_token: Callable[[str], None] | None = None,
    ) -> Answer:
        """`on_token` is accepted so every engine is called alike; quoted answers come whole."""
        screened = self.screen(question)
        if isinstance(screened, Answer):
            return screened
        evidence = self.gather(screened.text, condense(screened.text, history), screened.notes)
        return evidence if isinstance(evidence, Answer) else self.compose(evidence)

    def screen(self, question: object) -> CleanQuestion | Answer:
        """The question made safe to search, or the answer that ends it here (empty input,
        a request to evade the rules or to override instructions)."""
        cleaned = clean_question(question, self.settings.max_question_chars)
        if cleaned.error:
            return Answer(str(question or ""), cleaned.error, refused=True, error=cleaned.error)
        decline = declined(cleaned.text)
        if decline:
            return Answer(
                cleaned.text,
                decline,
                refused=True,
                notes=cleaned.notes,
                standalone_question=cleaned.text,
            )
        return cleaned

    def gather(self, question: str, standalone: str, notes: list[str]) -> Evidence | Answer:
        """Search for a standalone question (typos fixed here) and score the evidence."""
        with self._lock:  # the model and caches are shared by Streamlit's threads
            self.retriever.refresh()
            standalone = self.retriever.speller.correct(standalone)
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
            k = self.settings.retrieval_k
            candidates, query_vector = self._search(standalone, max(k, 8))
            scored, score = self._score_sentences(standalone, query_vector, candidates[:4])
        return Evidence(question, standalone, notes, candidates, candidates[:k], scored, score)

    def compose(self, evidence: Evidence) -> Answer:
        """The extractive answer: quoted sentences, or a refusal when the evidence is weak."""
        if not evidence.scored or evidence.score < self.settings.refusal_threshold:
            return evidence.refusal(evidence.notes)
        text, citations = _compose(self._choose(evidence.scored))
        return evidence.answer(text, citations, evidence.notes)

    def retrieve(
        self, question: str, history: Sequence[dict] | None = None, k: int | None = None
    ) -> list[Passage]:
        """Ranked passages for a question, exactly as answering sees them."""
        with self._lock:
            self.retriever.refresh()
            standalone = self._standalone(question.strip(), history)
            return self._search(standalone, k or self.settings.retrieval_k)[0]

    def cite(
        self, query: str, source: str | None = None, section: str | None = None, limit: int = 2
    ) -> list[Citation]:
        """Verified citations for a rule, for features that need "the rule behind this"
        (checklists, drafts): the best sentences for `query`, from the named document and
        section when given, else from the whole knowledge base."""
        with self._lock:
            self.retriever.refresh()
            query_vector = self.embeddings.embed_query(query)
            if source:
                passages = self.retriever.passages_in(source, section)
            else:
                passages = self.retriever.search(query, query_vector, k=4)
            scored, _ = self._score_sentences(query, query_vector, passages)
            if not scored:
                return []
            best = scored[0].score
            chosen = [s for s in scored[:limit] if s.score >= 0.8 * best]
            chosen.sort(key=lambda s: (s.passage_rank, s.sentence.start))
            return _compose(chosen)[1]

    def sentence_vectors(self, texts: list[str]) -> np.ndarray:
        """Normalised vectors of indexed sentences (cached on disk and in memory)."""
        with self._lock:
            return self._sentence_vectors(texts)

    def embed_texts(self, texts: list[str]) -> np.ndarray:
        """Normalised vectors of one-off texts (generated sentences), not cached."""
        with self._lock:
            return np.asarray(self.embeddings.embed_documents(texts), dtype=np.float32)

    # -- internals ----------------------------------------------------------------------------
    def _standalone(self, question: str, history: Sequence[dict] | None) -> str:
        """The search query: follow-ups joined to what they follow, typos fixed."""
        return self.retriever.speller.correct(condense(question, history))

    def _search(self, standalone: str, k: int) -> tuple[list[Passage], list[float]]:
        query_vector = self.embeddings.embed_query(standalone)
        return self.retriever.search(standalone, query_vector, k=k), query_vector

    def _score_sentences(
        self, query: str, query_vector: list[float], passages: list[Passage]
    ) -> tuple[list[_Scored], float]:
        """Score every sentence of the top passages, and how well the evidence as a whole
        answers the question.

        The evidence score (tuned on eval/questions.yaml) is the best sentence's similarity to
        the question, plus how much of the question's weighted terms the best sentence and the
        best passage contain, minus the weight of question terms the corpus never uses at all
        ("commission", another platform's name): topical closeness alone is not an answer.
        """
        pool = [(rank, p, s) for rank, p in enumerate(passages) for s in source_sentences(p)]
        if not pool:
            return [], 0.0
        semantic = self._sentence_vectors([s.text for _, _, s in pool]) @ np.asarray(
            query_vector, dtype=np.float32
        )
        weights = {t: self._idf(t) for t in set(terms(query))}
        total = sum(weights.values()) or 1.0

        def share(present: set[str], heading: set[str] = frozenset()) -> float:
            return (
                sum(
                    w if t in present else 0.5 * w if t in heading else 0.0
                    for t, w in weights.items()
                )
                / total
            )

        headings = {p.id: set(terms(f"{p.title} {p.section}")) for p in passages}
        scored: list[_Scored] = []
        best_sentence_terms = 0.0
        for (rank, passage, sentence), sem in zip(pool, semantic, strict=True):
            present = set(terms(sentence.text))
            best_sentence_terms = max(best_sentence_terms, share(present))
            lexical = share(present, headings[passage.id])
            score = 0.45 * float(sem) + 0.30 * lexical + 0.25 * passage.dense
            scored.append(_Scored(sentence, rank, passage, score, float(sem)))
        scored.sort(key=lambda s: -s.score)
        passage_terms = max(share(set(terms(p.text)) | headings[p.id]) for p in passages[:3])
        unknown = (
            sum(w for t, w in weights.items() if self.retriever.document_frequency(t) == 0) / total
        )
        evidence = (
            float(semantic.max()) + 0.2 * best_sentence_terms + 0.2 * passage_terms - 0.3 * unknown
        )
        return scored, evidence

    def _choose(self, scored: list[_Scored]) -> list[_Scored]:
        """The best sentences (close to the top score, no near-duplicates), in reading order."""
        best = scored[0].score
        picked: list[_Scored] = []
        for cand in scored:
            if len(picked) >= self.settings.answer_sentences:
                break
            if picked and cand.score < self.settings.answer_min_relative_score * best:
                break
            if any(_near_duplicate(cand.sentence.text, p.sentence.text) for p in picked):
                continue
            picked.append(cand)
        picked = _with_continuations(picked, scored, self.settings.answer_sentences + 4)
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


def with_caution(
    question: str, text: str, notes: list[str], citations: list[Citation]
) -> tuple[str, list[str]]:
    """Add the uncertainty caution (to the text too, so it is never missed) and the
    not-legal-advice note where they apply."""
    if any(c.uncertain for c in citations):
        notes = [*notes, UNCERTAIN_NOTE]
        text = f"{text}\n\n{UNCERTAIN_NOTE}"
    if legal_exposure(question):
        notes = [*notes, LEGAL_NOTE]
    return text, notes


def citation_for(n: int, passage: Passage, sentence: Sentence) -> Citation:
    """A citation quoting one sentence of a passage verbatim."""
    return Citation(
        n=n,
        source=passage.source,
        title=passage.title,
        section=passage.section,
        page=passage.page,
        url=_url_for(passage, sentence),
        quote=sentence.text,
        uncertain=passage.uncertain,
        passage_id=passage.id,
        reliability=str(passage.metadata.get("reliability", "")),
    )


def source_sentences(passage: Passage) -> list[Sentence]:
    """The sentences of a passage that can be quoted: not its "Source: ..." lines, and never
    text addressed to an AI ("ignore previous instructions..."), whatever engine quotes it."""
    return [
        s
        for s in split_sentences(passage.text)
        if not SOURCE_LINE.match(s.text) and not looks_like_instruction(s.text)
    ]


def _near_duplicate(a: str, b: str) -> bool:
    ta, tb = set(terms(a)), set(terms(b))
    return bool(ta and tb) and len(ta & tb) / len(ta | tb) > 0.8


_REFERS_BACK = re.compile(
    r"^(This|That|These|Those|It|They|Such|Both|Either|In that case|The same|Each|Its|Their)\b"
)


def _with_continuations(picked: list[_Scored], scored: list[_Scored], limit: int) -> list[_Scored]:
    """A picked sentence brings what completes it: the bullet list it introduces (a sentence
    ending in ":" or followed by bullet lines), or a next sentence that refers back to it."""
    out = list(picked)
    for cand in picked:
        text = cand.passage.text
        end = cand.sentence.start + len(cand.sentence.text)
        line_end = text.find("\n", end)
        rest_of_line = text[end : line_end if line_end >= 0 else len(text)]
        following = sorted(
            (s for s in scored if s.passage.id == cand.passage.id and s.sentence.start >= end),
            key=lambda s: s.sentence.start,
        )
        if not following:
            continue
        introduces_list = cand.sentence.text.endswith(":") or (
            not _SOURCE_TAIL.sub("", rest_of_line).strip()
            and _is_bullet(text, following[0].sentence.start)
        )
        if introduces_list:
            items = [s for s in following if _is_bullet(text, s.sentence.start)][:6]
        elif (
            _REFERS_BACK.match(following[0].sentence.text) and following[0].sentence.start - end < 3
        ):
            items = following[:1]
        else:
            items = []
        for item in items:
            if len(out) >= limit:
                break
            if item not in out:
                out.append(item)
    return out


def _is_bullet(text: str, start: int) -> bool:
    line_start = text.rfind("\n", 0, start) + 1
    return text[line_start:start].lstrip().startswith(("- ", "* ", "+ "))


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
            citations.append(citation_for(len(citations) + 1, passage, sentence))
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
