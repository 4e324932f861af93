"""Guided self-inspection: start from a profile, answer items, resume later, and turn the
answers into a scored, cited, risk-ordered action plan compared with the previous inspection.

Scoring: each applicable, answered item weighs by severity (critical 10, high 5, medium 2,
low 1); "yes" earns its full weight, "unsure" half, "no" nothing; "not applicable" and
unanswered items are left out. One critical "no" therefore costs more than five low ones.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from app.components.database import Database
from app.services.answering import Assistant, Citation
from app.services.checklist import Checklist, Item, Section

ANSWERS = ("yes", "no", "unsure", "na")
CREDIT = {"yes": 1.0, "unsure": 0.5, "no": 0.0}


class InspectionError(ValueError):
    """Bad input to an inspection (unknown item, answer or inspection); the message says why."""


@dataclass
class ItemAnswer:
    answer: str
    note: str = ""


@dataclass
class Inspection:
    id: int
    store_name: str
    checklist_id: str
    profile: dict[str, bool]
    created_at: str
    updated_at: str
    completed_at: str | None
    answers: dict[str, ItemAnswer] = field(default_factory=dict)


@dataclass
class Finding:
    item_id: str
    section: str
    question: str
    severity: str
    answer: str
    note: str
    risk: float
    why: str
    remediation: list[str]
    evidence: list[str]
    follow_up: list[str]
    deadline: str | None
    citations: list[Citation]


@dataclass
class SectionScore:
    id: str
    title: str
    score: float | None  # 0-100; None when nothing in it was answered
    answered: int
    applicable: int


@dataclass
class Comparison:
    previous_id: int
    previous_date: str
    previous_score: float | None
    improved: list[dict[str, str]]  # each {"id", "question"}
    regressed: list[dict[str, str]]


@dataclass
class Report:
    inspection_id: int | None
    store_name: str
    checklist_title: str
    date: str
    score: float | None
    sections: list[SectionScore]
    findings: list[Finding]
    unanswered: int
    applicable: int
    comparison: Comparison | None = None

    @property
    def answered(self) -> int:
        return self.applicable - self.unanswered

    @property
    def partial(self) -> bool:
        """Some applicable items are unanswered: the score does not cover the whole store."""
        return self.unanswered > 0

    def coverage(self) -> str:
        """What the score rests on, said wherever the score is: "from 8 of 43 answers:
        partial"; a score from a few answers must not read like a full check."""
        text = f"from {self.answered} of {self.applicable} answers"
        return f"{text}: partial" if self.partial else text

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "coverage": self.coverage(), "partial": self.partial}


def parse_answers(raw: object) -> tuple[dict[str, bool], str | None, dict[str, ItemAnswer]]:
    """An answers file: item id -> yes|no|unsure|na (or {answer, note}), plus optional
    `profile:` and `store:`. YAML's own yes/no booleans are accepted as answers."""
    if not isinstance(raw, dict):
        raise InspectionError("The answers file must map item ids to answers.")
    data = dict(raw)
    profile = data.pop("profile", None) or {}
    store = data.pop("store", None)
    if not isinstance(profile, dict):
        raise InspectionError("`profile:` must map profile questions to true or false.")
    answers: dict[str, ItemAnswer] = {}
    for item_id, value in data.items():
        note = ""
        if isinstance(value, dict):
            note = str(value.get("note", "") or "")
            value = value.get("answer")
        if isinstance(value, bool):
            text = "yes" if value else "no"
        else:
            text = "" if value is None else str(value)
        text = text.strip().lower().replace("n/a", "na")
        if text not in ANSWERS:
            raise InspectionError(
                f"Item {item_id}: '{value}' is not an answer; use yes, no, unsure or na."
            )
        answers[str(item_id)] = ItemAnswer(text, note)
    return {str(k): bool(v) for k, v in profile.items()}, store, answers


def score_answers(
    checklist: Checklist, profile: dict[str, bool], answers: dict[str, ItemAnswer]
) -> tuple[float | None, list[SectionScore], int, int]:
    applicable = checklist.applicable(profile)
    earned: dict[str, float] = {}
    possible: dict[str, float] = {}
    counts: dict[str, list[int]] = {s.id: [0, 0] for s in checklist.sections}
    for section, item in applicable:
        counts[section.id][1] += 1
        given = answers.get(item.id)
        if given is None or given.answer == "na":
            continue
        counts[section.id][0] += 1
        earned[section.id] = earned.get(section.id, 0.0) + item.weight * CREDIT[given.answer]
        possible[section.id] = possible.get(section.id, 0.0) + item.weight
    sections = [
        SectionScore(
            s.id,
            s.title,
            round(100 * earned[s.id] / possible[s.id], 1) if possible.get(s.id) else None,
            *counts[s.id],
        )
        for s in checklist.sections
        if counts[s.id][1]
    ]
    total = sum(possible.values())
    overall = round(100 * sum(earned.values()) / total, 1) if total else None
    unanswered = sum(1 for _, item in applicable if item.id not in answers)
    return overall, sections, unanswered, len(applicable)


