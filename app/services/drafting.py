"""Drafting buyer dispute replies and platform appeals from templates, with the deadlines the
rules set, the evidence to attach and the rules relied on.

A draft never shows an unfilled placeholder (a line whose fact is missing uses its `else`
wording or is left out, and the fact is listed under `missing`), and never contains what the
rules forbid (asking to close a dispute, early confirmation, off-platform payment, reviews for
favours): such a sentence is removed and the seller is told why.

A draft states only facts and actions the seller gave: a line that claims something (an
enquiry with the carrier, an authorisation) is written only when the seller confirms that
claim; otherwise it becomes a suggestion listed beside the draft.
"""

from __future__ import annotations

import json
import re
import string
import time
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from app.components.database import Database
from app.components.llm import describe_failure, provider_label
from app.components.serialise import Serialisable
from app.components.text import Sentence, split_sentences, terms
from app.components.yamlfile import describe_errors, read_yaml
from app.services.answering import Assistant, Citation
from app.services.checklist import Cite
from app.services.deadlines import Deadline, deadline
from app.services.generation import stream_text
from app.services.prompts import POLISH_PROMPT
from app.services.verification import check, figures
from app.settings import Settings

_TAGS = re.compile(r"</?\s*message\s*>", re.I)

Tone = Literal["warm", "neutral", "firm"]
DateField = Literal["order_date", "shipped_date", "dispute_opened", "penalty_date"]
DATE_FIELDS: tuple[str, ...] = get_args(DateField)
FACT_FIELDS = ("order_id", "tracking_number", "carrier", *DATE_FIELDS, "amount", "evidence")
# What a case type's form may ask: the facts, plus the buyer's words and the seller's proposal.
FORM_FIELDS = (*FACT_FIELDS, "buyer_claim", "proposal")
_THANKS = re.compile(r"\bthank(s| you)\b", re.I)
FACT_LABELS = {
    "order_id": "order number",
    "tracking_number": "tracking number",
    "carrier": "carrier",
    "order_date": "order date",
    "shipped_date": "shipping date",
    "dispute_opened": "date the dispute or request was opened",
    "penalty_date": "penalty, complaint or ruling date",
    "amount": "amount",
    "evidence": "evidence you have",
}
DATE_LABELS = {
    "order_date": "order date",
    "shipped_date": "shipped",
    "dispute_opened": "dispute or request opened",
    "penalty_date": "penalty or ruling",
}


class DraftingError(ValueError):
    """Bad templates or a bad case; the message says what to fix."""


