"""Does the knowledge base hold every fact of the research sheets? Each bullet of a sheet is a
fact; its figures (amounts, durations, counts, percentages, dates) must appear together in one
document of `knowledge/`, and its source address should be kept there. The report names, per
fact, the document that holds most of it, or what is missing.

Figures are compared in one normal form on both sides ("31 December 2021" = "2021-12-31",
"USD 1,000" = "$1000", "7-day" = "7 days"), so rewording a fact never counts as losing it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from app.components.serialise import Serialisable
from app.components.text import split_asks

_MONTH_NAMES = (
    "january february march april may june july august september october november december"
)
_MONTHS = {m: i for i, m in enumerate(_MONTH_NAMES.split(), 1)}
_MONTH = "|".join(_MONTHS)
_DAY_MONTH_YEAR = re.compile(rf"\b(\d{{1,2}})\s+({_MONTH})\s+(\d{{4}})\b", re.I)
_MONTH_DAY_YEAR = re.compile(rf"\b({_MONTH})\s+(\d{{1,2}}),?\s+(\d{{4}})\b", re.I)
_MONTH_YEAR = re.compile(rf"\b({_MONTH})\s+(\d{{4}})\b", re.I)
_ISO = re.compile(r"\b\d{4}-\d{2}(?:-\d{2})?\b")
_CURRENCY = [
    (re.compile(r"(?:US\$|USD\s?|\$)\s?(\d[\d,.]*)", re.I), "usd"),
    (re.compile(r"(\d[\d,.]*)\s?(?:USD|US dollars?|dollars?)\b", re.I), "usd"),
    (re.compile(r"(?:EUR\s?|€)\s?(\d[\d,.]*)", re.I), "eur"),
    (re.compile(r"(\d[\d,.]*)\s?(?:EUR|euros?)\b", re.I), "eur"),
    (re.compile(r"(?:CNY|RMB)\s?(\d[\d,.]*)", re.I), "cny"),
    (re.compile(r"(\d[\d,.]*)[\s-]?(?:yuan|RMB|CNY)\b", re.I), "cny"),
    (re.compile(r"(?:BRL\s?|R\$)\s?(\d[\d,.]*)", re.I), "brl"),
]
_UNITS = {
    "day": "day",
    "days": "day",
    "working day": "wday",
    "working days": "wday",
    "business day": "wday",
    "business days": "wday",
    "hour": "hour",
    "hours": "hour",
    "month": "month",
    "months": "month",
    "year": "year",
    "years": "year",
    "week": "week",
    "weeks": "week",
    "point": "point",
    "points": "point",
    "%": "%",
    "percent": "%",
    "per cent": "%",
    "kg": "kg",
    "kilos": "kg",
    "kilograms": "kg",
    "times": "times",
}
_UNIT = re.compile(
    r"(?<![\w.,-])(\d+(?:[.,]\d+)*)(?:\s*(?:–|-|to)\s*(\d+(?:[.,]\d+)*))?[\s-]?("
    + "|".join(sorted((re.escape(u) for u in _UNITS), key=len, reverse=True))
    + r")(?![a-z])",
    re.I,
)
_BARE = re.compile(r"(?<![\w.,$€-])(\d{2,}(?:,\d{3})*(?:\.\d+)?)(?![\w-])")
_SOURCE = re.compile(r"\[source:[^\]]*\]", re.I)
_URL = re.compile(r"https?://[^\s\]\)>—]+")
_BULLET = re.compile(r"^(\s*)[-*]\s+(.*)$")


@dataclass
class Fact(Serialisable):
    sheet: str
    line: int
    section: str
    text: str
    figures: list[str]
    urls: list[str]
    found: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    document: str = ""  # the knowledge document holding most of its figures (or its source)
    source_kept: bool = False

    @property
    def covered(self) -> bool:
        return bool(self.figures) and not self.missing


@dataclass
class CoverageReport(Serialisable):
    facts: list[Fact]

    @property
    def with_figures(self) -> list[Fact]:
        return [f for f in self.facts if f.figures]

    @property
    def coverage(self) -> float:
        figured = self.with_figures
        return sum(f.covered for f in figured) / len(figured) if figured else 1.0

    @property
    def sources_kept(self) -> float:
        linked = [f for f in self.facts if f.urls]
        return sum(f.source_kept for f in linked) / len(linked) if linked else 1.0

    def by_sheet(self) -> dict[str, tuple[int, int]]:
        out: dict[str, tuple[int, int]] = {}
        for fact in self.with_figures:
            covered, total = out.get(fact.sheet, (0, 0))
            out[fact.sheet] = (covered + fact.covered, total + 1)
        return out


def figures_in(text: str) -> set[str]:
    """The figures of a text in normal form: dates as ISO, amounts with their currency,
    numbers with their unit."""
    text = _normal_dates(_SOURCE.sub(" ", text))
    text = _URL.sub(" ", text)
    found: set[str] = set(_ISO.findall(text))
    for pattern, currency in _CURRENCY:
        for match in pattern.finditer(text):
            found.add(f"{currency} {_number(match.group(1))}")
    for match in _UNIT.finditer(text):
        unit = _UNITS[match.group(3).lower()]
        found.add(f"{_number(match.group(1))} {unit}")
        if match.group(2):
            found.add(f"{_number(match.group(2))} {unit}")
    years = {f[:4] for f in found if _ISO.fullmatch(f)}
    for match in _BARE.finditer(_ISO.sub(" ", text)):
        number = _number(match.group(1))
        if number not in years and not any(
            f.startswith(f"{number} ") or f.endswith(f" {number}") for f in found
        ):
            found.add(number)
    return found


def read_facts(sheet: Path) -> list[Fact]:
    """Every bullet of a research sheet as a fact (the sheet's own header notes excluded)."""
    facts: list[Fact] = []
    section = ""
    started = False
    for number, line in enumerate(sheet.read_text(encoding="utf-8").splitlines(), 1):
        if line.startswith("## "):
            section, started = line[3:].strip(), True
            continue
        match = _BULLET.match(line)
        if not started or not match:
            continue
        body = match.group(2)
        urls = [u.rstrip(".,;") for u in _URL.findall(body)]
        facts.append(Fact(sheet.name, number, section, body, sorted(figures_in(body)), urls))
    return facts


def check(sheets: list[Path], knowledge_dir: Path) -> CoverageReport:
    documents = {  # sellers' questions are search keys, not facts
        path.name: split_asks(path.read_text(encoding="utf-8", errors="replace"))[0]
        for path in sorted(knowledge_dir.glob("*.md"))
    }
    figures = {name: _with_numbers(figures_in(text)) for name, text in documents.items()}
    facts = [fact for sheet in sheets for fact in read_facts(sheet)]
    for fact in facts:
        fact.source_kept = any(url in text for url in fact.urls for text in documents.values())
        best = max(
            documents,
            key=lambda name: (
                sum(f in figures[name] for f in fact.figures),
                any(url in documents[name] for url in fact.urls),
            ),
            default="",
        )
        holds = best and (
            any(f in figures[best] for f in fact.figures)
            or any(url in documents[best] for url in fact.urls)
        )
        fact.document = best if holds else ""
        held = figures.get(best, set())
        fact.found = [f for f in fact.figures if f in held]
        fact.missing = [f for f in fact.figures if f not in held]
    return CoverageReport(facts)


def _with_numbers(figures: set[str]) -> set[str]:
    """A document's figures plus their bare numbers and years, which is how a sheet states a
    figure whose unit it leaves implicit ("USD 50-10,000", "by c. 2022")."""
    out = set(figures)
    for figure in figures:
        if _ISO.fullmatch(figure):
            out.add(figure[:4])
        elif " " in figure:
            out.add(figure.rsplit(" ", 1)[0] if figure[0].isdigit() else figure.split(" ", 1)[1])
    return out


def _normal_dates(text: str) -> str:
    text = _DAY_MONTH_YEAR.sub(
        lambda m: f"{m.group(3)}-{_MONTHS[m.group(2).lower()]:02d}-{int(m.group(1)):02d}", text
    )
    text = _MONTH_DAY_YEAR.sub(
        lambda m: f"{m.group(3)}-{_MONTHS[m.group(1).lower()]:02d}-{int(m.group(2)):02d}", text
    )
    return _MONTH_YEAR.sub(lambda m: f"{m.group(2)}-{_MONTHS[m.group(1).lower()]:02d}", text)


def _number(raw: str) -> str:
    """ "1,000" and "1000" alike; "2.5" kept (a comma followed by three digits groups
    thousands)."""
    raw = raw.rstrip(".,")
    if re.fullmatch(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?", raw):
        raw = raw.replace(",", "")
    raw = raw.replace(",", ".")
    return raw.rstrip("0").rstrip(".") if "." in raw else raw