class InspectionService:
    def __init__(self, checklist: Checklist, database: Database, assistant: Assistant) -> None:
        self.checklist = checklist
        self.db = database
        self.assistant = assistant
        self._citations: dict[str, list[Citation]] = {}

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self, store_name: str, profile: dict[str, bool]) -> int:
        name = " ".join(store_name.split())
        if not name:
            raise InspectionError("Give the store a name, so inspections can be compared.")
        known = {p.id for p in self.checklist.profile}
        unknown = set(profile) - known
        if unknown:
            raise InspectionError(f"Unknown profile question(s): {', '.join(sorted(unknown))}.")
        clean = {flag: bool(profile.get(flag, False)) for flag in sorted(known)}
        with self.db.connect() as db:
            cursor = db.execute(
                "INSERT INTO inspections(store_name, checklist_id, profile_json) VALUES (?,?,?)",
                (name[:120], self.checklist.id, json.dumps(clean)),
            )
            return int(cursor.lastrowid)

    def answer(self, inspection_id: int, item_id: str, answer: str, note: str = "") -> None:
        if answer not in ANSWERS:
            raise InspectionError(f"'{answer}' is not an answer; use one of {', '.join(ANSWERS)}.")
        try:
            self.checklist.item(item_id)
        except KeyError:
            raise InspectionError(f"There is no checklist item '{item_id}'.") from None
        self.get(inspection_id)
        with self.db.connect() as db:
            db.execute(
                "INSERT INTO inspection_answers(inspection_id, item_id, answer, note) "
                "VALUES (?,?,?,?) ON CONFLICT(inspection_id, item_id) DO UPDATE SET "
                "answer = excluded.answer, note = excluded.note, updated_at = datetime('now')",
                (inspection_id, item_id, answer, note.strip()[:2000]),
            )
            db.execute(
                "UPDATE inspections SET updated_at = datetime('now') WHERE id = ?", (inspection_id,)
            )

    def complete(self, inspection_id: int) -> None:
        self.get(inspection_id)
        with self.db.connect() as db:
            db.execute(
                "UPDATE inspections SET completed_at = COALESCE(completed_at, datetime('now')) "
                "WHERE id = ?",
                (inspection_id,),
            )

    def delete(self, inspection_id: int) -> None:
        self.get(inspection_id)
        with self.db.connect() as db:
            db.execute("DELETE FROM inspections WHERE id = ?", (inspection_id,))

    def get(self, inspection_id: int) -> Inspection:
        row = self.db.fetch_one("SELECT * FROM inspections WHERE id = ?", (inspection_id,))
        if row is None:
            raise InspectionError("That inspection was deleted or never existed.")
        answers = self.db.fetch_all(
            "SELECT item_id, answer, note FROM inspection_answers WHERE inspection_id = ?",
            (inspection_id,),
        )
        return Inspection(
            row["id"],
            row["store_name"],
            row["checklist_id"],
            json.loads(row["profile_json"]),
            row["created_at"],
            row["updated_at"],
            row["completed_at"],
            {a["item_id"]: ItemAnswer(a["answer"], a["note"]) for a in answers},
        )

    # -- the listing check's results -------------------------------------------------------------
    def catalogue_hints(self) -> tuple[str, dict[str, ItemAnswer]] | None:
        """Suggested answers from the last catalogue listing check (`compliance check-listings`
        or the Check listings page): "no" where it found listings breaking an item's rules,
        "yes" where it found none. None when no catalogue was checked yet."""
        row = self.db.fetch_one("SELECT * FROM listing_checks ORDER BY id DESC LIMIT 1")
        if row is None:
            return None
        label = f"{row['source']} on {row['checked_at']} UTC, {row['listings']} listings"
        hints = {}
        for item_id, rules in json.loads(row["summary_json"])["items"].items():
            found = "; ".join(
                f"{r['rule']}: {r['listings']} listing{'s' if r['listings'] != 1 else ''}"
                for r in rules
            )
            note = f"Catalogue check ({label}): " + (found or "no problem of this kind found.")
            hints[item_id] = ItemAnswer("no" if rules else "yes", note)
        return label, hints

    def prefill_from_catalogue(self, inspection_id: int) -> int:
        """Answer the still-unanswered listing items from the last catalogue check (the
        seller's own answers are never overwritten); returns how many were filled."""
        hints = self.catalogue_hints()
        inspection = self.get(inspection_id)
        if hints is None:
            return 0
        applicable = {item.id for _, item in self.checklist.applicable(inspection.profile)}
        filled = 0
        for item_id, hint in hints[1].items():
            if item_id in applicable and item_id not in inspection.answers:
                self.answer(inspection_id, item_id, hint.answer, hint.note)
                filled += 1
        return filled

    def list(self) -> list[Inspection]:
        rows = self.db.fetch_all("SELECT id FROM inspections ORDER BY updated_at DESC, id DESC")
        return [self.get(r["id"]) for r in rows]

    # -- report ----------------------------------------------------------------------------------
    def citations_for(self, item: Item) -> list[Citation]:
        if item.id not in self._citations:
            self._citations[item.id] = self.assistant.cite(
                item.cite.query, item.cite.source, item.cite.section
            )
        return self._citations[item.id]

    def report(self, inspection_id: int) -> Report:
        inspection = self.get(inspection_id)
        report = self.build_report(
            inspection.store_name,
            inspection.profile,
            inspection.answers,
            date=inspection.updated_at,
            inspection_id=inspection.id,
        )
        report.comparison = self._compare(inspection, report)
        return report

    def build_report(
        self,
        store_name: str,
        profile: dict[str, bool],
        answers: dict[str, ItemAnswer],
        date: str = "",
        inspection_id: int | None = None,
    ) -> Report:
        score, sections, unanswered, applicable = score_answers(self.checklist, profile, answers)
        findings = [
            self._finding(section, item, answers[item.id])
            for section, item in self.checklist.applicable(profile)
            if item.id in answers and answers[item.id].answer in ("no", "unsure")
        ]
        findings.sort(key=lambda f: -f.risk)  # stable: equal risks keep checklist order
        return Report(
            inspection_id,
            store_name,
            self.checklist.title,
            date,
            score,
            sections,
            findings,
            unanswered,
            applicable,
        )

    def history_of(self, store_name: str) -> list[tuple[Inspection, Report]]:
        """Earlier inspections of the same store, oldest first, for the trend chart."""
        rows = self.db.fetch_all(
            "SELECT id FROM inspections WHERE store_name = ? ORDER BY created_at, id", (store_name,)
        )
        out = []
        for row in rows:
            inspection = self.get(row["id"])
            score = score_answers(self.checklist, inspection.profile, inspection.answers)
            out.append(
                (
                    inspection,
                    Report(
                        inspection.id,
                        inspection.store_name,
                        self.checklist.title,
                        inspection.updated_at,
                        score[0],
                        score[1],
                        [],
                        score[2],
                        score[3],
                    ),
                )
            )
        return out

    def _finding(self, section: Section, item: Item, given: ItemAnswer) -> Finding:
        return Finding(
            item.id,
            section.title,
            item.question,
            item.severity.value,
            given.answer,
            given.note,
            item.weight * (1 - CREDIT[given.answer]),
            item.why,
            item.remediation,
            item.evidence,
            item.follow_up,
            item.deadline,
            self.citations_for(item),
        )

    def _named(self, item_id: str) -> dict[str, str]:
        return {"id": item_id, "question": self.checklist.item(item_id).question}

    def _compare(self, inspection: Inspection, report: Report) -> Comparison | None:
        row = self.db.fetch_one(
            "SELECT id FROM inspections WHERE store_name = ? AND id < ? ORDER BY id DESC LIMIT 1",
            (inspection.store_name, inspection.id),
        )
        if row is None:
            return None
        previous = self.get(row["id"])
        before = {k: v.answer for k, v in previous.answers.items()}
        now = {k: v.answer for k, v in inspection.answers.items()}
        improved = [
            self._named(k)
            for k, v in now.items()
            if v == "yes" and before.get(k) in ("no", "unsure")
        ]
        regressed = [
            self._named(k)
            for k, v in now.items()
            if v in ("no", "unsure") and before.get(k) == "yes"
        ]
        prev_score = score_answers(self.checklist, previous.profile, previous.answers)[0]
        return Comparison(previous.id, previous.updated_at, prev_score, improved, regressed)
