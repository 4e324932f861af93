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
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, replace
from functools import cached_property, lru_cache
from itertools import pairwise

import numpy as np
from langchain_core.embeddings import Embeddings

from app.components.embeddings import sentence_embedder, token_budget
from app.components.glossary import Bridge, Glossary
from app.components.places import place_words
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
from app.components.sentence_ranker import SentenceRanker
from app.components.spelling import english_lexicon
from app.components.store import Store
from app.components.text import (
    COUNT,
    SOURCE_LINE,
    Sentence,
    asking_part,
    body_of,
    looks_like_instruction,
    marketplaces_asked,
    question_parts,
    split_sentences,
    term_set,
    terms,
    without_addresses,
    without_references,
)
from app.settings import EvidenceWeights, Settings

_NAME = re.compile(r"[A-Za-z][A-Za-z0-9'’&.-]*[A-Za-z0-9]|[A-Za-z]")
# The question word asks for the figure noun ("what fee", "what's the monthly fee", "is there a
# limit"), not a price named in passing ("where do I list a price difference?").
_WH_FIGURE = r"\b(?:what|which|whats|what.s|is there|are there)\s+(?:[\w-]+\s+){0,3}?"
# "What %", "my positive %?": a percent sign asks for a share; after a number ("a 40%-off
# deal", "my rating is 88%") it is the seller's own figure, no question.
_ASKED_PERCENT = r"(?<!\d)(?<!\d\s)%"
_ASKS_FIGURE = re.compile(
    r"\bhow (much|many|long|big|high|soon|often|quickly|fast)\b"
    rf"|{_ASKED_PERCENT}|\b(minimum|maximum|max|min)\b"
    rf"|{_WH_FIGURE}(limits?|thresholds?|deadlines?|number|value|sum|figure)\b"
    r"|\b(below|under|above|over|up to|within) what\b"
    # the support line's number is asked for; "my personal phone number in it" is a detail
    r"|(?<!my )(?<!personal )(?<!his )(?<!her )(?<!their )\b(phone|telephone) number\b",
    re.I,
)
# "Only one account", "just one time": a limit of one is a figure too ("one" alone is not).
_FIGURE = re.compile(
    rf"\d|\b{COUNT}\b|\b(twice|dozen|hundred|thousand|million)\b"
    r"|\b(?:only|just|exactly|at most|no more than|up to) (?:one|a single)\b",
    re.I,
)
FOCUS_SENTENCES = 5  # the best-scored sentences searched for the asked figure
FIGURE_ASK_TERMS = frozenset(
    terms(
        "long soon quickly fast often deadline limit time period window timeframe number amount"
        " maximum minimum max min threshold value sum figure big high"
    )
)


# "Do tiny orders count toward my positive %?": in a yes/no clause the percent sign names the
# metric, it asks for no share ("what % commission...?" does).
_YES_NO_CLAUSE = re.compile(
    r"(?:^|(?<=[.?!,;:]))\s*(?:do|does|did|is(?! there)|are(?! there)|was|were|can|could"
    r"|will|would|should|has|have)\b[^.?!,;:]*",
    re.I,
)


def _percent_named(question: str) -> str:
    """The question with the percent signs of its yes/no clauses left out."""
    return _YES_NO_CLAUSE.sub(lambda m: m.group().replace("%", ""), question)


def asks_for_figure(question: str) -> bool:
    """ "How long", "how many", a fee, a rate, a deadline, or any answer kind below: the
    answer is a number."""
    question = _percent_named(question)
    return bool(_ASKS_FIGURE.search(question)) or any(asks(question) for asks, _ in ANSWER_KINDS)


# A law's article or number names where a rule is, not an amount or a time: "Article 44 does
# not fix the fines" gives no figure.
_LAW_NUMBER = re.compile(
    r"\b(?:Articles?|Art\.|Section|Regulation(?: \((?:EU|EC)\))?|Directive(?: \(EU\))?)"
    r"\s+\d[\d/()a-z.]*(?:\s*(?:and|or|,)\s*\d[\d/()a-z.]*)*"
)


