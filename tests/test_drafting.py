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
from app.services.drafting import (
    DATE_FIELDS,
    DraftingError,
    DraftingService,
    load_templates,
    match_evidence,
    parse_case,
    readable,
)
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


def shown(name: str) -> str:
    """A FULL fact as a draft writes it: dates the way a buyer reads them."""
    return readable(date.fromisoformat(FULL[name])) if name in DATE_FIELDS else FULL[name]


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
                        assert shown(name) in draft.text, (case_type.id, name)
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
                assert shown(name) in draft.text, (case_type.id, given, draft.text)


def test_form_fields_are_declared_per_case_type_and_validated(templates, tmp_path):
    ip = templates.type("appeal-ip-counter-notice")
    assert not {"tracking_number", "carrier", "amount", "buyer_claim"} & set(ip.fields)
    assert {"tracking_number", "carrier"} <= set(templates.type("inr-tracking-stalled").fields)
    raw = yaml.safe_load(TEMPLATES.read_text())
    ip_raw = next(t for t in raw["types"] if t["id"] == "appeal-ip-counter-notice")
    ip_raw["fields"] = ["evidence"]  # its opening line and deadline use penalty_date
    path = tmp_path / "cases.yaml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(DraftingError, match="penalty_date"):
        load_templates(path)


def test_a_draft_states_no_action_the_seller_did_not_confirm(service):
    case = {"type": "inr-tracking-stalled", **FULL, "carrier": "Cainiao Standard"}
    draft = service.draft(parse_case(case))
    assert "investigate" not in draft.text and "Cainiao Standard" in draft.text
    assert any("Ask the carrier to investigate" in s for s in draft.suggestions)
    confirmed = service.draft(parse_case({**case, "confirmed": ["carrier-enquiry"]}))
    assert "We have asked Cainiao Standard to investigate." in confirmed.text
    assert not confirmed.suggestions
    with pytest.raises(DraftingError, match="no statement"):
        service.draft(parse_case({**case, "confirmed": ["made-up"]}))


def test_every_claim_line_is_left_out_until_confirmed(templates, service):
    for case_type in templates.types:
        claimed = [line for line in case_type.body if line.claim]
        draft = service.draft(parse_case({"type": case_type.id, **FULL, "tone": "firm"}))
        for line in claimed:
            for wording in line.wordings():
                assert wording.split("{")[0] not in draft.text, (case_type.id, wording)
        assert len(draft.suggestions) == len({line.claim for line in claimed}), case_type.id
        every = [c.id for c in case_type.claims]
        sure = service.draft(parse_case({**FULL, "type": case_type.id, "confirmed": every}))
        assert not sure.suggestions


def test_the_buyer_is_thanked_once(templates, service):
    for case_type in templates.types:
        for tone in ("warm", "neutral", "firm"):
            text = service.draft(parse_case({"type": case_type.id, **FULL, "tone": tone})).text
            assert len(re.findall(r"\bthank(s| you)\b", text, re.I)) <= 1, (case_type.id, tone)
    warm = service.draft(parse_case({"type": "wrong-or-missing", **FULL, "tone": "warm"})).text
    assert warm.startswith("Hello,\n") and "We are here to help." in warm


def test_dates_read_the_way_a_buyer_reads_them(service):
    draft = service.draft(parse_case({"type": "inr-in-transit", **FULL}))
    assert "3 November 2026" in draft.text
    assert not re.search(r"\d{4}-\d{2}-\d{2}", draft.text)
    assert readable(date(2026, 10, 30)) == "30 October 2026"


def test_an_overdue_appeal_says_it_is_late(service):
    case = {"type": "appeal-ip-counter-notice", "penalty_date": "2026-11-02"}
    late = service.draft(parse_case({**case, "today": "2026-11-27"}))
    assert late.deadlines[0].overdue
    assert "after the deadline of 5 November 2026" in late.text
    on_time = service.draft(parse_case({**case, "today": "2026-11-03"}))
    assert "deadline" not in on_time.text
    reply = service.draft(parse_case({"type": "damaged", **FULL, "today": "2026-12-30"}))
    assert reply.deadlines[0].overdue and "deadline" not in reply.text  # buyers are not told


def test_typed_evidence_is_matched_against_the_expected_list(service):
    draft = service.draft(
        parse_case(
            {
                "type": "appeal-ip-counter-notice",
                "penalty_date": "2026-11-20",
                "evidence": "Trademark registration certificate\nPurchase invoices",
            }
        )
    )
    assert draft.evidence_present == [
        "Trademark registration certificate or copyright certificate",
        "Purchase invoices from the authorised supplier",
    ]
    assert draft.evidence_missing == ["Authorisation letter from the rights holder"]
    assert match_evidence([], ["Weighing record"]) == ([], ["Weighing record"])
    assert match_evidence(["Photos"], ["Weighing record"]) == ([], ["Weighing record"])
