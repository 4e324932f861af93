"""The listing check's rules as data (`knowledge/listing-checks/*.yaml`), validated on load so a
mistake names its file and field instead of breaking a catalogue check half-way.

Each file holds `rules:` (what a finding says, how severe it is, what to change and the query
that cites it from the knowledge base) plus the word lists its detectors read. Every term and
pattern is compiled here, once, so checking thousands of listings is plain regex work.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from app.components.yamlfile import describe_errors, read_yaml
from app.services.checklist import Cite, Severity

Detector = Literal[
    "terms",
    "brand",
    "brand-compatible",
    "brand-disguised",
    "keyword-stuffing",
    "unrelated-keywords",
    "duplicate",
    "misplaced-category",
    "price-link",
    "gpsr-operator",
    "gpsr-safety",
    "ce-mark",
]
TEXT_FIELDS = ("title", "description", "attributes", "alt_text")


class ListingRulesError(ValueError):
    """A listing-check file is unreadable or invalid; the message names the file and field."""


def normalise(text: str) -> str:
    """Lower-case, compatibility-folded text with single spaces: what every matcher reads."""
    return " ".join(unicodedata.normalize("NFKC", text).lower().split())


def phrase_pattern(phrases: list[str]) -> re.Pattern[str] | None:
    """One regex for whole-word phrases; spaces and hyphens inside a phrase match either."""
    if not phrases:
        return None
    parts = sorted({normalise(p) for p in phrases if p.strip()}, key=len, reverse=True)
    body = "|".join(r"[\s\-_]+".join(re.escape(w) for w in re.split(r"[\s\-]+", p)) for p in parts)
    return re.compile(rf"(?<![\w])(?:{body})(?![\w])")


def _compiles(patterns: list[str]) -> list[str]:
    for pattern in patterns:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ValueError(f"'{pattern}' is not a valid regular expression ({exc})") from None
    return patterns


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    detector: Detector
    name: str = Field(min_length=5)
    severity: Severity
    statement: str = Field(min_length=10, description="the rule in one sentence, verified")
    change: str = Field(min_length=5)
    cite: Cite
    checklist: list[str] = Field(default_factory=list)
    terms: list[str] = Field(default_factory=list)
    patterns: list[str] = Field(default_factory=list)
    exceptions: list[str] = Field(default_factory=list)
    categories: list[str] = Field(default_factory=list)
    fields: list[Literal["title", "description", "attributes", "alt_text"]] = Field(
        default_factory=lambda: list(TEXT_FIELDS)
    )
    unless_certified: bool = False

    _check_patterns = field_validator("patterns")(_compiles)

    @model_validator(mode="after")
    def _has_words(self) -> Rule:
        if self.detector in ("terms", "price-link") and not (
            self.terms or self.patterns or self.categories
        ):
            raise ValueError(f"rule {self.id}: a {self.detector} rule needs terms or patterns")
        return self

    @cached_property
    def matcher(self) -> re.Pattern[str] | None:
        parts = [p.pattern for p in filter(None, [phrase_pattern(self.terms)])] + self.patterns
        return re.compile("|".join(f"(?:{p})" for p in parts)) if parts else None

    @cached_property
    def exception_matcher(self) -> re.Pattern[str] | None:
        return phrase_pattern(self.exceptions)

    @cached_property
    def category_matcher(self) -> re.Pattern[str] | None:
        return phrase_pattern(self.categories)


class Brand(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=2)
    aliases: list[str] = Field(default_factory=list)
    misspellings: list[str] = Field(default_factory=list)
    case_sensitive: bool = False


class Stuffing(BaseModel):
    model_config = ConfigDict(extra="forbid")
    max_repeats: int = Field(2, ge=1)
    max_fragments: int = Field(5, ge=2)
    filler_terms: list[str] = Field(default_factory=list)
    max_foreign_categories: int = Field(1, ge=0)  # other products' words a title may hold


class Duplicates(BaseModel):
    model_config = ConfigDict(extra="forbid")
    min_similarity: float = Field(0.85, gt=0, le=1)
    min_words: int = Field(4, ge=1)


class Category(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    names: list[str] = Field(min_length=1)
    keywords: list[str] = Field(min_length=1)


class ChecksFile(BaseModel):
    """One YAML file; every section but `rules` is optional and merged with the other files."""

    model_config = ConfigDict(extra="forbid")
    rules: list[Rule] = Field(default_factory=list)
    brands: list[Brand] = Field(default_factory=list)
    compatible_words: list[str] = Field(default_factory=list)
    accessory_words: list[str] = Field(default_factory=list)
    not_misspellings: list[str] = Field(default_factory=list)
    stuffing: Stuffing | None = None
    duplicates: Duplicates | None = None
    price_floor: float | None = Field(None, ge=0)
    special_categories: list[str] = Field(default_factory=list)
    categories: list[Category] = Field(default_factory=list)
    eu_markets: list[str] = Field(default_factory=list)
    operator_words: list[str] = Field(default_factory=list)
    safety_words: list[str] = Field(default_factory=list)
    ce_groups: list[str] = Field(default_factory=list)
    ce_marks: list[str] = Field(default_factory=list)

    _check_marks = field_validator("ce_marks")(_compiles)


class ListingRules:
    """All listing-check files merged: the rules by id and the compiled word lists."""

    def __init__(self, files: dict[str, ChecksFile]) -> None:
        self.rules: dict[str, Rule] = {}
        merged = ChecksFile()
        for name, data in files.items():
            for rule in data.rules:
                if rule.id in self.rules:
                    raise ListingRulesError(f"{name}: rule {rule.id} is defined twice")
                self.rules[rule.id] = rule
            for key in ChecksFile.model_fields:
                value = getattr(data, key)
                if key != "rules" and value:
                    current = getattr(merged, key)
                    setattr(merged, key, current + value if isinstance(value, list) else value)
        self.data = merged
        self.stuffing = merged.stuffing or Stuffing()
        self.duplicates = merged.duplicates or Duplicates()
        self.compatible = phrase_pattern(merged.compatible_words)
        self.accessory = phrase_pattern(merged.accessory_words)
        self.special = phrase_pattern(merged.special_categories)
        self.eu_markets = {normalise(m) for m in merged.eu_markets}
        self.operator_words = phrase_pattern(merged.operator_words)
        self.safety_words = phrase_pattern(merged.safety_words)
        self.ce_groups = phrase_pattern(merged.ce_groups)
        self.ce_marks = re.compile("|".join(merged.ce_marks)) if merged.ce_marks else None
        self.filler = phrase_pattern(self.stuffing.filler_terms)
        self.categories = merged.categories
        self.category_names = [(c, phrase_pattern(c.names)) for c in merged.categories]
        self.category_words = [(c, phrase_pattern(c.keywords)) for c in merged.categories]

    def by_detector(self, detector: str) -> list[Rule]:
        return [r for r in self.rules.values() if r.detector == detector]

    def checklist_items(self) -> set[str]:
        return {item for rule in self.rules.values() for item in rule.checklist}


def load_listing_rules(folder: Path) -> ListingRules:
    files = sorted(folder.glob("*.yaml")) if folder.is_dir() else []
    if not files:
        raise ListingRulesError(f"No listing-check files (*.yaml) in {folder}.")
    parsed: dict[str, ChecksFile] = {}
    for path in files:
        raw = read_yaml(path, ListingRulesError, "listing-check file")
        try:
            parsed[path.name] = ChecksFile.model_validate(raw or {})
        except ValidationError as exc:
            detail = describe_errors(exc, raw).replace("entry ", "rule ")
            raise ListingRulesError(f"Listing-check file {path} is invalid:\n{detail}") from exc
    return ListingRules(parsed)