def states_figure(text: str) -> bool:
    return bool(_FIGURE.search(_LAW_NUMBER.sub("", text)))


_ASKS_DURATION = re.compile(
    r"\bhow (long|soon|quickly|fast)\b|\bhow many (days|weeks|months|years|hours)\b"
    r"|\bhow much time\b"
    r"|\b(over|in) what (time|period|window|time ?frame)\b|\bwithin what\b",
    re.I,
)
_DURATION = re.compile(
    rf"\b{COUNT}[\s-]*(?:calendar |working |business )?"
    r"(?:days?|weeks?|months?|years?|hours?)\b",
    re.I,
)


def asks_for_duration(question: str) -> bool:
    """ "How long", "how soon": the answer is a length of time, not just any number."""
    return bool(_ASKS_DURATION.search(question))


def states_duration(text: str) -> bool:
    return bool(_DURATION.search(text))


# "How much weight does non-sale carry", "how much is that part worth", "how much positive
# rate do I need": a share of a score, no sum of money; "how much DSR score" is a score, and
# "how much time" a length of time.
_WEIGHT_ASKED = (
    r"\bhow much\b(?=[^?.,;]{0,60}\b(?:weigh\w*|worth)\b"
    r"|\s+(?:[\w-]+\s+){0,2}?(?:rates?|ratings?|percent|percentage|ratio|feedback)\b)"
)
_SCORE_ASKED = r"\bhow much\s+(?:[\w-]+\s+){0,2}?(?:scores?|points?|DSR|stars?)\b"
_ASKS_AMOUNT = re.compile(
    rf"(?!{_WEIGHT_ASKED})(?!{_SCORE_ASKED})"
    r"\bhow much\b(?!\s+(?:time|longer|later|earlier|notice)\b)"
    r"|\b(how big|how high|maximum|max|biggest)\s+(a\s+|the\s+)?fine\b|\bfined\b"
    r"|\bhow many (euros?|dollars?|yuan|reais|pounds|USD|EUR|RMB|GBP|BRL)\b"
    r"|\b(minimum|maximum|min|max)\s+(yearly |annual |monthly )?(sales|turnover|revenue)\b"
    # "what does each one cost me?" asks what a violation costs (points), not a price
    rf"|{_WH_FIGURE}(fees?|costs?(?!\s+(?:me|us)\b)|fines?|charges?|deposits?|amounts?|commissions?|duty"
    r"|duties|tariffs?|sales (?:total|amount|volume|target|figure)|turnover|revenue)\b"
    # "which price must I show" picks one of the prices the rule names, it asks no sum
    r"|\b(?:what|whats|what.s|is there|are there)\s+(?:[\w-]+\s+){0,3}?prices?\b",
    re.I,
)
_AMOUNT = re.compile(
    r"(?:USD|EUR|RMB|CNY|BRL|GBP|yuan|R\$|[$€£¥])\s?\d"
    r"|\d[\d,.]*\s?(?:USD|EUR|RMB|CNY|BRL|GBP|yuan|euros?|dollars?|reais)\b",
    re.I,
)
# A capitalised word inside a sentence: a country, a platform, a law, a programme.
_INNER_NAME = re.compile(r"(?<![.?!:]\s)(?<!^)\b[A-Z][A-Za-z0-9&'’-]*")
# Capitalised, but no name: the first person and its contractions, "OK", and the months,
# weekdays and sale days of a date (the rulebook writes "31 December 2021" as 2021-12-31 as
# often as not; "my Double 11 discount", "for Black Friday" say when, not whose rule).
_NOT_NAMES = re.compile(
    r"I(?:['’](?:d|m|ve|ll))?|OK|January|February|March|April|May|June|July|August|September"
    r"|October|November|December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept?|Oct|Nov|Dec"
    r"|Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday"
    r"|Double|Black|Cyber|Christmas|Xmas|Singles"
    # a file type or a chat abbreviation in capitals names no place or programme either
    r"|PDF|URL|SKUs?|CSV|JPE?G|PNG|QR|ID|FAQ|DM|PM|ASAP|FYI|PLS|PLZ|BTW|TBH|IMO",
    re.I,
)
# Where the seller ships from is context, not the case asked about: the rulebook is written for
# sellers in mainland China and Hong Kong ("we ship from Shenzhen", "my HK bank account", "a
# factory in China"), so these never count as names the best passages lack.
_ORIGIN = re.compile(
    r"China|Chinese|PRC|mainland|Shenzhen|Guangzhou|Guangdong|Dongguan|Yiwu|Hangzhou|Zhejiang"
    r"|Ningbo|Shanghai|Beijing|Fujian|Xiamen|Putian|HK|Hong|Kong",
    re.I,
)
# A word typed in lower case, a name when the rulebook only writes it capitalised ("canada")
# or when it is a country's (a bridged question's places are in lower case).
_LOWER_WORD = re.compile(r"\b[a-z]{3,}\b")


