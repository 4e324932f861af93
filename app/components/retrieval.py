"""The retrieval room: everything between a question's text and scored evidence.

It owns tokenisation and spelling (through the retriever's snapshot of the corpus), BM25,
dense search and their fusion, term statistics, the sentence-vector cache and the evidence
score. Answer writers (quoted sentences or an LLM) only consume what it returns, so a change to
how evidence is found or weighed happens here and nowhere else.
"""

from __future__ import annotations

import math
import re
import threading
from dataclasses import dataclass

import numpy as np
from langchain_core.embeddings import Embeddings

from app.components.embeddings import sentence_embedder
from app.components.glossary import Bridge, Glossary
from app.components.provenance import WEIGHT as AUTHORITY_WEIGHT
from app.components.provenance import (
    SourceRef,
    normal_authority,
    normal_date,
    refs_for,
    refs_in,
    strongest,
)
from app.components.retriever import HybridRetriever, Passage
from app.components.spelling import english_lexicon
from app.components.store import Store
from app.components.text import (
    SOURCE_LINE,
    Sentence,
    looks_like_instruction,
    split_sentences,
    terms,
)
from app.settings import EvidenceWeights, Settings

_NAME = re.compile(r"[A-Za-z][A-Za-z0-9'’&.-]*[A-Za-z0-9]|[A-Za-z]")
_ASKS_FIGURE = re.compile(
    r"\bhow (much|many|long|big|high|soon|often)\b|\b(rate|fee|fees|cost|costs|price|percent"
    r"|percentage|commission|amount|limit|threshold|deadline|minimum|maximum)\b|%",
    re.I,
)
_FIGURE = re.compile(r"\d")


def asks_for_figure(question: str) -> bool:
    """ "How long", "how many", a fee, a rate, a deadline: the answer is a number."""
    return bool(_ASKS_FIGURE.search(question))


def states_figure(text: str) -> bool:
    return bool(_FIGURE.search(text))


_ASKS_DURATION = re.compile(
    r"\bhow (long|soon|quickly)\b|\bhow many (days|weeks|months|years|hours)\b|\bwithin what\b",
    re.I,
)
_DURATION = re.compile(
    r"\b\d+(?:[.,]\d+)?[\s-]*(?:calendar |working |business )?"
    r"(?:days?|weeks?|months?|years?|hours?)\b",
    re.I,
)


def asks_for_duration(question: str) -> bool:
    """ "How long", "how soon": the answer is a length of time, not just any number."""
    return bool(_ASKS_DURATION.search(question))


def states_duration(text: str) -> bool:
    return bool(_DURATION.search(text))


@dataclass
class Scored:
    """One quotable sentence of a retrieved passage and how well it answers the question."""

    sentence: Sentence
    passage_rank: int
    passage: Passage
    score: float
    semantic: float


@dataclass
class Signals:
    """Measures of how well the evidence answers the question: the refusal decision's inputs
    (`app/components/refusal.py` turns them into one probability)."""

    best_sentence: float = 0.0  # similarity of the closest sentence to the question
    sentence_terms: float = 0.0  # share of the question's weighted terms in the best sentence
    passage_terms: float = 0.0  # ...in the best of the top passages (headings count part)
    unknown_terms: float = 0.0  # weight of question terms the corpus never uses
    top_dense: float = 0.0  # similarity of the top passage
    dense_margin: float = 0.0  # top passage's similarity minus the next one's
    lexical_agreement: float = 0.0  # top passage's BM25 score / the best BM25 score
    bridged_terms: float = 0.0  # share of the question's terms reached only through the glossary
    unknown_names: float = 0.0  # share of its words that are names the corpus lacks (FCC, Temu)
    figure_missing: float = 0.0  # asks for a figure, and the best sentences state none

    def as_vector(self) -> list[float]:
        return [float(v) for v in vars(self).values()]


@dataclass
class Found:
    """What a search found: ranked passages, the query's vector and the scored sentences of
    the top passages, with the signals of how well the evidence answers the question."""

    query: str
    passages: list[Passage]
    vector: list[float]
    scored: list[Scored]
    signals: Signals


def source_sentences(passage: Passage) -> list[Sentence]:
    """The sentences of a passage that can be quoted: not its "Source: ..." lines, and never
    text addressed to an AI ("ignore previous instructions..."), whatever engine quotes it."""
    return [
        s
        for s in split_sentences(passage.text)
        if not SOURCE_LINE.match(s.text) and not looks_like_instruction(s.text)
    ]


def sentence_source(passage: Passage, start: int) -> SourceRef | None:
    """The strongest source the sentence at `start` rests on (tags in the text, else the
    document's defaults, else the passage's first address)."""
    authority = normal_authority(passage.metadata.get("authority"))
    rule_date = normal_date(passage.metadata.get("rule_date"))
    refs = refs_for(passage.text, start, authority, rule_date)
    if not refs and passage.url:
        refs = refs_in(passage.url, authority, rule_date)
    return strongest(refs)


