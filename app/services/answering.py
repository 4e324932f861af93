"""The one answer pipeline: screen -> condense -> retrieve -> score evidence -> write.

Every engine runs it; only the writer differs. The default writer quotes the indexed sentences
that best answer the question, each with an `[n]` marker whose citation quotes it verbatim; an
LLM writer (`generation.py`) rewords them and is verified against the same sources. When the
evidence is weak the answer says the knowledge base does not cover the question and shows the
closest passages, instead of stitching together something that sounds right.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from app.components.glossary import Glossary
from app.components.language import (
    Translation,
    detect,
    key_point_line,
    with_conversation,
)
from app.components.refusal import RefusalModel
from app.components.retrieval import (
    ANSWER_KINDS,
    FOCUS_SENTENCES,
    Retrieval,
    Scored,
    Signals,
    asked_kind,
    asks_for_figure,
    sentence_source,
    source_sentences,
    states_duration,
    states_figure,
)
from app.components.retriever import Passage
from app.components.serialise import Serialisable
from app.components.text import (
    MARKETPLACE_SCRIPT_NAMES,
    Sentence,
    marketplaces_asked,
    question_parts,
    term_set,
    terms,
)
from app.services.policy import LEGAL_NOTE, declined, legal_exposure
from app.services.questions import CleanQuestion, clean_question, condense, leans_back
from app.services.sourcing import (
    authority_note,
    conflict_note,
    conflict_spans,
    date_notes,
    in_span,
)
from app.settings import Settings

OnToken = Callable[[str], None]

UNCERTAIN_NOTE = (
    "Caution: the knowledge base marks part of this as uncertain, or its sources disagree. "
    "Check the current AliExpress seller rules before relying on it."
)
PART_CANDIDATES = 12  # the best-scored sentences a question's part may add one from
PART_MIN_SHARE = 0.5  # ...holding at least this share of the part's terms, by rarity
PART_KIND_CANDIDATES = 24  # ...and a later part asking its own kind, one stating it
# when no chosen sentence states the asked figure: the best-scored sentences searched for it,
# and the least share of the best score the one found must have
REACH_CANDIDATES = 8
REACH_MIN_RELATIVE = 0.45
_SOURCE_TAIL = re.compile(r"\s*Sources?:.*$", re.I)
FIGURE_NOT_GIVEN = (
    "The knowledge base covers this topic but does not give the figure asked for, so I won't "
    "guess one. What it says:"
)
BORDERLINE_NOTE = (
    "This is the closest rule the knowledge base has; check that it answers your question."
)
REFUSAL_TEXT = (
    "The knowledge base does not cover this question well enough to answer it, so I won't "
    "guess. The closest passages are listed below; the official AliExpress seller rules or "
    "seller support can answer what they don't."
)

OTHER_MARKETPLACE_TEXT = (
    "This asks about {names}'s own rules. The knowledge base covers AliExpress and the laws "
    "its sellers ship under, not other marketplaces, so I won't guess theirs. The closest "
    "AliExpress passages are listed below in case the comparison helps."
)


def _other_marketplace_text(evidence: Evidence) -> str:
    """A refusal that says why, when the question is about another marketplace the passages
    never mention ("I also sell on Temu. How long do they give me there?")."""
    if not evidence.signals.other_platform:
        return ""
    names = marketplaces_asked(evidence.question) or marketplaces_asked(evidence.standalone)
    if not names:
        return ""
    plain = {MARKETPLACE_SCRIPT_NAMES.get(name, name) for name in names}  # "쇼피" -> "shopee"
    shown = sorted(_SHOWN.get(name, name.title()) for name in plain)
    return OTHER_MARKETPLACE_TEXT.format(names=" / ".join(shown))


# marketplaces whose names are not written in title case
_SHOWN = {
    "ebay": "eBay",
    "tiktok": "TikTok",
    "dhgate": "DHgate",
    "jd.com": "JD.com",
    "bol.com": "bol.com",
    "alibaba.com": "Alibaba.com",
    "11st": "11st",
    "n11": "n11",
}


@dataclass
class Citation(Serialisable):
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
    authority: str = ""  # of the source the quote rests on (see app.components.provenance)
    rule_date: str = ""  # of the rule text quoted: YYYY[-MM[-DD]], "undated" or ""
    conflict: bool = False  # quotes a paragraph stating that sources disagree


@dataclass
class Answer(Serialisable):
    question: str
    text: str
    refused: bool
    citations: list[Citation] = field(default_factory=list)
    passages: list[Passage] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    standalone_question: str = ""
    error: str | None = None
    confidence: float = field(default=0.0, metadata={"digits": 4})
    # Who wrote the text. `verified` is False when an LLM's answer failed the check against
    # its sources (the text is then the quoted answer); `unsupported_sentences` are the model's
    # sentences that were left out or rejected.
    engine: str = "extractive"
    verified: bool = True
    unsupported_sentences: list[str] = field(default_factory=list)
    provider_error: str | None = None
    language: str = "en"  # the question's; non-English answers open with a line in it


@dataclass
class Evidence:
    """What retrieval found for one question, before any answer is written from it."""

    question: str
    standalone: str
    notes: list[str]
    candidates: list[Passage]
    passages: list[Passage]
    scored: list[Scored]
    score: float  # p(answerable) from the refusal model, else the hand-weighted score
    signals: Signals = field(default_factory=Signals)
    old_rule_years: float = 2.0  # quoted rule text older than this gets a warning
    parts: tuple[str, ...] = ()  # a translated question's asks, one bag of rule terms each
    new_ask: str = ""  # a follow-up condensed with earlier turns: what it asks itself

    def answer(
        self, text: str, citations: list[Citation], notes: list[str], **extra: Any
    ) -> Answer:
        """An answer resting on this evidence, with the caution and legal notes it calls for."""
        text, notes = with_caution(self.question, text, notes, citations)
        notes = [
            *notes,
            *authority_note(citations),
            *date_notes(citations, self.old_rule_years),
        ]
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

    def refusal(self, notes: list[str], text: str = "", **extra: Any) -> Answer:
        """The "not covered" answer, with the closest passages to look at instead."""
        return Answer(
            self.question,
            text or REFUSAL_TEXT,
            refused=True,
            passages=self.passages,
            notes=notes,
            standalone_question=self.standalone,
            confidence=self.score,
            **extra,
        )


@dataclass
class WriteJob:
    """Everything a writer gets: the evidence, the quoted answer built from it (its fallback),
    where to stream tokens, the deadline, and a provider failure from condensing, if any."""

    evidence: Evidence
    quoted: Answer
    on_token: OnToken | None
    deadline: float
    problem: str | None = None
    language: str = ""  # the seller's, when not English: the writer answers in it


class QuotedWriter:
    """The default writer, and the base of the others: the quoted answer itself."""

    label = "extractive"
    streams = False  # sends tokens to `on_token` as they are written
    sources = 0  # passages it reads (the search returns at least this many)
    timeout = math.inf  # seconds for one answer
    llm: Any = None  # the chat model, or None for quoted answers
    settings: Settings | None = None  # the provider settings it was built from

    def condense(
        self, question: str, history: Sequence[dict] | None, deadline: float
    ) -> tuple[str, str | None]:
        """The standalone question, and a provider failure line if condensing failed."""
        return condense(question, history), None

    def write(self, job: WriteJob) -> Answer:
        return job.quoted


class Answerer(Protocol):
    """What the CLI, the app, the evaluation and the benchmark call; never a concrete type."""

    label: str
    streams: bool
    llm: Any
    llm_settings: Settings | None

    def ask(
        self,
        question: object,
        history: Sequence[dict] | None = None,
        on_token: OnToken | None = None,
    ) -> Answer: ...

    def retrieve(
        self, question: str, history: Sequence[dict] | None = None, k: int | None = None
    ) -> list[Passage]: ...


class Assistant:
    """The answer engine: the one pipeline over a retrieval room, with a writer.

    Build once per process (`app.container`); `ask` may be called from many threads at once."""

    def __init__(
        self,
        settings: Settings,
        retrieval: Retrieval,
        writer: QuotedWriter | None = None,
        refusal: RefusalModel | None = None,
        glossaries: Mapping[str, Glossary] | None = None,
    ) -> None:
        self.settings = settings
        self.retrieval = retrieval
        self.writer = writer or QuotedWriter()
        self.refusal = refusal
        # Bridges to the English rulebook by language (English itself is the retrieval's);
        # a mapping that may read each file only when its language is first asked in.
        self.glossaries: Mapping[str, Glossary] = glossaries or {}
        self.languages = tuple(code for code in self.glossaries if code != "en")

    def with_writer(self, writer: QuotedWriter) -> Assistant:
        """The same retrieval room, refusal decision and languages, through another writer."""
        return Assistant(self.settings, self.retrieval, writer, self.refusal, self.glossaries)

    @property
    def label(self) -> str:
        return self.writer.label

    @property
    def streams(self) -> bool:
        return self.writer.streams

    @property
    def llm(self) -> Any:
        return self.writer.llm

    @property
    def llm_settings(self) -> Settings | None:
        return self.writer.settings

    # -- the pipeline -------------------------------------------------------------------------
    def ask(
        self,
        question: object,
        history: Sequence[dict] | None = None,
        on_token: OnToken | None = None,
    ) -> Answer:
        """Quoted answers come whole; a streaming writer passes its tokens to `on_token`."""
        screened = self.screen(question)
        if isinstance(screened, Answer):
            return screened  # declined requests never reach retrieval or a model
        deadline = time.monotonic() + self.writer.timeout
        translation = self.translation(screened.text, history)
        if translation is not None:  # searched as the rulebook's English terms, never spell-fixed
            return self._foreign(screened, translation, on_token, deadline)
        evidence, problem = self.english_evidence(screened, history, deadline)
        if isinstance(evidence, Answer):
            return evidence
        quoted = self.compose(evidence)
        if quoted.refused:
            return quoted  # weak evidence: no writer is asked to improvise
        return self.writer.write(WriteJob(evidence, quoted, on_token, deadline, problem))

    def english_evidence(
        self,
        screened: CleanQuestion,
        history: Sequence[dict] | None = None,
        deadline: float = math.inf,
    ) -> tuple[Evidence | Answer, str | None]:
        """The evidence for an English question as answering reads it (calibration collects
        the same), and a provider failure line from condensing."""
        standalone, problem = self.writer.condense(screened.text, history, deadline)
        evidence = self.gather(screened.text, standalone, screened.notes)
        return self._better_reading(screened, standalone, history, evidence), problem

    def _better_reading(
        self,
        screened: CleanQuestion,
        standalone: str,
        history: Sequence[dict] | None,
        evidence: Evidence | Answer,
    ) -> Evidence | Answer:
        """A question that names its own topic but still points back ("can I sign up for that
        myself?") is searched alone and with the conversation before it, and the reading the
        evidence supports better is kept: which one the seller meant shows in how well the
        rulebook answers each."""
        if not isinstance(evidence, Evidence) or not _points_back(screened, standalone, history):
            return evidence
        joined = condense(screened.text, history, always=True)
        other = self.gather(screened.text, joined, screened.notes)
        return other if isinstance(other, Evidence) and other.score > evidence.score else evidence

    def english_terms(self, text: str, history: Sequence[dict] | None = None) -> str | None:
        """A question in another language as the rulebook's English terms (None: English)."""
        translation = self.translation(text, history)
        return None if translation is None else translation.english

    def translation(self, text: str, history: Sequence[dict] | None = None) -> Translation | None:
        """The question as the rule terms of its language's glossary (a follow-up with the
        earlier questions it leans on), or None for English."""
        if not self.languages:
            return None
        language = detect(text, self.languages)
        if language not in self.languages:  # English, or unsure
            return None
        if self._rulebook_words(text):
            return None  # "GPSR application date?" read as French: no French in it
        return with_conversation(
            text, history, self.glossaries[language], lambda t: detect(t, self.languages)
        )

    def _rulebook_words(self, text: str) -> bool:
        """Every word the rulebook's own (English) vocabulary: a short English question the
        language identifier took for another language (what its glossary matched are English
        words too, "gpsr" read as French for "gpsr")."""
        words = terms(text)
        frequency = self.retrieval.retriever.document_frequency
        return bool(words) and all(frequency(word) for word in words)

    def foreign_evidence(
        self, screened: CleanQuestion, translation: Translation
    ) -> Evidence | Answer:
        """Evidence for a question bridged from another language: its rule terms searched as
        they are (never spell-fixed), with how much of the question they cover; a question
        with no rule word is refused before any search."""
        if not translation.english:
            return Answer(screened.text, REFUSAL_TEXT, refused=True, notes=screened.notes)
        return self.gather(screened.text, translation.english, screened.notes, translation)

    def _foreign(
        self,
        screened: CleanQuestion,
        translation: Translation,
        on_token: OnToken | None,
        deadline: float,
    ) -> Answer:
        """A question in another language: the quoted answer opens with a line in it; an LLM
        writer answers in it, held to the figures and citations of the English sources, with
        the quoted answer as its fallback."""
        glossary = self.glossaries[translation.language]
        evidence = self.foreign_evidence(screened, translation)
        if isinstance(evidence, Answer):
            return self._localised(glossary, evidence)
        quoted = self._localised(glossary, self.compose(evidence))
        if quoted.refused or self.writer.llm is None:
            return quoted
        language = glossary.data.name or glossary.language
        answer = self.writer.write(
            WriteJob(evidence, quoted, on_token, deadline, language=language)
        )
        answer.language = glossary.language
        return answer

    @staticmethod
    def _localised(glossary: Glossary, answer: Answer) -> Answer:
        """One line in the seller's language first: the notice that the answer quotes the
        English rulebook and its key point (a figure and glossary words of the cited
        sentence), or the refusal explained."""
        answer.language = glossary.language
        if answer.error == "empty_index":
            return answer
        if answer.refused:
            unknown = answer.text.startswith(FIGURE_NOT_GIVEN) and glossary.data.figure_not_given
            line = glossary.data.figure_not_given if unknown else glossary.data.refusal
            answer.text = f"{line}\n\n{answer.text}".strip()
            return answer
        settled = [c for c in answer.citations if not c.conflict] or answer.citations
        points = [key_point_line(glossary, c.quote, c.n) for c in settled[:3]]
        with_figure = [p for p in points if states_figure(p.split("[")[0])]
        point = (with_figure or points or [""])[0]
        lines = [line for line in (point, glossary.data.notice) if line]
        answer.text = "\n\n".join([*lines, answer.text])
        return answer

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

    def gather(
        self,
        question: str,
        standalone: str,
        notes: list[str],
        translation: Translation | None = None,
    ) -> Evidence | Answer:
        """Search for a standalone question and score the evidence. An English question has
        its typos fixed here; a `translation` (rule terms from another language) is never
        spell-corrected, and the refusal model knows its signals come from a bag of terms."""
        translated = translation is not None
        self.retrieval.refresh()
        new_ask = question if not translated and standalone.strip() != question.strip() else ""
        if not translated:
            standalone = self.retrieval.correct(standalone)
        if self.retrieval.size == 0:
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
        found = self.retrieval.find(
            standalone,
            max(k, self.settings.evidence.candidates, self.writer.sources),
            translated,
            translation.unbridged if translation else 0.0,
            translation.asking if translation else "",
            bool(new_ask) or bool(translation and translation.follow_up),
        )
        score = (
            self.refusal.probability(found.signals)
            if self.refusal
            else self.retrieval.evidence_score(found.signals)
        )
        return Evidence(
            question,
            standalone,
            notes,
            found.passages,
            found.passages[:k],
            found.scored,
            score,
            found.signals,
            self.settings.old_rule_years,
            translation.parts if translation else (),
            new_ask,
        )

    def compose(self, evidence: Evidence) -> Answer:
        """The quoted answer: the best sentences, or a refusal when the evidence is weak."""
        threshold = (
            self.refusal.threshold_for(evidence.signals)
            if self.refusal
            else self.settings.refusal_threshold
        )
        if not evidence.scored:
            return evidence.refusal(evidence.notes)
        picked = self._choose(
            evidence.scored, evidence.standalone, evidence.parts, evidence.new_ask
        )
        chosen, conflict = _with_conflict(
            picked,
            [*evidence.scored, *_own_conflicts(picked[0], evidence)],
            self.settings.conflict_min_relative,
        )
        # A sentence saying the asked figure is not given is the reason shown with a refusal,
        # whether the evidence was strong enough to answer or not.
        # a question of two parts is answered for the part the rulebook gives; the note that the
        # other part's figure is missing stays in the answer if it was chosen
        one_part = len(evidence.parts or question_parts(evidence.standalone)) < 2
        unknown = (
            _figure_not_given(
                evidence.standalone,
                chosen,
                evidence.scored,
                self.retrieval.term_share(evidence.standalone),
            )
            if one_part
            else []
        )
        if unknown:
            text, citations = _compose(unknown)
            return evidence.refusal(
                evidence.notes, f"{FIGURE_NOT_GIVEN} {text}", citations=citations
            )
        if evidence.score < threshold:
            return evidence.refusal(evidence.notes, _other_marketplace_text(evidence))
        notes = list(evidence.notes)
        if self.refusal and evidence.score < self.refusal.caution_below:
            notes.append(BORDERLINE_NOTE)
        text, citations = _compose(chosen)
        if conflict is not None:
            passage, span = conflict
            for c in citations:
                c.conflict = (
                    c.passage_id == passage.id and span[0] <= passage.text.find(c.quote) < span[1]
                )
            notes.append(conflict_note(passage, span, [c.n for c in citations if c.conflict]))
        return evidence.answer(text, citations, notes)

    # -- lookups for other services -----------------------------------------------------------
    def retrieve(
        self, question: str, history: Sequence[dict] | None = None, k: int | None = None
    ) -> list[Passage]:
        """Ranked passages for a question, exactly as answering sees them: another language
        as its rule terms, English condensed, spell-fixed and bridged."""
        self.retrieval.refresh()
        query = self.english_terms(question.strip(), history)
        translated = query is not None
        if query is None:
            standalone = condense(question.strip(), history)
            query = self.retrieval.correct(standalone)
            screened = self.screen(question)
            if isinstance(screened, CleanQuestion) and _points_back(screened, standalone, history):
                evidence = self._better_reading(
                    screened, standalone, history, self.gather(screened.text, standalone, [])
                )
                query = evidence.standalone if isinstance(evidence, Evidence) else query
        k = k or self.settings.retrieval_k
        return self.retrieval.ranked(query, k, translated=translated)[0]

    def cite(
        self, query: str, source: str | None = None, section: str | None = None, limit: int = 2
    ) -> list[Citation]:
        """Verified citations for a rule, for features that need "the rule behind this"
        (checklists, drafts): the best sentences for `query`, from the named document and
        section when given, else from the whole knowledge base."""
        weights = self.settings.evidence
        self.retrieval.refresh()
        if source:
            vector = self.retrieval.embed_query(query)
            passages = self.retrieval.passages_in(source, section)
        else:
            passages, vector = self.retrieval.search(query, weights.cite_passages)
        # a rule named in its own words, not a seller's question: the fitted ranking (which
        # favours the sentence stating a figure) is not what finds its statement
        scored, _ = self.retrieval.score(query, vector, passages, ranked=False)
        if not scored:
            return []
        best = scored[0].score
        chosen = [s for s in scored[:limit] if s.score >= weights.cite_min_relative * best]
        chosen.sort(key=lambda s: (s.passage_rank, s.sentence.start))
        return _compose(chosen)[1]

    # -- internals ----------------------------------------------------------------------------
    def _each_part(
        self, parts: list[str] | tuple[str, ...], picked: list[Scored], scored: list[Scored]
    ) -> list[Scored]:
        """A question in parts gets, for each part, the best-scored sentence among the
        candidates that holds most of that part's terms (by rarity, a seller's word held by
        the rule terms it maps to), when no chosen sentence holds as much of it."""
        if len(parts) < 2:
            return picked
        pool = scored[:PART_CANDIDATES]
        out = list(picked)
        for part in parts:
            groups = self.retrieval.term_groups(part)
            if not sum(weight for _, weight in groups.values()):
                continue
            held = {id(s): _share(groups, s.sentence.text) for s in [*pool, *out]}
            best = max(pool, key=lambda s: (held[id(s)], s.score))
            enough = held[id(best)] >= PART_MIN_SHARE
            if enough and best not in out and held[id(best)] > max(held[id(s)] for s in out):
                out.append(best)
        return out

    def _choose(
        self,
        scored: list[Scored],
        question: str = "",
        parts: tuple[str, ...] = (),
        new_ask: str = "",
    ) -> list[Scored]:
        """The best sentences (close to the top score, no near-duplicates): the one that
        answers first (for "how long / how many" the best one stating a figure), then the
        others in reading order. A follow-up's `new_ask` ("and if I miss it?") decides what
        leads when it asks for something of its own: the consequence, not the deadline asked
        before."""
        best = scored[0].score
        relative = (
            self.settings.ranked_min_relative_score
            if self.retrieval.ranker is not None
            else self.settings.answer_min_relative_score
        )
        picked: list[Scored] = []
        for cand in scored:
            if len(picked) >= self.settings.answer_sentences:
                break
            if picked and cand.score < relative * best:
                break
            if any(_near_duplicate(cand.sentence.text, p.sentence.text) for p in picked):
                continue
            picked.append(cand)
        lead = picked[0]
        topic = term_set(question)
        if new_ask and (asks_for_figure(new_ask) or asked_kind(new_ask, LEAD_KINDS)):
            question = new_ask
        kind = _lead_kind(question, topic)
        if asks_for_figure(question) or kind is not None:
            for states in (states_figure, kind):
                if states is None:
                    continue
                found = _reach(picked, scored, states)
                if found is not None and found not in picked:
                    picked.append(found)
                lead = found or lead
        parts = parts or tuple(question_parts(question))
        picked = _each_kind(parts[1:], picked, scored, topic)
        picked = self._each_part(parts, picked, scored)
        picked = _with_continuations(picked, scored, self.settings.answer_sentences + 4)
        picked = _with_siblings(picked, scored[:REACH_CANDIDATES])
        picked = _with_intros(picked, scored)
        picked += [s for s in _rest_of_line(lead, scored) if s not in picked]
        picked.sort(key=lambda s: (s.passage_rank, s.sentence.start))
        return _lead_with(lead, picked)


# "Is there a deadline?", "until when?": a length of time leads the answer (these words are
# left out of the refusal model's figure signals, where they did not help).
_ASKS_DEADLINE = re.compile(
    r"\b(?:deadline|time limit|time frame|timeframe|until when|by when)\b", re.I
)
# "Is my shop done for?", "what happens if...?": what the rule does to the seller leads.
_ASKS_CONSEQUENCE = re.compile(
    r"\b(?:what happens|what will happen|what would happen|done for|in trouble|cooked"
    r"|worst case|get (?:me )?(?:banned|closed|shut down|suspended)|consequences?|punish\w*"
    r"|penalt(?:y|ies)|what if|or else|otherwise"
    r"|if (?:i|we|you|he|she|they|the (?:buyer|seller|customer))\s+(?:miss|fail|forget|ignore"
    r"|never|don'?t|do not|didn'?t|did not|doesn'?t|does not|can'?t|cannot|won'?t|will not"
    r"|haven'?t|hasn'?t|am late|are late|is late))\b",
    re.I,
)
_CONSEQUENCE = re.compile(
    r"\b(?:clos\w*|terminat\w*|freez\w*|frozen|suspend\w*|ban(?:s|ned)?|delist\w*|remov\w*"
    r"|deduct\w*|points?|fines?|refund\w*|blocked|automatic\w*|released?|escalat\w*)\b",
    re.I,
)
_CONDITION = re.compile(r"^(?:If|Unless|Otherwise|Failing)\b")


def states_consequence(text: str, topic: frozenset[str] = frozenset()) -> bool:
    """What a rule does to the seller: a sentence that opens with its condition ("If the
    seller does nothing within those 5 days, ..."), or a sanction word the question itself
    does not use (every sentence about a refund request says "refund")."""
    return bool(_CONDITION.match(text)) or any(
        not (term_set(m.group()) & topic) for m in _CONSEQUENCE.finditer(text)
    )


LEAD_KINDS = (
    (lambda q: bool(_ASKS_DEADLINE.search(q)), states_duration),
    *ANSWER_KINDS,
    (lambda q: bool(_ASKS_CONSEQUENCE.search(q)), states_consequence),
)


# A rule sentence saying the figure is not known: the rulebook has the topic, not the number.
_NOT_GIVEN = re.compile(
    r"\b(?:could not be found|no official figure|gives no (?:point value|figure|amount|number|year)"
    r"|does not fix|(?:is|are|was|were) (?:not|never) (?:given|stated|published|found)"
    r"|(?:was|were) (?:cut off|missing from the source))\b",
    re.I,
)


def _figure_not_given(
    question: str,
    chosen: list[Scored],
    scored: Sequence[Scored],
    share: Callable[[str], float],
) -> list[Scored]:
    """The sentences saying the asked figure is not given, when they answer the question
    better than any chosen sentence stating a figure of the kind asked: "how big is the fine
    in Germany?" has the answer that there is no fixed one, which is a refusal to quote a
    number, with the reason shown (empty: the figure is given, or not asked).

    A note such as "The amount was not given" is short and scores low by itself; it speaks
    for the sentence its paragraph opens with ("A separate handling fee is due from November
    2026."), so it stands as high as that sentence when the opener states no figure of the
    kind asked and the two hold more of the question's terms (`share`) than any other chosen
    sentence: "how much is the handling fee?", not "how much is the flat duty?". The two are
    shown together."""
    if not asks_for_figure(question):
        return []
    kind = asked_kind(question, ANSWER_KINDS) or states_figure

    def opener(note: Scored) -> Scored | None:
        """The best sentence before the note in its paragraph that states no figure asked."""
        line = note.passage.text.rfind("\n", 0, note.sentence.start) + 1
        before = [
            s
            for s in scored
            if s.passage.id == note.passage.id
            and line <= s.sentence.start < note.sentence.start
            and not kind(s.sentence.text)
        ]
        return max(before, key=lambda s: s.weighed, default=None)

    # "Sources disagree on the size of the deposit, and no official figure was found." opens a
    # paragraph that gives each source's figure: those are the answer
    said = [s for s in scored if _says_not_given(s.sentence.text, kind) and not _in_conflict(s)]
    notes = [(s.weighed, [s]) for s in said if any(s is c for c in chosen)]
    near = [*chosen, *scored[:FOCUS_SENTENCES]]
    for note in said:
        lead = opener(note)
        if lead is None or all(lead is not c for c in near):
            continue
        held = share(f"{lead.sentence.text} {note.sentence.text}")
        if all(share(c.sentence.text) < held for c in chosen if c is not lead):
            notes.append((lead.weighed, [lead, note]))  # the paragraph most about the question
    if not notes:
        return []
    standing, shown = max(notes, key=lambda n: n[0])
    stating = [
        s.weighed for s in chosen if all(s is not x for x in shown) and kind(s.sentence.text)
    ]
    return shown if standing > max(stating, default=0.0) else []


def _says_not_given(text: str, kind: Callable[[str], bool]) -> bool:
    """The sentence says a figure is not given, and the rest of it states none of the kind
    asked: "worth 10 points ... (the rest of the table was cut off)" still gives the 10."""
    found = _NOT_GIVEN.search(text)
    if found is None:
        return False
    start = max(text.rfind(mark, 0, found.start()) for mark in "(;:")
    ends = [i for i in (text.find(mark, found.end()) for mark in ");") if i >= 0]
    rest = text[: max(start, 0)] + text[min(ends, default=len(text)) + 1 :]
    return not kind(rest)


def _reach(
    picked: list[Scored], scored: list[Scored], states: Callable[[str], bool]
) -> Scored | None:
    """The chosen sentence that states what the question asks for; when none does, the best
    one a little further down that does (the figure often sits one sentence past the cut).
    A settled sentence is preferred to one inside a paragraph where sources disagree: the
    disagreement is shown after the lead, never as it. A topic guide's sentence is preferred
    to the overview's summary of it (`topic: overview`), which points to the guide."""
    floor = REACH_MIN_RELATIVE * scored[0].score
    further = [s for s in scored[:REACH_CANDIDATES] if s.score >= floor and s not in picked]
    stating = [s for s in [*picked, *further] if states(s.sentence.text)]
    stating.sort(key=lambda s: (_in_conflict(s), s.passage.metadata.get("topic") == "overview"))
    return stating[0] if stating else None


def _points_back(screened: CleanQuestion, standalone: str, history: Sequence[dict] | None) -> bool:
    """Asked in a conversation, left as it is by condensing, and still pointing back: the
    question that may also be read with the ones before it."""
    alone = standalone.strip() == screened.text.strip()
    return bool(history) and alone and leans_back(screened.text)


def _lead_kind(question: str, topic: frozenset[str]) -> Callable[[str], bool] | None:
    """How to see that a sentence states what `question` asks for (`LEAD_KINDS`); a
    consequence is one the question's own words (`topic`) do not already name."""
    kind = asked_kind(question, LEAD_KINDS)
    if kind is states_consequence:
        return lambda text: states_consequence(text, topic)
    return kind


def _each_kind(
    parts: Sequence[str], picked: list[Scored], scored: list[Scored], topic: frozenset[str]
) -> list[Scored]:
    """ "What can I do, and is there a deadline?": a later part asking its own kind (a
    deadline, a sum, a consequence) that no chosen sentence states gets the sentence of that
    kind most about the question, from a wider pool than the lead's (`_reach`)."""
    out = list(picked)
    for part in parts:
        kind = _lead_kind(part, topic)
        if kind is None or any(kind(s.sentence.text) for s in out):
            continue
        stating = [
            s for s in scored[:PART_KIND_CANDIDATES] if s not in out and kind(s.sentence.text)
        ]
        if stating:
            out.append(max(stating, key=lambda s: s.weighed))
    return out


def _in_conflict(item: Scored) -> bool:
    return in_span(conflict_spans(item.passage), item.sentence.start) is not None


def _share(groups: dict[str, tuple[set[str], float]], text: str) -> float:
    """The share of a question part's term weight that a sentence holds."""
    have = term_set(text)
    held = sum(weight for members, weight in groups.values() if members & have)
    return held / sum(weight for _, weight in groups.values())


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
    """A citation quoting one sentence of a passage verbatim, with the source it rests on."""
    ref = sentence_source(passage, sentence.start)
    return Citation(
        n=n,
        source=passage.source,
        title=passage.title,
        section=passage.section,
        page=passage.page,
        url=ref.url if ref else passage.url,
        quote=sentence.text,
        uncertain=passage.uncertain,
        passage_id=passage.id,
        reliability=str(passage.metadata.get("reliability", "")),
        authority=ref.authority if ref else "",
        rule_date=(ref.date or "undated") if ref else "",
    )


def _own_conflicts(lead: Scored, evidence: Evidence) -> list[Scored]:
    """The sentences of the lead's own "Conflict:" subsection when it was retrieved but ranked
    below the passages whose sentences are scored: the rule the answer opens with has a known
    disagreement, which the answer shows whatever the ranking did. They count as close to
    the lead."""
    scored_ids = {s.passage.id for s in evidence.scored}
    prefix = f"{lead.passage.section} > Conflict"
    return [
        Scored(sentence, rank, passage, lead.score, lead.semantic, weighed=lead.weighed)
        for rank, passage in enumerate(evidence.passages)
        if passage.id not in scored_ids
        and passage.source == lead.passage.source
        and passage.section.startswith(prefix)
        for sentence in source_sentences(passage)
    ]


def _with_conflict(
    chosen: list[Scored], scored: list[Scored], min_relative: float
) -> tuple[list[Scored], tuple[Passage, tuple[int, int]] | None]:
    """When sources disagree on what the answer is about, the answer shows the disagreement
    whole: the conflict paragraph an answer sentence comes from, else one whose sentence scores
    close to the best, joins the answer (its sentences in reading order). Closeness is the
    hand-set sum's (how much a sentence is about the question), not the fitted ranking's
    (how likely it holds the asked fact): an older, disputed figure is about the question
    even when it is unlikely to be its answer."""
    best = max((s.weighed for s in scored), default=0.0)
    close = [c for c in scored if c.weighed >= min_relative * best]
    for cand in [*chosen, *close]:
        span = in_span(conflict_spans(cand.passage), cand.sentence.start)
        if span is None:
            continue
        members = sorted(
            (
                s
                for s in scored
                if s.passage.id == cand.passage.id and span[0] <= s.sentence.start < span[1]
            ),
            key=lambda s: s.sentence.start,
        )
        members = [*members[:5], *[m for m in members[5:] if m in chosen]]
        first = next((i for i, c in enumerate(chosen) if c in members), len(chosen))
        rest = [c for c in chosen if c not in members]
        # The answer leads with its best settled sentence; the disagreement follows it.
        at = max(len([c for c in chosen[:first] if c not in members]), 1 if rest else 0)
        return [*rest[:at], *members, *rest[at:]], (cand.passage, span)
    return chosen, None


def _near_duplicate(a: str, b: str) -> bool:
    ta, tb = set(terms(a)), set(terms(b))
    return bool(ta and tb) and len(ta & tb) / len(ta | tb) > 0.8


_REFERS_BACK = re.compile(
    r"^(This|That|These|Those|It|They|Such|Both|Either|In that case|The same|Each|Its|Their)\b"
)


def _with_continuations(picked: list[Scored], scored: list[Scored], limit: int) -> list[Scored]:
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


def _rest_of_line(lead: Scored, scored: list[Scored], most: int = 1) -> list[Scored]:
    """The sentences that finish the lead's line of text: a rule often states its
    condition in one sentence and what follows from it in the next."""
    text = lead.passage.text
    end = lead.sentence.start + len(lead.sentence.text)
    line_end = text.find("\n", end)
    line_end = line_end if line_end >= 0 else len(text)
    rest = sorted(
        (
            s
            for s in scored
            if s.passage.id == lead.passage.id and end <= s.sentence.start < line_end
        ),
        key=lambda s: s.sentence.start,
    )
    return rest[:most]


def _lead_with(lead: Scored, ordered: list[Scored]) -> list[Scored]:
    """The sentence that best answers the question first (with the lines that complete it:
    the rest of its paragraph line and the list it introduces), then the others in reading
    order, so the asked fact is never fourth behind its neighbours."""
    start = ordered.index(lead)
    while (  # a list item leads with the sentence that introduces its list
        start > 0
        and ordered[start - 1].passage.id == lead.passage.id
        and _is_bullet(lead.passage.text, ordered[start].sentence.start)
        and _intro_of(lead.passage.text, ordered[start].sentence.start) is not None
        and ordered[start - 1].sentence.start
        >= _intro_of(lead.passage.text, ordered[start].sentence.start)
    ):
        start -= 1
    end = start + 1
    text = lead.passage.text
    while end < len(ordered) and ordered[end].passage.id == lead.passage.id:
        between = text[
            ordered[end - 1].sentence.start + len(ordered[end - 1].sentence.text) : ordered[
                end
            ].sentence.start
        ]
        if between.count("\n") > 1:  # a blank line: the next paragraph is another matter
            break
        end += 1
    return ordered[start:end] + ordered[:start] + ordered[end:]


def _intro_of(text: str, start: int) -> int | None:
    """Where the line introducing the list that a bullet at `start` belongs to begins (a
    line ending in ":" before the list), or None."""
    line_start = text.rfind("\n", 0, start) + 1
    while line_start > 0:
        previous = text.rfind("\n", 0, line_start - 1) + 1
        line = text[previous : line_start - 1]
        if _is_bullet(text, previous + len(line) - len(line.lstrip()) + 2):
            line_start = previous
            continue
        body = _SOURCE_TAIL.sub("", line).strip()
        return previous if body.endswith(":") and not body.startswith("#") else None
    return None


_BULLETS = ("- ", "* ", "+ ")  # how a list item's line opens


def _with_siblings(picked: list[Scored], near: list[Scored]) -> list[Scored]:
    """The other items of a picked item's list that rank near the top too: a short list of
    rules about one thing ("same day: at most 6 points", "3-day window: one violation", "365
    days on the record") answers a question about it together."""
    out = list(picked)
    for item in picked:
        block = _list_block(item.passage.text, item.sentence.start)
        if block is None:
            continue
        out += [
            s
            for s in near
            if s.passage.id == item.passage.id
            and block[0] <= s.sentence.start < block[1]
            and s not in out
        ]
    return out


def _list_block(text: str, start: int) -> tuple[int, int] | None:
    """Where the bullet list holding the item at `start` begins and ends (None: no item)."""
    if not _is_bullet(text, start):
        return None
    lines = text.split("\n")
    offsets = [0]
    for line in lines[:-1]:
        offsets.append(offsets[-1] + len(line) + 1)
    here = max(i for i, o in enumerate(offsets) if o <= start)
    first = last = here
    while first > 0 and lines[first - 1].lstrip().startswith(_BULLETS):
        first -= 1
    while last + 1 < len(lines) and lines[last + 1].lstrip().startswith(_BULLETS):
        last += 1
    return offsets[first], offsets[last] + len(lines[last])


def _with_intros(picked: list[Scored], scored: list[Scored]) -> list[Scored]:
    """A list item never stands alone: the sentence that introduces its list comes too, so an
    answer never starts with a lowercase fragment."""
    out = list(picked)
    for item in picked:
        text = item.passage.text
        if not _is_bullet(text, item.sentence.start):
            continue
        intro = _intro_of(text, item.sentence.start)
        if intro is None:
            continue
        line_end = text.find("\n", intro)
        on_line = [
            s
            for s in scored
            if s.passage.id == item.passage.id
            and intro <= s.sentence.start < (line_end if line_end >= 0 else len(text))
        ]
        if on_line:
            last = max(on_line, key=lambda s: s.sentence.start)
            if last not in out:
                out.append(last)
    return out


def _is_bullet(text: str, start: int) -> bool:
    line_start = text.rfind("\n", 0, start) + 1
    return text[line_start:start].lstrip().startswith(_BULLETS)


def _compose(chosen: list[Scored]) -> tuple[str, list[Citation]]:
    """Answer text with `[n]` after each sentence; adjacent sentences of one line share a
    quote; list items stay a Markdown list."""
    citations: list[Citation] = []
    text = ""
    previous: Scored | None = None
    was_item = False
    begin = 0  # where the current citation's quote starts in its passage
    for item in chosen:
        sentence, passage = item.sentence, item.passage
        is_item = _is_bullet(passage.text, sentence.start)
        joined = (
            previous is not None
            and previous.passage.id == passage.id
            and _joinable(passage.text, previous.sentence, sentence)
        )
        if joined:
            citations[-1].quote = passage.text[begin : sentence.start + len(sentence.text)]
        else:
            begin = sentence.start
            citations.append(citation_for(len(citations) + 1, passage, sentence))
        if not text:
            gap = "- " if is_item else ""
        elif is_item and not joined:
            gap = "\n- "
        else:
            gap = "\n\n" if was_item and not joined else " "
        text += f"{gap}{sentence.text} [{citations[-1].n}]"
        was_item = is_item or (was_item and joined)
        previous = item
    return text, citations


def _joinable(text: str, first: Sentence, second: Sentence) -> bool:
    between = text[first.start + len(first.text) : second.start]
    return second.start > first.start and between.strip() == "" and "\n" not in between