def _other_platform(query: str, passages: list[Passage]) -> float:
    """Another marketplace's rule is not this rulebook's, however close its words; unless the
    best passages name that marketplace too (a rule about it, not a link to it)."""
    named = marketplaces_asked(query)
    if not named:
        return 0.0
    text = without_addresses(" ".join(p.text for p in passages)).lower()
    return float(any(name not in text for name in named))


# A sentence that only sends the reader to another guide ("...are covered in the payouts
# guide (payouts.md)") names the topic but holds no rule: it should not lead an answer.
_POINTER = re.compile(
    r"^(?:see|this (?:overview|guide))\b"
    r"|\b(?:are|is) (?:covered |described |explained |listed )?in the [\w ,-]{1,60} guides?\b"
    r"|\bthe [\w ,-]{1,60} guides? (?:has|have|covers?|lists?|gives?|explains?)\b",
    re.I,
)

_ASKS_SHARE = re.compile(
    rf"{_WH_FIGURE}(rates?|percent|percentage|share|proportion)\b|{_ASKED_PERCENT}|{_WEIGHT_ASKED}",
    re.I,
)
_SHARE = re.compile(r"\d\s?%|\bper ?cent\b", re.I)


def asks_for_share(question: str) -> bool:
    """A rate or a percentage: the answer is a share, not a date or a count."""
    return bool(_ASKS_SHARE.search(_percent_named(question)))


def states_share(text: str) -> bool:
    return bool(_SHARE.search(text))


def asks_for_amount(question: str) -> bool:
    """A fee, a price, a fine, a deposit: the answer is a sum of money."""
    return bool(_ASKS_AMOUNT.search(question))


def states_amount(text: str) -> bool:
    return bool(_AMOUNT.search(text))


_LIST_ITEM = re.compile(r"\s*(?:[-*•]|\d+[.)])\s+\S")


def statement(passage: Passage, sentence: Sentence) -> str:
    """A sentence with the list it introduces ("The deadlines are:" and its bullets): the
    figures in the items are what the sentence states."""
    if not sentence.text.rstrip().endswith(":"):
        return sentence.text
    items = []
    for line in passage.text[sentence.start + len(sentence.text) :].splitlines():
        if not line.strip():
            if items:
                break
            continue
        if not _LIST_ITEM.match(line):
            break
        items.append(line.strip())
    return " ".join([sentence.text, *items])


# What a figure question asks for, and how to see that a sentence states it: the most specific
# kind a question asks for decides which sentence leads the answer.
ANSWER_KINDS = (
    (asks_for_duration, states_duration),
    (asks_for_share, states_share),
    (asks_for_amount, states_amount),
)


def asked_kind(
    question: str,
    kinds: Sequence[tuple[Callable[[str], bool], Callable[[str], bool]]] = ANSWER_KINDS,
) -> Callable[[str], bool] | None:
    """How to see that a sentence states what the question asks for: the first (most
    specific) of `kinds` the question asks, or None."""
    return next((states for asks, states in kinds if asks(question)), None)