class SentenceVectors:
    """Normalised sentence vectors, from a disk cache filled at ingest and kept in memory.

    The only state answering writes to, so the only lock: readers never wait on each other."""

    def __init__(self, settings: Settings, embeddings: Embeddings) -> None:
        self._cache = sentence_embedder(settings, embeddings)
        self._vectors: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()

    def __call__(self, texts: list[str]) -> np.ndarray:
        missing = sorted({t for t in texts if t not in self._vectors})
        if missing:
            with self._lock:
                missing = [t for t in missing if t not in self._vectors]
                if missing:
                    vectors = self._cache.embed_documents(missing)
                    for text, vec in zip(missing, vectors, strict=True):
                        self._vectors[text] = np.asarray(vec, dtype=np.float32)
        return np.stack([self._vectors[t] for t in texts])

    def embed_chunks(self, chunks: list[str]) -> list[list[float]]:
        """Vectors of new chunks, with every distinct sentence of theirs that the cache lacks
        embedded in the same model call and cached: ingest runs the model once per distinct
        text, and a warm question only ever embeds itself."""
        sentences = sorted({s.text for chunk in chunks for s in split_sentences(chunk)})
        cached = self._cache.get(sentences) if sentences else []
        missing = [t for t, v in zip(sentences, cached, strict=True) if v is None]
        texts = list(dict.fromkeys([*chunks, *missing]))  # a one-sentence chunk runs once
        embedded = self._cache.embeddings.embed_documents(texts)
        vectors = dict(zip(texts, embedded, strict=True))
        if missing:
            self._cache.put([(t, vectors[t]) for t in missing])
        return [vectors[c] for c in chunks]


