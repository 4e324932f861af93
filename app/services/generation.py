"""The LLM writer: answers held to the quoted engine's standard. It runs in the same pipeline
(retrieved the same way, refused the same way when the evidence is weak) and its text is shown
only after every sentence is verified against the source it cites. Whatever goes wrong with
the provider, the seller gets the quoted answer and one line saying why.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

from langchain_core.language_models import BaseChatModel

from app.components.llm import ProviderTimeout, chat_model, describe_failure, provider_label
from app.components.retrieval import Retrieval
from app.components.text import terms
from app.services.answering import (
    Answer,
    Assistant,
    Citation,
    Evidence,
    OnToken,
    QuotedWriter,
    WriteJob,
    citation_for,
)
from app.services.prompts import (
    ANSWER_PROMPT,
    CONDENSE_PROMPT,
    NOT_COVERED,
    format_conversation,
    format_sources,
)
from app.services.questions import condense, is_follow_up
from app.services.verification import Checked, check, check_figures
from app.settings import Settings

_ROLE = re.compile(r"^\s*(user|seller|assistant|question|standalone question)\s*:\s*", re.I)


def stream_text(
    llm: BaseChatModel | Any,
    messages: Any,
    deadline: float,
    on_token: OnToken | None,
    max_chars: int = 20_000,
) -> str:
    """Stream a reply, passing each piece on; give up once the deadline passes, and stop a
    runaway reply (a small model repeating itself) at `max_chars`."""
    parts: list[str] = []
    size = 0
    for chunk in llm.stream(messages):
        piece = chunk.content if isinstance(chunk.content, str) else _text_of(chunk.content)
        if piece:
            parts.append(piece)
            size += len(piece)
            if on_token:
                on_token(piece)
        if time.monotonic() > deadline:
            raise ProviderTimeout("deadline passed while the reply was streaming")
        if size >= max_chars:
            break
    return "".join(parts)


def _text_of(content: Iterable[Any]) -> str:
    return "".join(c.get("text", "") if isinstance(c, dict) else str(c) for c in content)


class LLMWriter(QuotedWriter):
    """Writes the answer with the configured chat model from the top passages; streams."""

    streams = True

    def __init__(self, llm: BaseChatModel | Any, settings: Settings, retrieval: Retrieval) -> None:
        self.llm = llm
        self.settings = settings
        self.retrieval = retrieval
        self.label = provider_label(settings)
        self.sources = settings.llm_sources
        self.timeout = settings.llm_timeout

    def write(self, job: WriteJob) -> Answer:
        evidence, quoted = job.evidence, job.quoted
        if job.problem:  # the provider already failed once; don't make the seller wait twice
            return _fallback(quoted, job.problem)
        sources = evidence.candidates[: self.settings.llm_sources]
        messages = ANSWER_PROMPT.format_messages(
            sources=format_sources(sources),
            # condensed and typo-corrected; in another language, the seller's own words
            question=evidence.question if job.language else evidence.standalone,
            max_sentences=self.settings.answer_sentences,
            language=job.language or "English",
        )
        try:
            raw = stream_text(
                self.llm, messages, job.deadline, job.on_token, 6 * self.settings.llm_max_tokens
            )
        except Exception as exc:
            return _fallback(quoted, describe_failure(exc, self.settings))
        return self._verified(raw, evidence, sources, quoted, across_languages=bool(job.language))

    # -- internals ----------------------------------------------------------------------------
    def condense(
        self, question: str, history: Sequence[dict] | None, deadline: float
    ) -> tuple[str, str | None]:
        """A follow-up rewritten by the model into a standalone question; the rewrite is kept
        only if it keeps the seller's own words and the conversation's, else the rule-based
        condensation is used. Returns the provider's failure line if it failed."""
        fallback = condense(question, history)
        if not history or not is_follow_up(question):
            return question, None
        messages = CONDENSE_PROMPT.format_messages(
            conversation=format_conversation(history), question=question
        )
        try:
            rewritten = stream_text(self.llm, messages, deadline, None, max_chars=600).strip()
        except Exception as exc:
            return fallback, describe_failure(exc, self.settings)
        rewritten = _ROLE.sub("", rewritten.splitlines()[0] if rewritten else "").strip(' "')
        # Keep the rewrite only if it still asks what the seller just asked, in context.
        words, asked = set(terms(rewritten)), set(terms(question))
        keeps_question = len(words & asked) * 2 >= len(asked)
        if not 8 <= len(rewritten) <= 300 or not keeps_question or not words & set(terms(fallback)):
            return fallback, None
        return rewritten, None

    def _verified(
        self,
        raw: str,
        evidence: Evidence,
        sources: list,
        extractive: Answer,
        across_languages: bool = False,
    ) -> Answer:
        text = raw.strip()
        if not text:
            return _fallback(extractive, f"The LLM provider ({self.label}) sent an empty answer.")
        if NOT_COVERED.lower() in text.lower()[: len(NOT_COVERED) + 20]:
            return evidence.refusal(
                [*evidence.notes, "The model found no answer to this in the sources."],
                engine=self.label,
            )
        if across_languages:  # meaning cannot be compared across languages; figures can
            best = _best_sentences(evidence)
            checked = check_figures(
                text, [p.text for p in sources], [best.get(p.id) for p in sources]
            )
        else:
            checked = check(
                text,
                [p.text for p in sources],
                self.settings.llm_min_support,
                self.retrieval.sentence_vectors,
                self.retrieval.embed_texts,
            )
        unsupported = [c.text for c in checked.unsupported]
        if not checked.trustworthy:
            reason = (
                f"{len(unsupported)} of {len(checked.claims)} sentence(s) of the model's answer "
                "are not supported by the sources"
                if checked.claims
                else "the model's answer had no sentences to check"
            )
            answer = _fallback(extractive, f"The LLM answer was not used: {reason}.")
            answer.unsupported_sentences = unsupported
            answer.verified = False  # the model's answer failed; the text is the quoted one
            return answer
        body, citations = _cited_text(checked, sources)
        notes = list(evidence.notes)
        if checked.invalid_markers:
            markers = ", ".join(f"[{n}]" for n in checked.invalid_markers)
            notes.append(f"Removed citation marker(s) {markers} that pointed to no source.")
        if unsupported:
            notes.append(f"Left out {len(unsupported)} sentence(s) the sources do not support.")
        return evidence.answer(
            body, citations, notes, engine=self.label, unsupported_sentences=unsupported
        )