def parts_kind(question: str) -> Callable[[str], bool] | None:
    """What a question asks for when its parts ask for different figures ("what share is
    allowed, and how long do I have?"): a sentence stating any of them answers a part. A part that
    ends in a full stop tells ("...how big the risk is."), it does not ask."""
    kinds = list(
        dict.fromkeys(
            asked_kind(part) or states_figure
            for part in question_parts(question)
            if asks_for_figure(part) and not part.endswith(".")
        )
    )
    if len(kinds) < 2:
        return asked_kind(question)
    return lambda text: any(kind(text) for kind in kinds)


@dataclass
class Scored:
    """One quotable sentence of a retrieved passage and how well it answers the question."""

    sentence: Sentence
    passage_rank: int
    passage: Passage
    score: float
    semantic: float
    features: tuple[float, ...] = ()  # the sentence ranking's measures (SENTENCE_FEATURES)
    # the hand-set sum of similarity, term share and passage strength (`score` without a
    # fitted ranking): how much a sentence is about the question, where the fitted ranking
    # says how likely it holds the asked fact
    weighed: float = 0.0


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
    amount_missing: float = 0.0  # asks for a sum of money, and the best sentences state none
    names_missing: float = 0.0  # share of the names it asks about that the top passages lack
    top_sentences: float = 0.0  # mean similarity of the three best sentences to the question
    phrase_terms: float = 0.0  # share of its adjacent term pairs found together in one of them
    best_ask: float = 0.0  # closest "sellers ask" question of a section, or passage text
    translated: float = 0.0  # 1: the query is rule terms bridged from another language
    unbridged: float = 0.0  # ...and this share of that question's letters found no rule term
    figure_focus: float = 0.0  # asks for a figure: question terms the best figure-stating
    # sentences lack (0: no figure asked)
    length: float = 0.0  # log(1 + the question's term count): long questions share less
    other_platform: float = 0.0  # 1: names another marketplace the top passages never mention
    figure_elsewhere: float = 0.0  # asks for a figure: how much more of the asked thing the
    # sentence most about it holds than the best one stating a figure of the kind asked
    follow_up: float = 0.0  # 1: searched together with the conversation before it, whose
    # words the best sentences may hold without holding what the new question asks

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
    return list(_quotable(passage.text))


@lru_cache(maxsize=4096)
def _quotable(text: str) -> tuple[Sentence, ...]:
    """Cached: the same passages are split again for every question that retrieves them."""
    return tuple(
        s
        for s in split_sentences(text)
        if not SOURCE_LINE.match(s.text) and not looks_like_instruction(s.text)
    )


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
        self._settings = settings
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
        """Vectors of new chunks, composed from the vectors of their heading and quotable
        sentences (see `chunk_parts`), which are embedded once each and cached: ingest runs the
        model once per distinct sentence instead of once more per chunk, and a warm question
        only ever embeds itself. A chunk with text that is not sentences (a table, code) is
        embedded whole, without its source references."""
        plans = [chunk_parts(c) for c in chunks]
        parts = sorted({text for plan in plans for text, _ in plan})
        cached = self._cache.get(parts) if parts else []
        missing = [t for t, v in zip(parts, cached, strict=True) if v is None]
        whole = {i: without_references(chunks[i]) for i, plan in enumerate(plans) if not plan}
        texts = list(dict.fromkeys([*missing, *whole.values()]))
        embedded = self._cache.embeddings.embed_documents(texts) if texts else []
        vectors = dict(zip(texts, embedded, strict=True))
        if missing:
            self._cache.put([(t, vectors[t]) for t in missing])
        vectors.update((t, v) for t, v in zip(parts, cached, strict=True) if v is not None)
        out = []
        for i, plan in enumerate(plans):
            if not plan:
                out.append(list(vectors[whole[i]]))
                continue
            mean = sum(
                w * self._count_tokens(t) * np.asarray(vectors[t], dtype=np.float64)
                for t, w in plan
            )
            out.append((mean / np.linalg.norm(mean)).tolist())
        return out

    @cached_property
    def _count_tokens(self):
        """The model's token count, for weighting a chunk's parts (loads the tokenizer once)."""
        return token_budget(self._settings.model_path)[0]


# A chunk's heading path ("# Title > Section") names its topic once for several sentences; it
# weighs as three times its tokens in the chunk's vector (dev: 1x, 3x, 6x tried; 3x best).
HEADING_WEIGHT = 3.0


