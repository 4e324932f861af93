"""Hybrid retrieval: dense (Chroma, cosine) and lexical (BM25 via bm25s), fused by
reciprocal rank.

Rule text is full of exact terms (IOSS, DSR, "counter-notice", day counts) where MiniLM alone
is weak, so BM25 carries much of the ranking; dense search catches paraphrases.
"""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import bm25s
import numpy as np

from app.components.serialise import Serialisable
from app.components.spelling import Speller, english_lexicon
from app.components.store import Store
from app.components.text import terms, without_addresses


@dataclass
class Passage(Serialisable):
    id: str
    text: str
    source: str
    title: str
    section: str
    page: int | None
    url: str
    score: float = field(metadata={"digits": 5})  # fused reciprocal-rank score
    # cosine similarity to the query, 0 when dense search did not return it
    dense: float = field(metadata={"digits": 4})
    lexical: float = field(metadata={"digits": 4})  # BM25 score, 0 when no query term occurs
    # similarity of the closest "sellers ask" question of its section, 0 when none was close
    asked: float = field(default=0.0, metadata={"digits": 4})
    metadata: dict[str, Any] = field(default_factory=dict, metadata={"skip": True})

    @property
    def uncertain(self) -> bool:
        return bool(self.metadata.get("uncertain"))


def passage_from(chunk_id: str, text: str, meta: dict[str, Any] | None) -> Passage:
    meta = dict(meta or {})
    page = meta.get("page")
    return Passage(
        id=chunk_id,
        text=text,
        source=str(meta.get("source", "")),
        title=str(meta.get("title", "")),
        section=str(meta.get("section", "")),
        page=int(page) if isinstance(page, int | float) and page >= 0 else None,
        url=str(meta.get("url", "")),
        score=0.0,
        dense=0.0,
        lexical=0.0,
        metadata=meta,
    )


def lexical_text(text: str, meta: dict[str, Any] | None, asks: bool = True) -> str:
    """What BM25 indexes: the passage plus its title, heading path and sellers' questions."""
    meta = meta or {}
    keys = meta.get("asks", "") if asks else ""
    return f"{meta.get('title', '')} {meta.get('section', '')} {text} {keys}"


def asks_of(meta: dict[str, Any] | None) -> list[str]:
    """The "sellers ask" questions a chunk carries (see ingest/chunking.py)."""
    return [q for q in str((meta or {}).get("asks", "")).split("\n") if q.strip()]


VERSION_CHECK_SECONDS = 1.0
_LOWER = re.compile(r"\b[a-z]{3,}\b")
_INNER_CAPITAL = re.compile(r"(?<=[a-z,;] )[A-Z][a-z]{2,}\b")  # mid-sentence, not a start


def _names_in(texts: list[str]) -> frozenset[str]:
    """Words the corpus capitalises mid-sentence and never writes in lower case (places,
    programmes, carriers)."""
    capitalised: set[str] = set()
    lower: set[str] = set()
    for text in map(without_addresses, texts):
        capitalised.update(w.lower() for w in _INNER_CAPITAL.findall(text))
        lower.update(_LOWER.findall(text))
    return frozenset(capitalised - lower)


