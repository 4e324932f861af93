"""The listing check: one listing or a whole catalogue against the rulebook.

Detection is pure text matching (`listing_detectors.py`). Each finding then carries the rule
behind it as `[n]` citations from the indexed knowledge base, verified like chat citations:
the rule's statement must be backed by the quoted sentences (`verification.check`), else the
finding is shown without them and marked unverified. Citations are looked up once per rule per
checker, so a catalogue of 5,000 listings costs one retrieval per rule that fires.
"""

from __future__ import annotations

import csv
import io
import json
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from app.components.catalogue import Listing, read_catalogue
from app.components.database import Database
from app.components.serialise import Serialisable
from app.components.text import split_sentences
from app.services.answering import Assistant, Citation
from app.services.checklist import WEIGHTS, Severity
from app.services.listing_detectors import Detectors, Hit, duplicate_groups
from app.services.listing_rules import ListingRules, Rule
from app.services.verification import check

Progress = Callable[[int, int], None]
SEVERITIES = [s.value for s in Severity]


@dataclass
class ListingFinding(Serialisable):
    listing_id: str
    row: int | None
    title: str
    rule_id: str
    rule: str
    severity: str
    field: str  # where the words are: title, description, category, brand, markets...
    words: list[str]  # the exact words in the listing that trigger the rule
    change: str
    detail: str = ""
    statement: str = ""  # the rule in one sentence, backed by the citations
    citations: list[Citation] = field(default_factory=list)
    verified: bool = False


@dataclass
class CatalogueReport(Serialisable):
    source: str
    listings: int
    findings: list[ListingFinding]
    seconds: float = field(default=0.0, metadata={"digits": 2})

    @property
    def at_risk(self) -> int:
        return len({f.listing_id for f in self.findings})

    def by_rule(self) -> list[dict[str, Any]]:
        """Rules that fired, worst first: how many findings and listings each."""
        rows: dict[str, dict[str, Any]] = {}
        for f in self.findings:
            row = rows.setdefault(
                f.rule_id,
                {"rule_id": f.rule_id, "rule": f.rule, "severity": f.severity, "listings": set()},
            )
            row["listings"].add(f.listing_id)
        out = [{**r, "listings": len(r["listings"])} for r in rows.values()]
        return sorted(out, key=lambda r: (SEVERITIES.index(r["severity"]), -r["listings"]))

    def by_severity(self) -> dict[str, int]:
        counts = Counter(f.severity for f in self.findings)
        return {s: counts.get(s, 0) for s in SEVERITIES}

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        data.update(at_risk=self.at_risk, by_rule=self.by_rule(), by_severity=self.by_severity())
        return data


class ListingCheckError(ValueError):
    """Bad input to a listing check; the message says what to fix."""