def chunk_parts(chunk: str) -> list[tuple[str, float]]:
    """What a chunk's vector is the token-weighted mean of: its heading path and each quotable
    sentence, or nothing when part of its text is not sentences (then it is embedded whole).

    MiniLM mean-pools tokens, so this lands near the vector of the chunk's text without its
    "Source:" references (median cosine 0.93 on knowledge/; dev recall@5 0.968 either way,
    out-of-fold refusal AUC 0.867 -> 0.895) at half the model work: ingest embedded chunks
    and their sentences apart before."""
    body = body_of(chunk)
    heading = chunk[: len(chunk) - len(body)].lstrip("#").strip()
    if any(line.lstrip().startswith(("|", "```")) for line in body.splitlines()):
        return []
    sentences = [(s.text, 1.0) for s in _quotable(chunk)]
    if not sentences:
        return []
    return [(heading, HEADING_WEIGHT), *sentences] if heading else sentences


def one_blas_thread() -> None:
    """Answering's vector math is small (a question against 1,245 sellers' questions, then
    against some fifty sentences), and OpenBLAS splitting it over both cores made it slower:
    one 1245x384 product took 0.82 ms on two threads and 0.03 ms on one, and 7.6 ms while
    another process held the second core. Only numpy's BLAS is limited (not ONNX Runtime's
    pool, nor torch's OpenMP)."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")


class Retrieval:
    """Search and evidence scoring over one store; build once per process (see container)."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        glossary: Glossary | None = None,
        ranker: SentenceRanker | None = None,
    ) -> None:
        one_blas_thread()
        self.settings = settings
        self.glossary = glossary  # English seller words -> rule words (None: no bridge)
        self.ranker = ranker  # the fitted sentence ranking (None: the hand-set weights)
        self.weights: EvidenceWeights = settings.evidence
        self.store = store
        self.embeddings: Embeddings = store.embeddings
        self.retriever = HybridRetriever(
            store,
            settings.candidate_k,
            settings.rrf_k,
            lexicon=settings.model_path,
            seller_questions=settings.seller_questions,
        )
        self.sentence_vectors = SentenceVectors(settings, self.embeddings)
        self._ask_matrix: tuple[object, list[str], np.ndarray, np.ndarray] | None = None

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
        self, query: str, k: int, bridge: Bridge | None = None, translated: bool = False
    ) -> tuple[list[Passage], list[float]]:
        """The passages answering ranks for a question: the lexical side searched with the
        rule terms the question's words imply. Sections' "sellers ask" questions rank only a
        question a seller wrote: rule terms bridged from another language are no question
        (on dev they pulled the wrong sections for French, Portuguese and Russian)."""
        bridge = bridge or self.bridge(query)
        vector = self.embed_query(query)
        lexical = f"{query} {bridge.rule_text}".strip()
        asked = {} if translated else self.asked(vector)
        # A scenario's story ("we want to join Double 11 with our dresses") outweighs its
        # question ("what positive feedback rate do we need?") in one vector: the sentences
        # that ask are searched on their own as well, and a passage ranks as close as either
        # finds it.
        asking_vector = None
        if not translated and (asking := asking_part(query)) != query.strip():
            asking_vector = self.embed_query(asking)
            also = self.asked(asking_vector)
            # in the index's order, as `asked` lists it: every chunk of a section has the same
            # closeness, and a set's order (which varies with the process) would break the tie
            asked = {i: max(v, also.get(i, 0.0)) for i, v in asked.items()}
        passages = self.retriever.search(
            lexical, vector, k=k, asked=asked, asking_vector=asking_vector
        )
        if translated:  # not a ranking key for a bag of rule terms, but still a signal
            asked = self.asked(vector)
            passages = [replace(p, asked=asked.get(p.id, 0.0)) for p in passages]
        return passages, vector

    def asked(self, vector: list[float]) -> dict[str, float]:
        """Chunk id -> similarity of its section's closest "sellers ask" question: a seller's
        wording meets the questions written in sellers' words."""
        asks = self.retriever.asks
        if not asks:
            return {}
        if self._ask_matrix is None or self._ask_matrix[0] is not asks:
            # the retriever lists each chunk's questions together, chunks in the index's order
            # (so reduceat takes one maximum per chunk, and equal similarities rank as written)
            ids = [i for i, _ in asks]
            starts = np.flatnonzero([n == 0 or ids[n - 1] != i for n, i in enumerate(ids)])
            matrix = self.sentence_vectors([q for _, q in asks])
            self._ask_matrix = (asks, [ids[n] for n in starts], starts, matrix)
        _, chunk_ids, starts, matrix = self._ask_matrix
        best = np.maximum.reduceat(matrix @ np.asarray(vector, dtype=np.float32), starts)
        return dict(zip(chunk_ids, best.tolist(), strict=True))

    def find(
        self,
        query: str,
        k: int,
        translated: bool = False,
        unbridged: float = 0.0,
        asking: str = "",
        follow_up: bool = False,
    ) -> Found:
        """Rank passages as `ranked` does, then score the sentences of the top passages
        against the question (`asking`: the terms of the sentences that ask, when the caller
        knows them better than the query's own punctuation shows; `follow_up`: the query holds
        the conversation before the question too)."""
        bridge = self.bridge(query)
        passages, vector = self.ranked(query, k, bridge, translated)
        top = passages[: self.weights.scored_passages]
        scored, signals = self.score(query, vector, top, bridge, asking)
        similar = self.retriever.similarities(passages, vector)
        if len(passages) > 1:
            signals.dense_margin = similar[0] - max(similar[1:])
        best_lexical = max((p.lexical for p in passages), default=0.0)
        if passages and best_lexical > 0:
            signals.lexical_agreement = passages[0].lexical / best_lexical
        signals.top_dense = similar[0] if passages else 0.0
        signals.translated = float(translated)
        signals.unbridged = unbridged
        signals.follow_up = float(follow_up)
        # a section without sellers' questions (an upload) counts by its own text instead
        signals.best_ask = max((max(p.asked, p.dense) for p in passages), default=0.0)
        return Found(query, passages, vector, scored, signals)

    def score(
        self,
        query: str,
        vector: list[float],
        passages: list[Passage],
        bridge: Bridge | None = None,
        asking: str = "",
        ranked: bool = True,
    ) -> tuple[list[Scored], Signals]:
        """Score every quotable sentence of `passages`, and measure how well the evidence as a
        whole answers the question (`ranked`: by the fitted sentence ranking when there is one;
        else, or when False, by the hand-set weights).

        The hand-set sum (`Scored.weighed`; weights `EvidenceWeights` in the settings) adds a
        sentence's similarity to the question, the share of the question's weighted terms it
        holds (heading terms count part) and its passage's strength. A question term counts as
        held when the sentence has it or a rule term the glossary maps it to ("knock-offs" ->
        counterfeit), and as unknown only when the corpus has neither. The fitted ranking
        reads these and more (`SENTENCE_FEATURES`) as p(the sentence holds the asked fact).
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

        def share(
            present: set[str], heading: set[str] = frozenset(), within: set[str] | None = None
        ) -> float:
            held = whole = 0.0
            for term, (members, weight) in groups.items():
                if within is not None and term not in within:
                    continue
                whole += weight
                if members & present:
                    held += weight
                elif members & heading:
                    held += w.heading_term_share * weight
            return held / (whole or 1.0)

        headings = {p.id: term_set(f"{p.title} {p.section}") for p in passages}
        heading_share = {p.id: share(headings[p.id]) for p in passages}
        best_lexical = max(p.lexical for p in passages) or 1.0
        asks_figure = asks_for_figure(query)
        kind = parts_kind(query)
        scored: list[Scored] = []
        signals = Signals()
        for (rank, passage, sentence), sem in zip(pool, semantic, strict=True):
            present = term_set(sentence.text)
            own = share(present)
            signals.sentence_terms = max(signals.sentence_terms, own)
            ref = sentence_source(passage, sentence.start)
            authority = AUTHORITY_WEIGHT[ref.authority] if ref else 0.0
            pointer = bool(_POINTER.search(sentence.text))
            said = statement(passage, sentence)
            features = (
                float(sem),
                own,
                heading_share[passage.id],
                passage.dense,
                passage.lexical / best_lexical,
                passage.asked,
                float(rank),
                authority,
                float(pointer),
                float(asks_figure and states_figure(said)),
                float(kind is not None and kind(said)),
                math.log1p(len(said)),
            )
            score = (
                w.sentence_semantic * float(sem)
                + w.sentence_terms * share(present, headings[passage.id])
                + w.sentence_passage * passage.dense
                + w.sentence_authority * authority
                - w.sentence_pointer * pointer
            )
            scored.append(Scored(sentence, rank, passage, score, float(sem), features, score))
        # against this question's best: how close a sentence is means more next to the others
        top_sem, top_own = float(semantic.max()), signals.sentence_terms
        scored = [
            replace(s, features=(*s.features, s.semantic - top_sem, s.features[1] - top_own))
            for s in scored
        ]
        if ranked and self.ranker is not None:
            likely = self.ranker.probabilities(np.array([s.features for s in scored]))
            scored = [replace(s, score=float(p)) for s, p in zip(scored, likely, strict=True)]
        scored.sort(key=lambda s: -s.score)
        signals.best_sentence = float(semantic.max())
        signals.passage_terms = max(share(term_set(p.text) | headings[p.id]) for p in passages[:3])
        df = self.retriever.document_frequency
        signals.unknown_terms = (
            sum(weight for members, weight in groups.values() if not any(df(m) for m in members))
            / total
        )
        signals.bridged_terms = sum(
            1 for t, (members, _) in groups.items() if not df(t) and any(df(m) for m in members)
        ) / max(len(groups), 1)
        signals.unknown_names = self._unknown_names(query, groups)
        best = scored[:3]
        best_text = " ".join(statement(s.passage, s.sentence) for s in best)
        signals.figure_missing = float(asks_figure and not states_figure(best_text))
        signals.amount_missing = float(asks_for_amount(query) and not states_amount(best_text))
        signals.top_sentences = sum(s.semantic for s in best) / len(best)
        asking = asking or asking_part(query)
        signals.names_missing = _names_missing(
            asking,
            groups,
            passages[:3],
            self.retriever.is_name,
            english_lexicon(self.settings.model_path),
        )
        signals.other_platform = _other_platform(query, passages[:3])
        signals.length = length_signal(len(groups))
        signals.phrase_terms = _phrase_share(query, groups, [s.sentence.text for s in best])
        if asks_figure:
            # the words that ask for the figure ("is there a deadline", "how long") are what a
            # figure answers, not the thing a sentence must be about
            asking_terms = set(terms(asking))
            focus = (asking_terms - FIGURE_ASK_TERMS) or asking_terms
            about = [
                (
                    share(term_set(s.sentence.text), headings[s.passage.id], focus),
                    statement(s.passage, s.sentence),
                )
                for s in scored[:FOCUS_SENTENCES]
            ]
            signals.figure_focus = 1.0 - max(
                (a for a, text in about if states_figure(text)), default=0.0
            )
            kind = kind or states_figure
            # the best-ranked sentence stating a figure of the kind asked is the answer, however
            # many of a long story's words a neighbour holds
            if not kind(about[0][1]):
                of_kind = max((a for a, text in about if kind(text)), default=0.0)
                signals.figure_elsewhere = max(0.0, max(a for a, _ in about) - of_kind)
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
                for m in _members(groups, stem)
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

    def term_groups(self, text: str) -> dict[str, tuple[set[str], float]]:
        """A text's terms as scoring weighs them: each with the rule terms the glossary maps it
        to, weighted by rarity."""
        return self._term_groups(text, self.bridge(text))

    def term_share(self, question: str) -> Callable[[str], float]:
        """The share of the question's weighted terms (glossary bridges included) a text holds;
        the terms are weighed on the first call, so a caller that never asks pays nothing."""
        weighed: list[tuple[dict[str, tuple[set[str], float]], float]] = []

        def share(text: str) -> float:
            if not weighed:
                groups = self.term_groups(question)
                weighed.append((groups, sum(w for _, w in groups.values()) or 1.0))
            groups, total = weighed[0]
            present = term_set(text)
            return sum(w for members, w in groups.values() if members & present) / total

        return share

    def _term_groups(self, query: str, bridge: Bridge | None) -> dict[str, tuple[set[str], float]]:
        """Each question term with the rule terms it maps to, weighted by rarity in the corpus
        (a seller's word the corpus lacks weighs what the rule words it maps to weigh)."""
        groups: dict[str, tuple[set[str], float]] = {}
        # in the question's order: a set's order, and so the float sums, moved with the hash seed
        for term in dict.fromkeys(terms(query)):
            members = {term} | (bridge.groups.get(term, set()) if bridge else set())
            known = [m for m in members if self.retriever.document_frequency(m)]
            weight = (
                self.idf(term)
                if term in known or not known
                else sum(self.idf(m) for m in known) / len(known)
            )
            groups[term] = (members, weight)
        return groups


def length_signal(term_count: int) -> float:
    """log(1 + terms): a long question's terms are spread thin over any one sentence."""
    return math.log1p(term_count)


def _members(groups: dict[str, tuple[set[str], float]], term: str) -> set[str]:
    """A question term with the rule terms the glossary maps it to (itself when unmapped)."""
    return groups.get(term, ({term}, 0.0))[0]


def _names_missing(
    query: str,
    groups: dict[str, tuple[set[str], float]],
    passages: list[Passage],
    is_name: Callable[[str], bool] = lambda _: False,
    lexicon: Collection[str] = frozenset(),
) -> float:
    """A country, platform or programme the question names but the best passages never mention
    ("VAT in Japan", "eBay's limit") usually means the rulebook answers a neighbouring case.
    The caller passes the sentences that ask: a name in a scenario's story is context. A
    common word in capitals is a seller's emphasis ("he STILL hasn't sent it"), no name."""
    present = set(
        terms(without_addresses(" ".join(f"{p.title} {p.section} {p.text}" for p in passages)))
    )
    typed = [
        w
        for w in _INNER_NAME.findall(query)
        if not _NOT_NAMES.fullmatch(w) and not _emphasis(w, lexicon)
    ]
    # typed in lower case, an everyday English word ("team", "program") is no name even
    # where the rulebook capitalises it inside one ("Case Management Team")
    typed += [
        w
        for w in _LOWER_WORD.findall(query)
        if (w in place_words() or (is_name(w) and w not in lexicon)) and not _NOT_NAMES.fullmatch(w)
    ]
    names = [stems for word in typed if not _ORIGIN.fullmatch(word) and (stems := terms(word))]
    if not names:
        return 0.0
    missing = sum(
        1 for stems in names if not any(_members(groups, stem) & present for stem in stems)
    )
    return missing / len(names)


def _emphasis(word: str, lexicon: Collection[str]) -> bool:
    return len(word) >= 4 and word.isupper() and word.lower() in lexicon


def _phrase_share(
    query: str, groups: dict[str, tuple[set[str], float]], sentences: list[str], window: int = 3
) -> float:
    """How many of the question's adjacent term pairs ("interest rate", "processing days")
    occur close together in one sentence: single terms scattered over a neighbouring rule
    match as well, phrases much less so."""
    words = terms(query)
    pairs = [(a, b) for a, b in pairwise(words) if a != b]
    if not pairs:
        return 1.0
    positions: list[dict[str, list[int]]] = []
    for text in sentences:
        where: dict[str, list[int]] = {}
        for i, term in enumerate(terms(text)):
            where.setdefault(term, []).append(i)
        positions.append(where)

    def near(a: str, b: str, where: dict[str, list[int]]) -> bool:
        first = [i for m in _members(groups, a) for i in where.get(m, [])]
        second = [i for m in _members(groups, b) for i in where.get(m, [])]
        return any(abs(i - j) <= window for i in first for j in second)

    found = sum(1 for a, b in pairs if any(near(a, b, where) for where in positions))
    return found / len(pairs)