class HybridRetriever:
    """Keeps a BM25 index of the whole collection in memory and rebuilds it when the store
    changes (another process ingested, or the app uploaded a file).

    Searches work on the snapshot of the last `refresh()`; the caller refreshes once per
    request (the `Assistant` does, under its lock) rather than every lookup asking Chroma."""

    def __init__(
        self,
        store: Store,
        candidate_k: int = 20,
        rrf_k: int = 60,
        lexicon: Path | None = None,
        seller_questions: bool = True,
    ) -> None:
        self.store = store
        self.seller_questions = seller_questions  # index sections' "sellers ask" questions
        self.lexicon = lexicon  # the model folder whose vocabulary lists real English words
        self.candidate_k = candidate_k
        self.rrf_k = rrf_k
        self._lock = threading.Lock()
        self._version: tuple[int, float] | None = None
        self._matrix = np.zeros((0, 0), dtype=np.float32)  # normalised vectors, in `_ids` order
        self._row: dict[str, int] = {}  # chunk id -> its row of `_matrix`
        self._checked = 0.0  # time.monotonic() of the last look at the store's version
        self._ids: list[str] = []
        self._chunks: dict[str, Passage] = {}
        self._bm25: bm25s.BM25 | None = None
        self._df: Counter[str] = Counter()
        self._names: frozenset[str] = frozenset()
        self._asks: list[tuple[str, str]] = []
        self.speller = Speller([])

    @property
    def size(self) -> int:
        return len(self._ids)

    def refresh(self, force: bool = False) -> None:
        """Rebuild when the store changed. Asking Chroma costs ~3 ms, a fifth of a warm answer,
        so another process's ingest is looked for at most once per `VERSION_CHECK_SECONDS`; an
        ingest in this process forces the rebuild at once."""
        now = time.monotonic()
        if not force and self._version is not None and now - self._checked < VERSION_CHECK_SECONDS:
            return
        self._checked = now
        version = self.store.version()
        if not force and version == self._version:
            return
        with self._lock:
            data = self.store.all_chunks()
            ids = list(data["ids"])
            docs = data["documents"] or []
            metas = data["metadatas"] or [{}] * len(ids)
            chunks = {i: passage_from(i, d, m) for i, d, m in zip(ids, docs, metas, strict=True)}
            keyed = self.seller_questions
            corpus = [
                terms(lexical_text(d, m, keyed)) or ["∅"] for d, m in zip(docs, metas, strict=True)
            ]
            bm25 = None
            if ids:
                bm25 = bm25s.BM25()
                bm25.index(corpus, show_progress=False)
            # the vocabulary the rulebook uses (unknown terms, names, term weights): no addresses
            df: Counter[str] = Counter(
                t
                for d, m in zip(docs, metas, strict=True)
                for t in set(terms(without_addresses(lexical_text(d, m, keyed))))
            )
            speller = Speller(
                [lexical_text(d, m, asks=False) for d, m in zip(docs, metas, strict=True)],
                english_lexicon(self.lexicon) if self.lexicon else frozenset(),
            )
            self._names = _names_in(docs)
            matrix = _normalised(data.get("embeddings"), len(ids))
            row = {chunk_id: n for n, chunk_id in enumerate(ids)}
            # set together: the rows of `_matrix` follow `_ids`
            self._ids, self._chunks, self._bm25, self._df, self._matrix, self._row = (
                ids,
                chunks,
                bm25,
                df,
                matrix,
                row,
            )
            # each chunk's questions together, in the index's order (`Retrieval.asked` takes
            # one maximum per run of them)
            self._asks = [
                (i, q) for i, m in zip(ids, metas, strict=True) for q in asks_of(m) if keyed
            ]
            self.speller = speller
            self._version = version

    @property
    def asks(self) -> list[tuple[str, str]]:
        """(chunk id, question) for every "sellers ask" question in the snapshot."""
        return self._asks

    def document_frequency(self, term: str) -> int:
        return self._df.get(term, 0)

    def is_name(self, word: str) -> bool:
        """The rulebook only ever writes this word capitalised ("Canada", "Poland"), so a
        seller typing "canada" names it too."""
        return word.lower() in self._names

    def passages_in(self, source: str, section: str | None = None) -> list[Passage]:
        """Every passage of one document, or of one section and its subsections."""
        return [
            p
            for p in self._chunks.values()
            if p.source == source
            and (not section or p.section == section or p.section.startswith(f"{section} > "))
        ]

    def passage(self, chunk_id: str) -> Passage | None:
        return self._chunks.get(chunk_id)

    def search(
        self,
        query: str,
        query_vector: list[float],
        k: int,
        asked: dict[str, float] | None = None,
        asking_vector: list[float] | None = None,
    ) -> list[Passage]:
        """Top-k fused passages; each carries its dense similarity and BM25 score. `asked`
        (chunk id -> similarity of its section's closest sellers' question) lifts a passage in
        the dense ranking when a question is closer than its text, and so does its text's
        similarity to `asking_vector` (the question's asking sentences alone)."""
        if not self._ids:
            return []
        dense = self._dense(query_vector)
        lexical = self._lexical(query)
        asked = asked or {}
        # A passage is as close as its text or its section's closest seller question: one dense
        # ranking, so a document without such questions (an upload) competes on equal terms.
        closest = dict(dense)
        if asking_vector is not None:
            for chunk_id, similarity in self._dense(asking_vector).items():
                closest[chunk_id] = max(closest.get(chunk_id, -1.0), similarity)
        for chunk_id, similarity in asked.items():
            closest[chunk_id] = max(closest.get(chunk_id, -1.0), similarity)
        semantic = sorted(closest, key=lambda i: -closest[i])[: self.candidate_k]
        fused: dict[str, float] = {}
        for ranking in (semantic, list(lexical)):
            for rank, chunk_id in enumerate(ranking):
                fused[chunk_id] = fused.get(chunk_id, 0.0) + 1.0 / (self.rrf_k + rank + 1)
        out: list[Passage] = []
        for chunk_id, score in sorted(fused.items(), key=lambda kv: -kv[1])[:k]:
            base = self._chunks.get(chunk_id)
            if base is None:  # the store changed between the two searches
                continue
            out.append(
                replace(
                    base,
                    score=score,
                    dense=dense.get(chunk_id, 0.0),
                    lexical=lexical.get(chunk_id, 0.0),
                    asked=asked.get(chunk_id, 0.0),
                )
            )
        return out

    def _dense(self, query_vector: list[float]) -> dict[str, float]:
        """The closest chunks by cosine, searched exactly over the snapshot's vectors: Chroma's
        HNSW index, on the rulebook's 364 chunks, now and then missed one of the 20 nearest,
        and which one varied from process to process, so the same question could rank its
        passages differently in two runs. A ranking tie keeps the index's order."""
        if not len(self._matrix):
            return {}
        similar = self._matrix @ _unit(query_vector)
        best = np.argsort(-similar, kind="stable")[: self.candidate_k]
        return {self._ids[int(i)]: float(similar[i]) for i in best}

    def similarities(self, passages: list[Passage], query_vector: list[float]) -> list[float]:
        """Each passage's cosine to the question, also for those only BM25 found (their `dense`
        is 0, which ranks and scores sentences as tuned, but would read as "nothing alike" to
        the refusal model: a passage outside the dense top-k is not)."""
        exact = self._similarities([p.id for p in passages if not p.dense], query_vector)
        return [p.dense or exact.get(p.id, 0.0) for p in passages]

    def _similarities(self, ids: list[str], query_vector: list[float]) -> dict[str, float]:
        wanted = [self._row[i] for i in ids if i in self._row]
        if not wanted or not len(self._matrix):
            return {}
        similar = self._matrix[wanted] @ _unit(query_vector)
        return {self._ids[n]: float(s) for n, s in zip(wanted, similar, strict=True)}

    def _lexical(self, query: str) -> dict[str, float]:
        tokens = terms(query)
        if not tokens or self._bm25 is None:
            return {}
        n = min(self.candidate_k, len(self._ids))
        # n_threads=0: in this thread (1 would start a thread pool per query, ~3 ms)
        docs, scores = self._bm25.retrieve([tokens], k=n, show_progress=False, n_threads=0)
        return {
            self._ids[int(i)]: float(s)
            for i, s in zip(np.asarray(docs[0]), np.asarray(scores[0]), strict=True)
            if s > 0
        }


def _unit(vector: Any) -> np.ndarray:
    v = np.asarray(vector, dtype=np.float32)
    return v / (np.linalg.norm(v) or 1.0)


def _normalised(embeddings: Any, count: int) -> np.ndarray:
    """The stored vectors as unit rows (cosine is then a dot product)."""
    if embeddings is None or not count:
        return np.zeros((0, 0), dtype=np.float32)
    matrix = np.asarray(embeddings, dtype=np.float32).reshape(count, -1)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms == 0, 1.0, norms)