class Line(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str | None = None
    otherwise: str | list[str] | None = Field(None, alias="else")  # tried in order
    tone: dict[Tone, str] | None = None
    claim: str | None = None  # written only when the seller confirms this claim

    def wordings(self) -> list[str]:
        otherwise = self.otherwise if isinstance(self.otherwise, list) else [self.otherwise]
        return [w for w in (self.text, *otherwise, *(self.tone or {}).values()) if w]

    @model_validator(mode="before")
    @classmethod
    def _plain_string(cls, value: object) -> object:
        return {"text": value} if isinstance(value, str) else value


class DeadlineRule(BaseModel):
    model_config = ConfigDict(extra="forbid")
    what: str
    start: DateField = Field(alias="from")
    days: int = Field(ge=0, le=365)
    working: bool = False


class Claim(BaseModel):
    """Something a draft may say only when the seller confirms it is true."""

    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    say: str  # the seller's tick box, first person: "I have asked the carrier to investigate"
    suggest: str  # what to do instead, listed beside the draft while it is not confirmed


class CaseType(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    group: Literal["buyer", "platform"]
    title: str
    fields: list[str] = Field(min_length=1)  # what the form asks for this case, in order
    needs: list[str] = Field(default_factory=list)
    claims: list[Claim] = Field(default_factory=list)
    deadlines: list[DeadlineRule] = Field(default_factory=list)
    evidence: list[str] = Field(min_length=1)
    cite: list[Cite] = Field(min_length=1)
    body: list[Line] = Field(min_length=1)

    @field_validator("needs", "fields")
    @classmethod
    def _known(cls, names: list[str], info: ValidationInfo) -> list[str]:
        allowed, what = (
            (FACT_FIELDS, "facts") if info.field_name == "needs" else (FORM_FIELDS, "fields")
        )
        unknown = set(names) - set(allowed)
        if unknown:
            raise ValueError(f"unknown {what} {sorted(unknown)}; known: {list(allowed)}")
        return names

    @model_validator(mode="after")
    def _uses_only_its_fields(self) -> CaseType:
        """The form shows `fields`, so everything else in the case type must come from them."""
        asked = set(self.fields)
        used = {name for line in self.body for w in line.wordings() for name in _fields(w)}
        used |= set(self.needs) | {rule.start for rule in self.deadlines}
        if "amount" in asked and "proposal" not in asked:
            raise ValueError("'amount' is only used by a proposal: add 'proposal' to fields")
        if not used <= asked:
            raise ValueError(f"uses {sorted(used - asked)}, which are not in its fields")
        claims = {c.id for c in self.claims}
        unknown = {line.claim for line in self.body if line.claim} - claims
        if unknown:
            raise ValueError(f"body lines name unknown claims {sorted(unknown)}")
        return self


class Forbidden(BaseModel):
    pattern: str
    why: str


class Templates(BaseModel):
    model_config = ConfigDict(extra="forbid")
    forbidden: list[Forbidden]
    greetings: dict[Literal["buyer", "platform"], dict[Tone, str]]
    closings: dict[Literal["buyer", "platform"], dict[Tone, str]]
    proposals: dict[str, Line]
    late: str  # an appeal filed after its deadline says so; {due} is the missed date
    types: list[CaseType] = Field(min_length=1)

    @field_validator("late")
    @classmethod
    def _late_names_only_the_date(cls, late: str) -> str:
        if set(_fields(late)) - {"due"}:
            raise ValueError("may use only the {due} placeholder")
        return late

    def type(self, type_id: str) -> CaseType:
        for case_type in self.types:
            if case_type.id == type_id:
                return case_type
        known = ", ".join(t.id for t in self.types)
        raise DraftingError(f"Unknown case type '{type_id}'. Known types: {known}.")


def load_templates(path: Path) -> Templates:
    raw = read_yaml(path, DraftingError, "templates file")
    try:
        templates = Templates.model_validate(raw)
    except ValidationError as exc:
        raise DraftingError(
            f"Templates file {path} is invalid:\n{describe_errors(exc, raw)}"
        ) from exc
    for rule in templates.forbidden:
        re.compile(rule.pattern)
    return templates


class Case(BaseModel):
    """What the seller tells us about the case; every fact is optional but `type`."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    type: str
    order_id: str | None = None
    tracking_number: str | None = None
    carrier: str | None = None
    order_date: date | None = None
    shipped_date: date | None = None
    dispute_opened: date | None = None
    penalty_date: date | None = None
    buyer_claim: str | None = None
    proposal: Literal["refund", "partial_refund", "resend", "return"] | None = None
    amount: str | None = None
    evidence: list[str] = Field(default_factory=list)
    confirmed: list[str] = Field(default_factory=list)  # claim ids the seller says are true
    tone: Tone = "neutral"
    language: str = "en"
    today: date | None = None

    @field_validator("evidence", mode="before")
    @classmethod
    def _evidence_list(cls, value: object) -> object:
        if isinstance(value, str):
            return [line.strip(" -•") for line in value.splitlines() if line.strip(" -•")]
        return value or []

    @field_validator("amount", "order_id", "tracking_number", "carrier", mode="before")
    @classmethod
    def _text(cls, value: object) -> object:
        return None if value in ("", None) else str(value)


@dataclass
class MissingFact(Serialisable):
    """A case fact the draft would be better with, and what it is needed for."""

    fact: str  # the case field, e.g. "tracking_number"
    label: str  # how a seller calls it, e.g. "tracking number"
    needed_for: str = ""  # e.g. "the deadline: respond to the dispute"


@dataclass
class Draft(Serialisable):
    case_type: str = field(metadata={"key": "type"})
    title: str
    text: str
    deadlines: list[Deadline]
    evidence: list[str]
    citations: list[Citation]
    missing: list[MissingFact]
    warnings: list[str] = field(default_factory=list)
    # What the draft leaves out because the seller has not confirmed it, as things to do.
    suggestions: list[str] = field(default_factory=list)
    # The expected evidence (`evidence`) split by what the seller listed.
    evidence_present: list[str] = field(default_factory=list)
    evidence_missing: list[str] = field(default_factory=list)
    # Case facts as they appear in the text: a polish must keep each one verbatim.
    protected: list[str] = field(default_factory=list, metadata={"skip": True})
    polished_by: str | None = None


def parse_case(raw: object) -> Case:
    if not isinstance(raw, dict):
        raise DraftingError("A case must be a mapping with at least `type`.")
    try:
        return Case.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'case'}: {e['msg']}" for e in exc.errors()
        )
        raise DraftingError(f"The case has problems: {problems}") from exc


class DraftingService:
    def __init__(
        self, templates: Templates, assistant: Assistant, database: Database | None = None
    ) -> None:
        self.templates = templates
        self.assistant = assistant
        self.db = database
        self._forbidden = [(re.compile(r.pattern, re.I), r.why) for r in templates.forbidden]
        self._citations: dict[str, list[Citation]] = {}

    def draft(self, case: Case) -> Draft:
        case_type = self.templates.type(case.type)
        claims = {c.id: c for c in case_type.claims}
        unknown = set(case.confirmed) - set(claims)
        if unknown:
            known = ", ".join(claims) or "none"
            raise DraftingError(
                f"'{case_type.id}' has no statement {', '.join(sorted(unknown))} to confirm; "
                f"known: {known}."
            )
        facts, warnings = self._facts(case)
        today = case.today or date.today()
        deadlines = [
            deadline(
                rule.what,
                getattr(case, rule.start),
                rule.days,
                today,
                rule.working,
                DATE_LABELS[rule.start],
            )
            for rule in case_type.deadlines
            if getattr(case, rule.start)
        ]
        body: list[str] = []
        suggestions: list[str] = []
        for line in case_type.body:
            if line.claim and line.claim not in case.confirmed:
                if claims[line.claim].suggest not in suggestions:
                    suggestions.append(claims[line.claim].suggest)
                continue
            rendered = self._render(line, facts, case.tone)
            if rendered:
                body.append(rendered)
        late = [d for d in deadlines if d.overdue]
        if case_type.group == "platform" and late:  # an overdue appeal says it is late
            body.insert(1, self.templates.late.format(due=readable(late[0].due)))
        lines = [
            self.templates.greetings[case_type.group][case.tone],
            *body,
            self.templates.closings[case_type.group][case.tone],
        ]
        lines = self._thank_once(lines, case_type.group)
        text, removed = self._without_forbidden(lines)
        warnings += removed
        if case.language.lower() not in ("en", "english"):
            warnings.append(
                f"Only English templates exist; the draft is in English, not '{case.language}'."
            )
        missing = [
            MissingFact(name, FACT_LABELS.get(name, name))
            for name in case_type.needs
            if not facts.get(name)
        ]
        missing += [
            MissingFact(rule.start, FACT_LABELS[rule.start], f"the deadline: {rule.what}")
            for rule in case_type.deadlines
            if not getattr(case, rule.start) and rule.start not in {m.fact for m in missing}
        ]
        present, absent = match_evidence(case.evidence, case_type.evidence)
        protected = [
            value
            for name, value in facts.items()
            if name in FACT_FIELDS and name != "evidence" and value in text
        ] + [item for item in case.evidence if item in text]
        return Draft(
            case_type.id,
            case_type.title,
            text,
            deadlines,
            case_type.evidence,
            self._cite(case_type),
            missing,
            warnings,
            suggestions,
            present,
            absent,
            protected,
        )

    def polish(
        self,
        draft: Draft,
        llm: Any,
        settings: Settings,
    ) -> Draft:
        """The draft reworded by the LLM, kept only if every case fact survives verbatim, it
        adds no figure, nothing the rules forbid, and every sentence is backed by the
        template draft; otherwise the template draft with a warning saying why."""
        deadline = time.monotonic() + settings.llm_timeout
        messages = POLISH_PROMPT.format_messages(draft=draft.text)
        try:
            raw = stream_text(llm, messages, deadline, None, 4 * len(draft.text) + 400)
        except Exception as exc:
            return _unpolished(draft, describe_failure(exc, settings))
        text = _TAGS.sub("", raw).strip()
        problems = [
            f'"{fact}" was changed or dropped' for fact in draft.protected if fact not in text
        ]
        added = figures(text) - figures(draft.text)
        if added:
            problems.append(f"it added the figure(s) {', '.join(sorted(added))}")
        forbidden = [why for s in split_sentences(text) if (why := self._violation(s.text))]
        problems += [f"it wrote something the rules forbid ({why})" for why in forbidden[:1]]
        if text and not problems:
            embed = self.assistant.retrieval.embed_texts
            checked = check(text, [draft.text], settings.llm_min_support, embed, embed)
            if checked.unsupported or not checked.claims:
                problems.append(
                    f"{len(checked.unsupported)} sentence(s) are not backed by the draft"
                    if checked.claims
                    else "it returned no usable sentences"
                )
            # ...and the other way round: nothing the body said may go missing (a reworded
            # greeting or sign-off, the first and last paragraphs, changes no meaning).
            body = "\n\n".join(draft.text.split("\n\n")[1:-1]) or draft.text
            kept = check(body, [text], settings.llm_min_support, embed, embed)
            if kept.unsupported:
                problems.append(f'it left out what the draft said: "{kept.unsupported[0].text}"')
        if not text:
            problems.append("it returned an empty message")
        if problems:
            return _unpolished(draft, "; ".join(problems[:3]))
        return replace(draft, text=text, polished_by=provider_label(settings))

    def save(self, case: Case, draft: Draft) -> int:
        if self.db is None:
            raise DraftingError("No database to save drafts in.")
        with self.db.connect() as db:
            cursor = db.execute(
                "INSERT INTO drafts(case_type, title, case_json, draft_json) VALUES (?,?,?,?)",
                (
                    draft.case_type,
                    draft.title,
                    case.model_dump_json(),
                    json.dumps(draft.to_dict(), ensure_ascii=False, default=str),
                ),
            )
            return int(cursor.lastrowid)

    def saved(self) -> list[dict[str, Any]]:
        if self.db is None:
            return []
        return [
            {
                "id": r["id"],
                "type": r["case_type"],
                "title": r["title"],
                "created_at": r["created_at"],
                "case": json.loads(r["case_json"]),
                "draft": json.loads(r["draft_json"]),
            }
            for r in self.db.fetch_all("SELECT * FROM drafts ORDER BY id DESC")
        ]

    # -- internals ------------------------------------------------------------------------------
    def _facts(self, case: Case) -> tuple[dict[str, str], list[str]]:
        """The case's facts as text; a fact that says something forbidden is left out."""
        warnings: list[str] = []

        def allowed(value: str) -> bool:
            why = self._violation(value)
            if why:
                warnings.append(f'Left out "{value}": {why}')
            return why is None

        facts = {
            name: (readable(value) if isinstance(value, date) else str(value))
            for name in FACT_FIELDS
            if (value := getattr(case, name)) and name != "evidence"
        }
        facts = {name: value for name, value in facts.items() if allowed(value)}
        evidence = [item for item in case.evidence if allowed(item)]
        if evidence:
            facts["evidence"] = "; ".join(evidence)
        if case.proposal:
            proposal = self._render(self.templates.proposals[case.proposal], facts, case.tone)
            if proposal:
                facts["proposal"] = proposal
        return facts, warnings

    def _violation(self, text: str) -> str | None:
        return next((why for pattern, why in self._forbidden if pattern.search(text)), None)

    @staticmethod
    def _render(line: Line, facts: dict[str, str], tone: Tone) -> str | None:
        if line.tone is not None:
            return line.tone.get(tone)
        otherwise = line.otherwise if isinstance(line.otherwise, list) else [line.otherwise]
        usable = [
            c for c in (line.text, *otherwise) if c and all(name in facts for name in _fields(c))
        ]
        if not usable:
            return None
        best = max(usable, key=lambda c: len(set(_fields(c))))  # keep as many facts as possible
        return best.format_map(facts)

    def _thank_once(self, lines: list[str], group: Literal["buyer", "platform"]) -> list[str]:
        """Thank the reader once: the first thanks in the body stays (it carries the facts), a
        thanking greeting becomes the plain one, and later thank-you sentences are dropped."""
        thanking = [i for i, line in enumerate(lines) if _THANKS.search(line)]
        if len(thanking) < 2:
            return lines
        keep = next((i for i in thanking if 0 < i < len(lines) - 1), thanking[0])
        result = []
        for i, line in enumerate(lines):
            if i in thanking and i != keep:
                if i == 0:
                    line = self.templates.greetings[group]["neutral"]
                else:
                    sentences = split_sentences(line) or [Sentence(line, 0)]
                    line = " ".join(x.text for x in sentences if not _THANKS.search(x.text))
            if line:
                result.append(line)
        return result

    def _without_forbidden(self, lines: list[str]) -> tuple[str, list[str]]:
        """Last line of defence for template wording: drop any sentence the rules forbid."""
        warnings: list[str] = []
        paragraphs = []
        for line in lines:
            kept = []
            for sentence in split_sentences(line) or [Sentence(line, 0)]:
                why = self._violation(sentence.text)
                if why:
                    warnings.append(f"Removed a sentence: {why}")
                else:
                    kept.append(sentence.text)
            if kept:
                paragraphs.append(" ".join(kept))
        return "\n\n".join(paragraphs), warnings

    def _cite(self, case_type: CaseType) -> list[Citation]:
        if case_type.id not in self._citations:
            found: list[Citation] = []
            for cite in case_type.cite:
                for c in self.assistant.cite(cite.query, cite.source, cite.section, limit=1):
                    if all(c.quote != seen.quote for seen in found):
                        found.append(c)
            for n, c in enumerate(found, 1):
                c.n = n
            self._citations[case_type.id] = found
        return self._citations[case_type.id]


def _unpolished(draft: Draft, reason: str) -> Draft:
    return replace(draft, warnings=[*draft.warnings, f"The LLM polish was not used: {reason}."])


def readable(day: date) -> str:
    """A date the way a buyer reads it, "30 October 2026", not ISO."""
    return f"{day.day} {day:%B %Y}"


def match_evidence(given: list[str], expected: list[str]) -> tuple[list[str], list[str]]:
    """Which expected evidence the seller's own list covers, and which is missing. An item
    counts as present when a listed item shares two content words with it (or its only one):
    "Purchase invoices" covers "Purchase invoices from the authorised supplier"."""
    listed = [set(terms(item)) for item in given]
    present, missing = [], []
    for item in expected:
        wanted = set(terms(item))
        covered = any(
            len(words & wanted) >= 2 or (len(words) == 1 and words <= wanted) for words in listed
        )
        (present if covered else missing).append(item)
    return present, missing


def _fields(template: str) -> list[str]:
    return [name for _, name, _, _ in string.Formatter().parse(template) if name]
