"""Vocabulary bridges from the words sellers use to the words the rulebook uses.

`knowledge/glossary/en.yaml` maps English slang and plain words ("knock-offs", "got a strike",
"my cousin ordered") to rule terms ("counterfeit", "penalty points", "fake orders"); one file
per other language (`zh.yaml`, `es.yaml`, …) maps that language's seller phrasings to the same
English rule terms. Each file is validated on load; a broken one is named in the error.

A question is *bridged*, not rewritten: the rule terms it implies are added to the lexical
query and, in evidence scoring, a question word counts as covered when the rulebook holds any
rule term it maps to. A bridge can only help a question reach text that is there; it never
adds a fact.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from app.components.text import terms
from app.components.yamlfile import describe_errors, read_yaml

SPACELESS = {"zh", "ja"}  # words are not separated by spaces: segment first
# Suffixes attach to the word (Turkish talebi-ne, Korean 분쟁-에, Russian спор-у): a phrase must
# start a word but may end inside one.
SUFFIXING = {"tr", "ko", "ru"}


def fold(text: str) -> str:
    """Lower case that keeps Turkish İ as i (plain lower() makes it i + a combining dot)."""
    return text.replace("İ", "i").lower().replace("\u0307", "")


class GlossaryError(ValueError):
    """A glossary file is missing or malformed; the message names the file and entry."""


class Entry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    en: str = Field(min_length=1)
    terms: list[str] = Field(min_length=1)

    @field_validator("terms", mode="before")
    @classmethod
    def _as_text(cls, value: object) -> object:
        """YAML reads `11.11` or `1:1` as numbers; a seller's phrase is text either way."""
        if isinstance(value, list):
            return [str(t) if isinstance(t, int | float) else t for t in value]
        return value

    @field_validator("en", "terms", mode="after")
    @classmethod
    def _clean(cls, value: str | list[str]) -> str | list[str]:
        if isinstance(value, str):
            return value.strip()
        cleaned = [t.strip() for t in value if t.strip()]
        if not cleaned:
            raise ValueError("give at least one term")
        return cleaned


class GlossaryFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    language: str = Field(pattern=r"^[a-z]{2}$")
    name: str = ""
    notice: str = ""
    key_point: str = ""
    refusal: str = ""
    empty: str = ""
    units: dict[str, str] = Field(default_factory=dict)
    entries: list[Entry] = Field(min_length=1)


@dataclass
class Bridge:
    """What a question's words imply in the rulebook's vocabulary."""

    rule_text: str  # the rule terms found, as text for the lexical query ("" when none)
    groups: dict[str, set[str]] = field(default_factory=dict)  # question term -> rule terms
    matched: list[tuple[str, str]] = field(default_factory=list)  # (seller phrase, rule term)


class Glossary:
    """One language's bridge, compiled for fast phrase lookup."""

    def __init__(self, data: GlossaryFile) -> None:
        self.data = data
        self.language = data.language
        pairs = [(t, e.en) for e in data.entries for t in e.terms]
        if self.language == "en":
            pairs += [(e.en, e.en) for e in data.entries]  # the rule term bridges to itself
        # Longest phrases first, so "refund request" wins over "refund".
        self._pairs = sorted({(fold(p), en) for p, en in pairs}, key=lambda x: -len(x[0]))

    @cached_property
    def _pattern(self) -> re.Pattern[str]:
        phrases = "|".join(re.escape(p) for p, _ in self._pairs)
        if self.language in SPACELESS:
            return re.compile(f"({phrases})")  # word boundaries come from segmentation
        if self.language in SUFFIXING:
            return re.compile(rf"(?<![\w-])({phrases})")
        return re.compile(rf"(?<![\w-])({phrases})(?![\w-])")

    @cached_property
    def rule_terms(self) -> list[tuple[str, re.Pattern[str], str]]:
        """(rule term, its whole-word pattern, the seller's usual word for it), longest rule
        term first: compiled once, for finding rule terms in quoted English sentences."""
        entries = sorted(self.data.entries, key=lambda e: -len(e.en))
        return [
            (e.en.lower(), re.compile(rf"(?<![\w-]){re.escape(e.en.lower())}(?![\w-])"), e.terms[0])
            for e in entries
        ]

    @cached_property
    def _lookup(self) -> dict[str, list[str]]:
        lookup: dict[str, list[str]] = {}
        for phrase, en in self._pairs:
            lookup.setdefault(phrase, []).append(en)
        return lookup

    def phrases_in(self, text: str, bounds: set[int] | None = None) -> list[tuple[str, str]]:
        """(seller phrase, rule term) for each glossary phrase in `text`, longest first; with
        `bounds` (word offsets of segmented text) a phrase must start and end on a word."""
        found: list[tuple[str, str]] = []
        for match in self._pattern.finditer(fold(text)):
            if bounds is not None and not {match.start(), match.end()} <= bounds:
                continue
            phrase = match.group(1)
            found.extend((phrase, en) for en in self._lookup.get(phrase, []))
        return found

    def bridge(self, question: str) -> Bridge:
        out = Bridge("")
        found: list[str] = []
        for phrase, en in self.phrases_in(question):
            out.matched.append((phrase, en))
            found.append(en)
            rule_terms = set(terms(en))
            for term in terms(phrase) or [phrase]:
                out.groups.setdefault(term, set()).update(rule_terms)
        out.rule_text = " ".join(dict.fromkeys(found))
        return out


def load_glossary(path: Path) -> Glossary:
    raw = read_yaml(path, GlossaryError, "glossary")
    try:
        data = GlossaryFile.model_validate(raw)
    except ValidationError as exc:
        raise GlossaryError(f"Glossary {path} is not valid:\n{describe_errors(exc, raw)}") from exc
    seen: set[str] = set()
    for entry in data.entries:
        if entry.en.lower() in seen:
            raise GlossaryError(f"Glossary {path}: the rule term '{entry.en}' appears twice")
        seen.add(entry.en.lower())
    return Glossary(data)


class Glossaries(Mapping[str, Glossary]):
    """Every `<language>.yaml` in a folder, by language code, each read and validated when it
    is first used: an English question never parses the other languages' files (a quarter of
    a second of a cold start). A broken file is named when its language is first needed."""

    def __init__(self, folder: Path) -> None:
        paths = sorted(folder.glob("*.yaml")) if folder.is_dir() else []
        self._paths = {path.stem: path for path in paths}
        self._loaded: dict[str, Glossary] = {}

    def __getitem__(self, language: str) -> Glossary:
        if language not in self._loaded:
            path = self._paths[language]
            glossary = load_glossary(path)
            if glossary.language != path.stem:
                raise GlossaryError(f"Glossary {path} says language '{glossary.language}'")
            self._loaded[language] = glossary
        return self._loaded[language]

    def __iter__(self) -> Iterator[str]:
        return iter(self._paths)

    def __len__(self) -> int:
        return len(self._paths)


def load_glossaries(folder: Path) -> dict[str, Glossary]:
    """Every `<language>.yaml` in the folder, by language code (none when it is absent), all
    read and validated now."""
    return dict(Glossaries(folder))
