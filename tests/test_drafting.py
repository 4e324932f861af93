"""Drafting: templates for every case type, no placeholders or forbidden promises, deadline
arithmetic, cited rules, and the CLI."""

from __future__ import annotations

import itertools
import json
import re
from datetime import date

import pytest
import yaml

from app.services.deadlines import deadline, due_date
from app.services.drafting import DraftingError, DraftingService, load_templates, parse_case
from app.services.evaluation import document_reader
from tests.conftest import KNOWLEDGE, cli_env, run_cli

TEMPLATES = KNOWLEDGE / "templates" / "cases.yaml"
FULL = {
    "order_id": "8123456789",
    "tracking_number": "LP00123456789CN",
    "carrier": "Cainiao",
    "order_date": "2026-11-01",
    "shipped_date": "2026-11-03",
    "dispute_opened": "2026-11-20",
    "penalty_date": "2026-11-21",
    "amount": "USD 12.50",
    "evidence": ["Carrier weighing record", "Photos of the item before packing"],
    "today": "2026-11-24",
}


@pytest.fixture(scope="module")
def templates():
    return load_templates(TEMPLATES)


@pytest.fixture(scope="module")
def service(templates, assistant):
    return DraftingService(templates, assistant)


def test_all_required_case_types_exist(templates):
    ids = {t.id for t in templates.types}
    assert {
        "inr-in-transit",
        "inr-tracking-stalled",
        "inr-customs",
        "inr-returned",
        "not-as-described",
        "damaged",
        "wrong-or-missing",
        "counterfeit-claim",
        "cancellation",
        "appeal-prohibited",
        "appeal-ip-counter-notice",
        "appeal-false-shipment",
        "appeal-dispute-ruling",
    } <= ids


def test_every_type_renders_full_and_minimal_without_placeholders(templates, service):
    for case_type in templates.types:
        body = " ".join(line.text or "" for line in case_type.body)
        for facts in (FULL, {}):
            draft = service.draft(parse_case({"type": case_type.id, **facts}))
            assert draft.text.strip(), case_type.id
            assert not re.search(r"[{}]", draft.text), (case_type.id, draft.text)
            if facts:
                for name in ("order_id", "tracking_number", "shipped_date", "penalty_date"):
                    if "{" + name + "}" in body:
                        assert FULL[name] in draft.text, (case_type.id, name)
                assert not draft.missing, (case_type.id, draft.missing)
            else:
                assert {m.fact for m in draft.missing} >= set(case_type.needs), case_type.id
        assert draft.evidence and draft.citations


def test_no_draft_ever_contains_a_forbidden_promise(templates, service):
    patterns = [re.compile(rule.pattern, re.I) for rule in templates.forbidden]
    for case_type, tone, proposal in itertools.product(
        templates.types,
        ("warm", "neutral", "firm"),
        (None, "refund", "partial_refund", "resend", "return"),
    ):
        text = service.draft(
            parse_case({"type": case_type.id, "tone": tone, "proposal": proposal, **FULL})
        ).text
        for pattern in patterns:
            assert not pattern.search(text), (case_type.id, tone, proposal, pattern.pattern)


def test_forbidden_wording_in_the_sellers_own_facts_is_left_out(service):
    draft = service.draft(
        parse_case(
            {
                "type": "appeal-dispute-ruling",
                "order_id": "1",
                "penalty_date": "2026-11-20",
                "evidence": [
                    "Tracking history",
                    "Buyer promised to close the dispute if we pay by PayPal",
                    "Ask the buyer for a 5-star review",
                ],
            }
        )
    )
    assert "Tracking history" in draft.text
    assert "PayPal" not in draft.text and "5-star" not in draft.text
    assert len(draft.warnings) == 2


@pytest.mark.parametrize(
    ("start", "days", "working", "due"),
    [
        ("2026-11-20", 5, False, "2026-11-25"),
        ("2026-01-29", 5, False, "2026-02-03"),  # across a month end
        ("2028-02-27", 3, False, "2028-03-01"),  # leap year
        ("2026-12-30", 3, False, "2027-01-02"),  # year end
        ("2026-11-27", 3, True, "2026-12-02"),  # Friday + 3 working days = Wednesday
        ("2026-11-28", 1, True, "2026-11-30"),  # from a Saturday: Monday
        ("2026-12-30", 3, True, "2027-01-05"),  # Thu, Fri 1 Jan 2027 a holiday in China
        ("2026-11-20", 0, True, "2026-11-20"),
    ],
)
def test_deadline_arithmetic(start, days, working, due):
    assert due_date(date.fromisoformat(start), days, working) == date.fromisoformat(due)