class Retrieval:
    """Search and evidence scoring over one store; build once per process (see container)."""

    def __init__(self, settings: Settings, store: Store, glossary: Glossary | None = None) -> None:
        self.settings = settings
        self.glossary = glossary  # English seller words -> rule words (None: no bridge)
        self.weights: EvidenceWeights = settings.evidence
        self.store = store
        self.embeddings: Embeddings = store.embeddings
        self.retriever = HybridRetriever(
            store, settings.candidate_k, settings.rrf_k, lexicon=settings.model_path
        )
        self.sentence_vectors = SentenceVectors(settings, self.embeddings)

    # -- corpus -------------------------------------------------------------------------------
    def refresh(self, force: bool = False) -> None:
        self.retriever.refresh(force)

    @property
    def size(self) -> int:
        return self.retriever.size

    def correct(self, text: str) -> str:
        """Typos fixed against the corpus vocabulary (real words and unknown names kept)."""
        return self.retriever.speller.correct(text)

    def passages_in(self, source: str, section: str | None = None) -> list[Passage]:
        return self.retriever.passages_in(source, section)

    def idf(self, term: str) -> float:
        df = self.retriever.document_frequency(term)
        n = max(self.retriever.size, 1)
        return math.log(1 + (n - df + 0.5) / (df + 0.5))

    # -- search -------------------------------------------------------------------------------
    def embed_query(self, text: str) -> list[float]:
        return self.embeddings.embed_query(text)

    def embed_texts(self, texts: list[str]) -> np.ndarray:
        """Normalised vectors of one-off texts (generated sentences), not cached."""
        return np.asarray(self.embeddings.embed_documents(texts), dtype=np.float32)

    def search(self, query: str, k: int) -> tuple[list[Passage], list[float]]:
        vector = self.embed_query(query)
        return self.retriever.search(query, vector, k=k), vector

    def bridge(self, query: str) -> Bridge:
        return self.glossary.bridge(query) if self.glossary else Bridge("")

    def ranked(
        self, query: str, k: int, bridge: Bridge | None = None
    ) -> tuple[list[Passage], list[float]]:
        """The passages answering ranks for a question: the lexical side searched with the
        rule terms the question's words imply."""
        bridge = bridge or self.bridge(query)
        vector = self.embed_query(query)
        lexical = f"{query} {bridge.rule_text}".strip()
        return self.retriever.search(lexical, vector, k=k), vector

    def find(self, query: str, k: int) -> Found:
        """Rank passages as `ranked` does, then score the sentences of the top passages
        against the question."""
        bridge = self.bridge(query)
        passages, vector = self.ranked(query, k, bridge)
        top = passages[: self.weights.scored_passages]
        scored, signals = self.score(query, vector, top, bridge)
        if len(passages) > 1:
            signals.dense_margin = passages[0].dense - max(p.dense for p in passages[1:])
        best_lexical = max((p.lexical for p in passages), default=0.0)
        if passages and best_lexical > 0:
            signals.lexical_agreement = passages[0].lexical / best_lexical
        signals.top_dense = passages[0].dense if passages else 0.0
        return Found(query, passages, vector, scored, signals)

    def score(
        self,
        query: str,
        vector: list[float],
        passages: list[Passage],
        bridge: Bridge | None = None,
    ) -> tuple[list[Scored], Signals]:
        """Score every quotable sentence of `passages`, and measure how well the evidence as a
        whole answers the question.

        A sentence ranks by its similarity to the question, the share of the question's
        weighted terms it holds (heading terms count part) and its passage's strength. A
        question term counts as held when the sentence has it or a rule term the glossary maps
        it to ("knock-offs" -> counterfeit), and as unknown only when the corpus has neither.
        The weights are `EvidenceWeights` in the settings.
        """
        w = self.weights
        pool = [(rank, p, s) for rank, p in enumerate(passages) for s in source_sentences(p)]
        if not pool:
            return [], Signals()
        semantic = self.sentence_vectors([s.text for _, _, s in pool]) @ np.asarray(
            vector, dtype=np.float32
        )
        groups = self._term_groups(query, bridge)
        total = sum(weight for _, weight in groups.values()) or 1.0

        def share(present: set[str], heading: set[str] = frozenset()) -> float:
            held = 0.0
            for members, weight in groups.values():
                if members & present:
                    held += weight
                elif members & heading:
                    held += w.heading_term_share * weight
            return held / total

        headings = {p.id: set(terms(f"{p.title} {p.section}")) for p in passages}
        scored: list[Scored] = []
        signals = Signals()
        for (rank, passage, sentence), sem in zip(pool, semantic, strict=True):
            present = set(terms(sentence.text))
            signals.sentence_terms = max(signals.sentence_terms, share(present))
            lexical = share(present, headings[passage.id])
            ref = sentence_source(passage, sentence.start)
            score = (
                w.sentence_semantic * float(sem)
                + w.sentence_terms * lexical
                + w.sentence_passage * passage.dense
                + w.sentence_authority * (AUTHORITY_WEIGHT[ref.authority] if ref else 0.0)
            )
            scored.append(Scored(sentence, rank, passage, score, float(sem)))
        scored.sort(key=lambda s: -s.score)
        signals.best_sentence = float(semantic.max())
        signals.passage_terms = max(
            share(set(terms(p.text)) | headings[p.id]) for p in passages[:3]
        )
        df = self.retriever.document_frequency
        signals.unknown_terms = (
            sum(weight for members, weight in groups.values() if not any(df(m) for m in members))
            / total
        )
        signals.bridged_terms = sum(
            1 for t, (members, _) in groups.items() if not df(t) and any(df(m) for m in members)
        ) / max(len(groups), 1)
        signals.unknown_names = self._unknown_names(query, groups)
        best_text = " ".join(s.sentence.text for s in scored[:3])
        signals.figure_missing = float(asks_for_figure(query) and not states_figure(best_text))
        return scored, signals

    def _unknown_names(self, query: str, groups: dict[str, tuple[set[str], float]]) -> float:
        """Words that are neither the corpus's nor common English (another platform, a
        certificate, a country's tax) point at a question the rulebook was not written for."""
        lexicon = english_lexicon(self.settings.model_path)
        words = [w for w in _NAME.findall(query) if terms(w)]
        if not words:
            return 0.0
        unknown = 0
        for word in words:
            stems = terms(word)
            known = any(
                self.retriever.document_frequency(m)
                for stem in stems
                for m in groups.get(stem, ({stem}, 0.0))[0]
            )
            if not known and (word.lower() not in lexicon or word.isupper()):
                unknown += 1
        return unknown / len(words)

    def evidence_score(self, signals: Signals) -> float:
        """The hand-weighted evidence score (used when no fitted refusal model is present)."""
        w = self.weights
        return (
            signals.best_sentence
            + w.best_sentence_terms * signals.sentence_terms
            + w.best_passage_terms * signals.passage_terms
            - w.unknown_terms * signals.unknown_terms
        )

    def _term_groups(self, query: str, bridge: Bridge | None) -> dict[str, tuple[set[str], float]]:
        """Each question term with the rule terms it maps to, weighted by rarity in the corpus
        (a seller's word the corpus lacks weighs what the rule words it maps to weigh)."""
        groups: dict[str, tuple[set[str], float]] = {}
        for term in set(terms(query)):
            members = {term} | (bridge.groups.get(term, set()) if bridge else set())
            known = [m for m in members if self.retriever.document_frequency(m)]
            weight = (
                self.idf(term)
                if term in known or not known
                else sum(self.idf(m) for m in known) / len(known)
            )
            groups[term] = (members, weight)
        return groups