def _best_sentences(evidence: Evidence) -> dict[str, int]:
    """Per passage, the start of its sentence that best answers the question: what a claim
    in another language quotes when it states no figure to match."""
    best: dict[str, int] = {}
    for scored in evidence.scored:  # best first
        best.setdefault(scored.passage.id, scored.sentence.start)
    return best


def _cited_text(checked: Checked, sources: list) -> tuple[str, list[Citation]]:
    """Supported sentences, each with one marker for the source sentence that backs it;
    markers are renumbered in order of first use."""
    citations: list[Citation] = []
    parts: list[str] = []
    for claim in checked.supported:
        assert claim.source is not None and claim.quote is not None
        passage = sources[claim.source]
        found = next(
            (c for c in citations if c.passage_id == passage.id and c.quote == claim.quote.text),
            None,
        )
        if found is None:
            found = citation_for(len(citations) + 1, passage, claim.quote)
            citations.append(found)
        sentence = claim.text if claim.text[-1:] in ".!?。！？" else f"{claim.text}."
        parts.append(f"{sentence[:-1]} [{found.n}]{sentence[-1]}")
    return " ".join(parts), citations


def _fallback(extractive: Answer, reason: str) -> Answer:
    """The extractive answer, with the reason the LLM's was not used in front of its notes."""
    return replace(
        extractive,
        notes=[f"{reason} Showing the quoted answer instead.", *extractive.notes],
        provider_error=reason,
    )


def answerer_for(settings: Settings, assistant: Assistant) -> Assistant:
    """The engine the settings ask for; the quoted one when no LLM is configured."""
    llm = chat_model(settings)
    if llm is None:
        return assistant
    return assistant.with_writer(LLMWriter(llm, settings, assistant.retrieval))
