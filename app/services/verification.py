"""Checking generated text against the texts it must rest on, sentence by sentence.

An LLM can cite a source that does not exist, cite the wrong one, or state a figure no source
gives ("10 days" where the rule says 5). Each generated sentence is scored against the sentences
of its sources: meaning (embedding similarity to the closest source sentence) and wording (the
share of its content words found in the source). Any figure it states must appear in the
source. A sentence below the support threshold is unsupported and never shown as an answer.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from app.components.text import (
    SOURCE_LINE,
    Sentence,
    looks_like_instruction,
    split_sentences,
    terms,
)

Embed = Callable[[list[str]], np.ndarray]


class Match(NamedTuple):
    """The best place in the sources for one claim."""

    support: float
    source: int | None
    quote: Sentence | None
    problem: str


_MARKERS = re.compile(r"\s*\[(\d{1,3}(?:\s*[,;]\s*\d{1,3})*)\]")
# A citation written after the full stop (". [1]") belongs to the sentence before it.
_MARKER_AFTER_STOP = re.compile(r"([.!?])((?:\s*\[\d{1,3}(?:\s*[,;]\s*\d{1,3})*\])+)")
_FIGURE = re.compile(r"\d+(?:[.,:/-]\d+)*")


@dataclass
class Claim:
    """One generated sentence and how well its sources back it."""

    text: str  # without citation markers
    cited: list[int]  # 0-based indexes of sources it cited that exist
    invalid: list[int]  # markers as written that point to no source
    support: float = 0.0
    source: int | None = None  # the source that backs it best
    quote: Sentence | None = None  # that source's closest sentence
    problem: str = ""

    @property
    def supported(self) -> bool:
        return not self.problem


@dataclass
class Checked:
    claims: list[Claim] = field(default_factory=list)

    @property
    def supported(self) -> list[Claim]:
        return [c for c in self.claims if c.supported]

    @property
    def unsupported(self) -> list[Claim]:
        return [c for c in self.claims if not c.supported]

    @property
    def invalid_markers(self) -> list[int]:
        return sorted({n for c in self.claims for n in c.invalid})

    @property
    def trustworthy(self) -> bool:
        """At least one supported sentence, and no more unsupported than supported ones."""
        return bool(self.supported) and len(self.unsupported) <= len(self.supported)


def figures(text: str) -> set[str]:
    return {m.group().rstrip(".,:/-") for m in _FIGURE.finditer(text)}


def split_claims(text: str, source_count: int) -> list[Claim]:
    """Sentences of generated text with the `[n]` markers they carry."""
    text = _MARKER_AFTER_STOP.sub(r"\2\1", text)
    claims = []
    for sentence in split_sentences(text):
        numbers = [
            int(n) for group in _MARKERS.findall(sentence.text) for n in re.split(r"[,;]", group)
        ]
        plain = _MARKERS.sub("", sentence.text).strip()
        if not plain:
            continue
        cited = sorted({n - 1 for n in numbers if 1 <= n <= source_count})
        invalid = sorted({n for n in numbers if not 1 <= n <= source_count})
        claims.append(Claim(plain, cited, invalid))
    return claims


def check(
    text: str,
    sources: Sequence[str],
    min_support: float,
    embed_sources: Embed,
    embed_claims: Embed,
) -> Checked:
    """Score every sentence of `text` against `sources`.

    A sentence is checked against the sources it cites; when they do not back it but another
    source does, it is re-attributed (a wrong number is a fixable slip, not an invention). A
    sentence citing nothing is checked against all sources.
    """
    claims = split_claims(text, len(sources))
    if not claims:
        return Checked()
    # A sentence that addresses an AI ("ignore previous instructions...") backs nothing.
    source_sentences = [
        [s for s in split_sentences(text) if not looks_like_instruction(s.text)] for text in sources
    ]
    flat = [(i, s) for i, sentences in enumerate(source_sentences) for s in sentences]
    if not flat:
        for claim in claims:
            claim.problem = "no source text to check against"
        return Checked(claims)
    source_vectors = embed_sources([s.text for _, s in flat])
    claim_vectors = embed_claims([c.text for c in claims])
    similarity = claim_vectors @ source_vectors.T
    windows = _windows(flat)
    for row, claim in zip(similarity, claims, strict=True):
        allowed = claim.cited or list(range(len(sources)))
        best = _best(claim, row, flat, windows, allowed)
        if best.support < min_support and claim.cited:
            anywhere = _best(claim, row, flat, windows, range(len(sources)))
            if _rank(anywhere) > _rank(best):
                best = anywhere
        claim.support, claim.source, claim.quote, claim.problem = best
        if not claim.problem and claim.support < min_support:
            claim.problem = f"support {claim.support:.2f} is below {min_support:.2f}"
    return Checked(claims)


_CJK_STOP = re.compile(r"([。！？](?:\s*\[\d{1,3}(?:\s*[,;]\s*\d{1,3})*\])*)\s*")


def check_figures(text: str, sources: Sequence[str], preferred: Sequence[int | None]) -> Checked:
    """Generated text in another language, checked by what carries over between languages
    (an English embedding cannot compare meanings across them): every sentence must cite a
    source that exists, and every figure it states must be in one sentence of that source,
    exactly. It quotes that sentence; a sentence stating no figure quotes the cited source's
    sentence that best answers the question (`preferred`: its start, per source)."""
    claims = split_claims(_CJK_STOP.sub("\\1\n", text), len(sources))
    for claim in claims:
        if not claim.cited:
            claim.problem = "cites no source"
            continue
        wanted = figures(claim.text)
        for index in claim.cited:
            sentences = [
                s
                for s in split_sentences(sources[index])
                if not looks_like_instruction(s.text) and not SOURCE_LINE.match(s.text)
            ]
            if wanted:
                hit = next((s for s in sentences if wanted <= figures(s.text)), None)
            else:
                hit = next((s for s in sentences if s.start == preferred[index]), None)
                hit = hit or (sentences[0] if sentences else None)
            if hit is not None:
                claim.support, claim.source, claim.quote = 1.0, index, hit
                break
        else:
            claim.problem = (
                f"states {', '.join(sorted(wanted))}, which the cited source does not"
                if wanted
                else "no source text to check against"
            )
    return Checked(claims)


def _windows(flat: list[tuple[int, Sentence]]) -> list[tuple[set[str], set[str]]]:
    """Terms and figures of each source sentence together with its neighbours: a claim may
    merge two adjacent sentences, but its words and figures must come from that place."""
    out = []
    for j, (index, _) in enumerate(flat):
        near = [s.text for i, s in flat[max(0, j - 1) : j + 2] if i == index]
        out.append(
            ({t for text in near for t in terms(text)}, {f for text in near for f in figures(text)})
        )
    return out


def _best(
    claim: Claim,
    row: np.ndarray,
    flat: list[tuple[int, Sentence]],
    windows: list[tuple[set[str], set[str]]],
    allowed: Sequence[int],
) -> Match:
    words = set(terms(claim.text))
    wanted = figures(claim.text)
    allowed = set(allowed)
    best = Match(0.0, None, None, "no source backs it")
    for j, (index, sentence) in enumerate(flat):
        if index not in allowed:
            continue
        window_terms, window_figures = windows[j]
        wording = len(words & window_terms) / len(words) if words else 0.0
        missing = wanted - window_figures
        if missing:
            candidate = Match(
                0.0,
                index,
                sentence,
                f"states {', '.join(sorted(missing))}, which the source does not",
            )
        else:
            candidate = Match(0.5 * float(row[j]) + 0.5 * wording, index, sentence, "")
        if best.source is None or _rank(candidate) > _rank(best):
            best = candidate
    return best


def _rank(match: Match) -> tuple[bool, float]:
    """Problem-free first, then by support."""
    return (not match.problem, match.support)
