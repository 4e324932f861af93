"""What an answer says about its own sources: the date of each rule it quotes (and a warning
when that text is old), whether it rests only on third-party or forum pages, and where sources
disagree, which one is newer. Rules change often; a seller must see how current a quote is."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Protocol

from app.components.provenance import CONFLICT, LABELS, WEAK, age_years, newest, refs_in
from app.components.retriever import Passage

_A = {
    "official": "the official AliExpress rules",
    "law text": "the law text",
    "official copy": "a copy of the official rules",
    "third-party": "a third-party guide",
    "forum": "a forum post",
}


class Cited(Protocol):
    n: int
    authority: str
    rule_date: str


def date_notes(
    citations: Sequence[Cited], max_age_years: float, today: date | None = None
) -> list[str]:
    """The date of every rule quoted, and one warning for those older than the limit."""
    by_date: dict[str, list[int]] = {}
    for c in citations:
        if c.rule_date:
            by_date.setdefault(c.rule_date, []).append(c.n)
    undated = by_date.pop("undated", [])
    notes = []
    if by_date:
        dated = "; ".join(f"{when} {_markers(ns)}" for when, ns in sorted(by_date.items()))
        rest = f"; no date given for {_markers(undated)}" if undated else ""
        notes.append(f"Rule text dated {dated}{rest}.")
    elif undated:
        notes.append(f"The sources quoted give no date for their rule text {_markers(undated)}.")
    old = [
        (when, ns)
        for when, ns in sorted(by_date.items())
        if (age := age_years(when, today)) is not None and age > max_age_years
    ]
    if old:
        which = "; ".join(f"{_markers(ns)} from {when}" for when, ns in old)
        notes.append(
            f"Old rule text: {which}, more than {max_age_years:g} years ago. AliExpress changes "
            "its rules often; check the current seller rules before relying on it."
        )
    return notes


def authority_note(citations: Sequence[Cited]) -> list[str]:
    """One line when no quote rests on official text (or a copy of it, or the law)."""
    kinds = {c.authority for c in citations if c.authority}
    if kinds and kinds <= WEAK:
        names = " and ".join(sorted(LABELS[k].lower() + "s" for k in kinds))
        return [
            f"This answer rests only on {names}, not on official AliExpress text; "
            "treat it as a lead to check against the seller rules."
        ]
    return []


def conflict_spans(passage: Passage) -> list[tuple[int, int]]:
    """Stretches of a passage that state a conflict between sources: the whole passage under a
    "conflicts" heading, else each paragraph (a line, in a chunk) that says sources conflict or
    disagree, with the list items that follow it."""
    if not passage.metadata.get("conflict"):
        return []
    if CONFLICT.search(passage.section):
        return [(0, len(passage.text))]
    lines, at = [], 0
    for line in passage.text.split("\n"):
        lines.append((at, at + len(line), line))
        at += len(line) + 1
    spans: list[tuple[int, int]] = []
    i = 0
    while i < len(lines):
        start, end, line = lines[i]
        i += 1
        if not CONFLICT.search(line) or line.startswith("# "):
            continue
        while i < len(lines) and lines[i][2].lstrip().startswith(("- ", "* ", "+ ")):
            end = lines[i][1]
            i += 1
        spans.append((start, end))
    return spans


def in_span(spans: Iterable[tuple[int, int]], position: int) -> tuple[int, int] | None:
    return next(((a, b) for a, b in spans if a <= position < b), None)


def conflict_note(passage: Passage, span: tuple[int, int], markers: Sequence[int]) -> str:
    """Sources disagree: say so, and which of the named sources is the newest."""
    refs = refs_in(passage.text[span[0] : span[1]])
    latest = newest(refs)
    newer = (
        f" The newest source named is {_A[latest.authority]} dated {latest.date}." if latest else ""
    )
    return f"Sources disagree on this point: see {_markers(markers)} for each value.{newer}"


def _markers(numbers: Sequence[int]) -> str:
    return "".join(f"[{n}]" for n in sorted(set(numbers)))