class ListingChecker:
    def __init__(
        self,
        rules: ListingRules,
        assistant: Assistant,
        min_support: float,
        max_file_mb: float,
        database: Database | None = None,
    ) -> None:
        self.rules = rules
        self.detectors = Detectors(rules)
        self.assistant = assistant
        self.min_support = min_support
        self.max_file_mb = max_file_mb
        self.db = database
        self._cited: dict[str, tuple[list[Citation], bool]] = {}

    # -- checking --------------------------------------------------------------------------
    def check(self, listing: Listing) -> list[ListingFinding]:
        """Findings for one listing, worst first."""
        if not (listing.title.strip() or listing.description.strip()):
            raise ListingCheckError("Give the listing a title or a description to check.")
        self._ready()
        return self._findings([(listing, self.detectors.run(listing))])

    def check_catalogue(
        self, listings: list[Listing], source: str = "", progress: Progress | None = None
    ) -> CatalogueReport:
        self._ready()
        started = time.perf_counter()
        results = []
        step = max(1, len(listings) // 100)
        for number, listing in enumerate(listings, 1):
            results.append((listing, self.detectors.run(listing)))
            if progress and (number % step == 0 or number == len(listings)):
                progress(number, len(listings))
        for rule in self.rules.by_detector("duplicate"):
            settings = self.rules.duplicates
            for group in duplicate_groups(listings, settings.min_similarity, settings.min_words):
                first = listings[group[0]]
                for index in group[1:]:
                    results[index][1].append(_duplicate_hit(rule, listings[index], first))
        findings = self._findings(results)
        return CatalogueReport(source, len(listings), findings, time.perf_counter() - started)

    def check_file(self, path: Path, progress: Progress | None = None) -> CatalogueReport:
        """A CSV/XLSX export checked; raises `CatalogueError` (one line) for a bad file."""
        listings = read_catalogue(path, self.max_file_mb)
        return self.check_catalogue(listings, path.name, progress)

    # -- citing ----------------------------------------------------------------------------
    def _ready(self) -> None:
        """Findings must cite the rulebook, so an empty index is an error, not silence."""
        self.assistant.retrieval.refresh()
        if self.assistant.retrieval.size == 0:
            raise ListingCheckError(
                "The knowledge base is empty, so findings could not cite their rules. Run "
                "`compliance ingest` (or open the app, which indexes knowledge/) first."
            )

    def cite(self, rule: Rule) -> tuple[list[Citation], bool]:
        """The rule's verified citations (looked up once per rule): its statement must be
        backed by the quoted sentences, as an LLM's answer must be by its sources."""
        if rule.id not in self._cited:
            self.cite_rules([rule])
        return self._cited[rule.id]

    def cite_rules(self, rules: list[Rule]) -> None:
        """Cite and verify every rule not cited yet, with one embedding batch for all their
        statements and quotes (the model's calls, not the matching, are what costs time)."""
        pending = [r for r in {r.id: r for r in rules}.values() if r.id not in self._cited]
        if not pending:
            return
        found = {
            r.id: self.assistant.cite(r.cite.query, r.cite.source, r.cite.section) for r in pending
        }
        embed = _Batched(self.assistant.retrieval.embed_texts)
        embed.add(
            s.text
            for r in pending
            for text in [r.statement, *(c.quote for c in found[r.id])]
            for s in split_sentences(text)
        )
        for rule in pending:
            cites = found[rule.id]
            quotes = [c.quote for c in cites]
            checked = check(rule.statement, quotes, self.min_support, embed, embed)
            backing = {c.source for c in checked.supported if c.source is not None}
            kept = [c for i, c in enumerate(cites) if i in backing]
            for n, citation in enumerate(kept, 1):
                citation.n = n
            self._cited[rule.id] = (kept, bool(kept) and checked.trustworthy)

    def _findings(self, results: list[tuple[Listing, list[Hit]]]) -> list[ListingFinding]:
        self.cite_rules([self.rules.rules[h.rule_id] for _, hits in results for h in hits])
        findings = []
        for listing, hits in results:
            for hit in hits:
                rule = self.rules.rules[hit.rule_id]
                citations, verified = self.cite(rule)
                findings.append(
                    ListingFinding(
                        listing.id,
                        listing.row,
                        listing.title,
                        rule.id,
                        rule.name,
                        rule.severity.value,
                        hit.field,
                        hit.words,
                        rule.change,
                        hit.detail,
                        rule.statement if verified else "",
                        citations,
                        verified,
                    )
                )
        findings.sort(key=lambda f: -WEIGHTS[Severity(f.severity)])  # stable: file order kept
        return findings

    # -- the self-inspection's view ---------------------------------------------------------
    def save_summary(self, report: CatalogueReport) -> None:
        """Keep what the last catalogue check found, for the self-inspection to start from."""
        if self.db is None:
            return
        by_rule = report.by_rule()
        items: dict[str, list[dict[str, Any]]] = {}
        for item in sorted(self.rules.checklist_items()):
            items[item] = [
                {"rule_id": r["rule_id"], "rule": r["rule"], "listings": r["listings"]}
                for r in by_rule
                if item in self.rules.rules[r["rule_id"]].checklist
            ]
        summary = {"by_rule": by_rule, "by_severity": report.by_severity(), "items": items}
        with self.db.connect() as db:
            db.execute(
                "INSERT INTO listing_checks(source, listings, at_risk, summary_json) "
                "VALUES (?,?,?,?)",
                (report.source[:200], report.listings, report.at_risk, json.dumps(summary)),
            )


class _Batched:
    """An embedding function that embeds what it was given in advance in one batch and
    remembers every vector, so repeated checks cost no further model calls."""

    def __init__(self, embed: Callable[[list[str]], np.ndarray]) -> None:
        self.embed = embed
        self.vectors: dict[str, np.ndarray] = {}

    def add(self, texts: Iterable[str]) -> None:
        missing = list(dict.fromkeys(t for t in texts if t not in self.vectors))
        if missing:
            self.vectors.update(zip(missing, self.embed(missing), strict=True))

    def __call__(self, texts: list[str]) -> np.ndarray:
        self.add(texts)
        return np.array([self.vectors[t] for t in texts])


def _duplicate_hit(rule: Rule, listing: Listing, first: Listing) -> Hit:
    where = f"row {first.row}" if first.row is not None else "another listing"
    return Hit(rule.id, "title", [listing.title], f"near-identical to listing {first.id} ({where})")


# -- exports ---------------------------------------------------------------------------------
CSV_COLUMNS = [
    "listing_id",
    "row",
    "title",
    "severity",
    "rule_id",
    "rule",
    "field",
    "words",
    "change",
    "detail",
    "citations",
]


def report_csv(report: CatalogueReport) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for f in report.findings:
        cited = " | ".join(
            f"[{c.n}] {c.title} > {c.section}: {c.quote} ({c.url})" for c in f.citations
        )
        writer.writerow(
            [f.listing_id, f.row or "", f.title, f.severity, f.rule_id, f.rule, f.field,
             "; ".join(f.words), f.change, f.detail, cited]
        )  # fmt: skip
    return out.getvalue()


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def report_markdown(report: CatalogueReport) -> str:
    lines = [
        f"# Listing check: {_md(report.source or 'listings')}",
        "",
        f"{report.listings} listings checked; {report.at_risk} put the store at risk "
        f"({len(report.findings)} findings).",
        "",
        "## Summary by rule",
        "",
        "| Severity | Rule | Listings |",
        "| --- | --- | --- |",
        *(f"| {r['severity']} | {_md(r['rule'])} | {r['listings']} |" for r in report.by_rule()),
        "",
        "## Findings",
        "",
        "| Listing | Severity | Rule | Words to change | What to change |",
        "| --- | --- | --- | --- | --- |",
    ]
    for f in report.findings:
        marks = "".join(f" [{c.n}]" for c in f.citations)
        words = "; ".join(f"“{w}”" for w in f.words)
        lines.append(
            f"| {_md(f.listing_id)}: {_md(f.title[:60])} | {f.severity} | {_md(f.rule)}{marks} "
            f"| {_md(words)} | {_md(f.change)}{' (' + _md(f.detail) + ')' if f.detail else ''} |"
        )
    lines += ["", "## The rules behind them", ""]
    seen: set[str] = set()
    for f in report.findings:
        if f.rule_id in seen:
            continue
        seen.add(f.rule_id)
        lines.append(f"### {f.rule}")
        lines.append("")
        if not f.citations:
            lines.append("_No verified citation in the knowledge base._")
        for c in f.citations:
            lines.append(f"[{c.n}] {c.title} › {c.section}: “{c.quote}” {c.url}".rstrip())
            lines.append("")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
