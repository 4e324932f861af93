"""Question hygiene and follow-up condensation, without an LLM.

A follow-up such as "and if I miss it?" carries almost no searchable words, so it is searched
together with the question it follows; a question that stands on its own is left alone.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from app.components.text import OWN_TOPIC_TERMS, terms, user_turns

_FOLLOW_UP_START = re.compile(
    r"^\s*(and|but|also|so|then|or|plus|what about|how about|what if|if so|if not|"
    r"in that case|same for)\b",
    re.I,
)
_ANAPHORA = {
    "it",
    "its",
    "that",
    "this",
    "those",
    "these",
    "they",
    "them",
    "their",
    "there",
    "then",
    "same",
    "such",
    "one",
    "ones",
    "he",
    "she",
}
# "ok, and...", "got it. what about...": an acknowledgement before the follow-up itself
_ACKNOWLEDGED = re.compile(
    r"^\s*((ok(ay)?|right|alright|got it|thanks?|thank you|cool|great|sure|i see|understood|"
    r"hmm+|wait)\b[\s,.!:;-]*)+",
    re.I,
)
# "that notice", "those orders", "they": pointing back at something the question never names;
# `_POINTED` holds the thing's own word ("notice")
_POINTED_WORD = r"\b(?:that|this|those|these|such)\s+(?!is\b|are\b|was\b)([^\W\d_]{3,})"
_POINTED = re.compile(_POINTED_WORD, re.I)
_POINTING = re.compile(rf"{_POINTED_WORD}|\b(?:they|them|their)\b", re.I)
_WORDS = re.compile(r"[^\W_]+", re.UNICODE)
_POINTING_TERMS = 5  # content terms that let a question pointing back ("that notice") stand alone


@dataclass
class CleanQuestion:
    text: str
    notes: list[str] = field(default_factory=list)
    error: str | None = None


def clean_question(question: object, max_chars: int) -> CleanQuestion:
    text = question if isinstance(question, str) else ("" if question is None else str(question))
    # Bytes that were not UTF-8 reach us as lone surrogates (argv, surrogateescape): show them
    # as U+FFFD rather than let the tokenizer reject the whole question.
    try:
        text = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeEncodeError:  # a lone surrogate that stands for no byte
        text = text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    text = text.replace("\x00", " ").strip()
    if not text:
        return CleanQuestion(
            "",
            error="Please type a question, for example: "
            '"How many days do I have to respond to a dispute?"',
        )
    if not terms(text) and not any(ch.isalnum() for ch in text):
        return CleanQuestion(
            text,
            error="I could not find any words in that question. "
            "Please ask about a platform rule in words.",
        )
    notes: list[str] = []
    if len(text) > max_chars:
        text = text[:max_chars].rsplit(" ", 1)[0] or text[:max_chars]
        notes.append(
            f"Your question was long, so only its first {max_chars:,} characters were used."
        )
    return CleanQuestion(text, notes)


def _cues(question: str) -> tuple[str, bool, bool, bool]:
    """The question without an opening "ok," or "got it.", and whether it opens like a
    continuation, leans on a pronoun, or points at a thing by "that ..." or "they"."""
    question = _ACKNOWLEDGED.sub("", question)
    words = {w.lower() for w in _WORDS.findall(question)}
    return (
        question,
        bool(_FOLLOW_UP_START.match(question)),
        bool(words & _ANAPHORA),
        bool(_POINTING.search(question)),
    )


def is_follow_up(question: str) -> bool:
    """Starts like a continuation (after any "ok," or "got it."), has a single content word,
    leans on a pronoun while naming too little to be searched alone ("what about them?", "is
    that enforced?"), or points back at a thing it never names ("once they get that notice")."""
    question, opens, pronoun, points = _cues(question)
    content = terms(question)
    return (
        opens
        or len(content) <= 1
        or (pronoun and len(content) <= 3)
        or (points and len(content) <= _POINTING_TERMS)
    )


def leans_back(question: str) -> bool:
    """Says "that", "it", "they" or opens like a continuation, whatever else it names: "Can I
    sign up for that myself? And if I drop out of it, what happens to the money?" may need
    the question before it, or may not."""
    _, opens, pronoun, points = _cues(question)
    return opens or pronoun or points


def condense(question: str, history: Sequence[dict] | None, always: bool = False) -> str:
    """A standalone search query: earlier user turns are chained while they read as follow-ups
    (`always`: the question is read as one, whatever it names)."""
    turns = user_turns(history)
    if not turns or not (
        always
        or is_follow_up(question)
        or _continues(question, turns[-1])
        or _points_back(question, history)
    ):
        return question
    standalone = turns[0]
    for turn in turns[1:]:
        standalone = f"{standalone} {turn}" if _leans_on_earlier(turn) else turn
    return f"{standalone} {question}"


def _continues(question: str, earlier: str) -> bool:
    """A short question on a term of the one before: "what levels are there?" after "how is
    the seller service level worked out?" asks about that level."""
    content = set(terms(_ACKNOWLEDGED.sub("", question)))
    return len(content) <= _POINTING_TERMS and bool(content & set(terms(earlier)))


def _points_back(question: str, history: Sequence[dict] | None) -> bool:
    """Points at a thing the last exchange named ("how often do they run that grading?" after
    an answer on how sellers are graded): a long question needs the conversation all the same."""
    pointed = {t for word in _POINTED.findall(question) for t in terms(word)}
    last = " ".join(str(m.get("content", "")) for m in (history or [])[-2:] if isinstance(m, dict))
    return bool(pointed & set(terms(last)))


def _leans_on_earlier(turn: str) -> bool:
    """An earlier turn that needed the one before it. "What about returns, how long does the
    buyer have to ship back?" opens like a follow-up but names its own topic: a later "and if
    he doesn't?" is about the returns, not about everything asked before them."""
    if not is_follow_up(turn):
        return False
    words = {w.lower() for w in _WORDS.findall(turn)}
    return bool(words & _ANAPHORA) or len(terms(turn)) < OWN_TOPIC_TERMS
