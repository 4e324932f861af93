"""The self-inspection checklist as data (`knowledge/checklists/*.yaml`), validated on load so a
mistake names the item it is in instead of breaking an inspection half-way."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from app.components.yamlfile import describe_errors, read_yaml


class Severity(StrEnum):
    critical = "critical"  # account closure risk
    high = "high"
    medium = "medium"
    low = "low"


WEIGHTS = {Severity.critical: 10, Severity.high: 5, Severity.medium: 2, Severity.low: 1}


class Cite(BaseModel):
    model_config = ConfigDict(extra="forbid")
    query: str = Field(min_length=3)
    source: str | None = None
    section: str | None = None


class Item(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    question: str = Field(min_length=5)
    why: str = Field(min_length=5)
    severity: Severity
    yes_means: str
    no_means: str
    remediation: list[str] = Field(min_length=1)
    follow_up: list[str] = Field(default_factory=list)
    evidence: list[str] = Field(default_factory=list)
    applies_to: list[str] = Field(default_factory=list)
    deadline: str | None = None
    cite: Cite

    @property
    def weight(self) -> int:
        return WEIGHTS[self.severity]


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    title: str
    items: list[Item] = Field(min_length=1)


class ProfileQuestion(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    question: str


class Checklist(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    title: str
    version: int = 1
    profile: list[ProfileQuestion] = Field(default_factory=list)
    sections: list[Section] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> Checklist:
        flags = {p.id for p in self.profile}
        seen: set[str] = set()
        for section in self.sections:
            for item in section.items:
                if item.id in seen:
                    raise ValueError(f"item {item.id}: the id is used twice")
                seen.add(item.id)
                unknown = set(item.applies_to) - flags
                if unknown:
                    raise ValueError(
                        f"item {item.id}: applies_to names {sorted(unknown)}, which the profile "
                        f"does not ask about (known: {sorted(flags)})"
                    )
        return self

    def items(self) -> list[tuple[Section, Item]]:
        return [(section, item) for section in self.sections for item in section.items]

    def item(self, item_id: str) -> Item:
        for _, item in self.items():
            if item.id == item_id:
                return item
        raise KeyError(item_id)

    def applicable(self, profile: dict[str, bool]) -> list[tuple[Section, Item]]:
        """Items for this seller: an item with `applies_to` needs every named flag to be true."""
        return [(s, i) for s, i in self.items() if all(profile.get(f) for f in i.applies_to)]


class ChecklistError(ValueError):
    """The checklist file is unreadable or invalid; the message names the item and field."""


def load_checklist(path: Path) -> Checklist:
    raw = read_yaml(path, ChecklistError, "checklist")
    try:
        return Checklist.model_validate(raw)
    except ValidationError as exc:
        raise ChecklistError(f"Checklist {path} is invalid:\n{describe_errors(exc, raw)}") from exc