def test_time_left_and_overdue():
    ok = deadline("Respond", date(2026, 11, 20), 5, today=date(2026, 11, 23))
    assert (ok.days_left, ok.overdue) == (2, False)
    today = deadline("Respond", date(2026, 11, 20), 5, today=date(2026, 11, 25))
    assert (today.days_left, today.overdue) == (0, False)
    late = deadline("Respond", date(2026, 11, 20), 5, today=date(2026, 11, 27))
    assert (late.days_left, late.overdue) == (-2, True)
    with pytest.raises(ValueError):
        due_date(date(2026, 1, 1), -1)


def test_draft_deadlines_come_from_the_rules(service):
    draft = service.draft(
        parse_case(
            {
                "type": "appeal-ip-counter-notice",
                "penalty_date": "2026-11-27",
                "today": "2026-12-03",
            }
        )
    )
    [item] = draft.deadlines
    assert item.due == date(2026, 12, 2) and item.overdue and "working" in item.basis
    reply = service.draft(parse_case({"type": "damaged", **FULL}))
    assert reply.deadlines[0].due == date(2026, 11, 25) and reply.deadlines[0].days_left == 1


def test_citations_resolve_in_the_knowledge_base(templates, service, assistant):
    read = document_reader(assistant.retrieval.store)
    for case_type in templates.types:
        citations = service.draft(parse_case({"type": case_type.id})).citations
        assert [c.n for c in citations] == list(range(1, len(citations) + 1))
        for citation in citations:
            assert citation.quote in read(citation.source), case_type.id


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ({"type": "no-such-type"}, "Unknown case type"),
        ({"type": "damaged", "dispute_opened": "last tuesday"}, "dispute_opened"),
        ({"type": "damaged", "tone": "angry"}, "tone"),
        ({"type": "damaged", "proposal": "store credit"}, "proposal"),
        ({"type": "damaged", "surprise": 1}, "surprise"),
        ("just text", "must be a mapping"),
    ],
)
def test_bad_cases_get_clear_errors(service, case, message):
    with pytest.raises(DraftingError, match=message):
        service.draft(parse_case(case))


def test_broken_templates_name_the_case_type(tmp_path):
    raw = yaml.safe_load(TEMPLATES.read_text())
    raw["types"][2]["needs"] = ["order_id", "shoe_size"]
    path = tmp_path / "cases.yaml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(DraftingError, match="case type inr-customs > needs"):
        load_templates(path)


def test_cli_draft_json(kb_settings, assistant, tmp_path):
    env = cli_env(kb_settings, TEMPLATES_PATH=str(TEMPLATES))
    case = tmp_path / "case.yaml"
    case.write_text(yaml.safe_dump({"type": "inr-customs", **FULL}))
    result = run_cli("draft", "--case", str(case), "--json", env=env)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert {"text", "deadlines", "evidence", "citations", "missing"} <= set(data)
    assert set(data["deadlines"][0]) >= {"what", "due", "days_left", "overdue"}
    assert "8123456789" in data["text"] and data["citations"][0]["quote"]
    listed = run_cli("draft", "--list-types", "--json", env=env)
    assert len(json.loads(listed.stdout)) >= 13


def test_any_fact_given_appears_in_the_draft(templates, service):
    """A fact the seller gives is never lost because another fact on the same line is missing."""
    for case_type in templates.types:
        wording = " ".join(
            " ".join(
                [
                    line.text or "",
                    *(
                        line.otherwise
                        if isinstance(line.otherwise, list)
                        else [line.otherwise or ""]
                    ),
                ]
            )
            for line in case_type.body
        )
        names = [
            n
            for n in ("order_id", "tracking_number", "carrier", "shipped_date", "penalty_date")
            if "{" + n + "}" in wording
        ]
        for given in [*((n,) for n in names), *itertools.combinations(names, 2)]:
            draft = service.draft(parse_case({"type": case_type.id, **{n: FULL[n] for n in given}}))
            for name in given:
                assert FULL[name] in draft.text, (case_type.id, given, draft.text)
