"""Guided self-inspection: checklist schema, profile skipping, scoring, cited findings, resume,
comparison, exports and the CLI."""

from __future__ import annotations

import io
import json
import re

import pytest
import yaml

from app.components.database import Database
from app.services.checklist import ChecklistError, load_checklist
from app.services.evaluation import document_reader
from app.services.inspection import (
    InspectionError,
    InspectionService,
    ItemAnswer,
    parse_answers,
    score_answers,
)
from app.services.report_export import report_markdown, report_pdf
from tests.conftest import KNOWLEDGE, cli_env, run_cli

CHECKLIST = KNOWLEDGE / "checklists" / "store-health.yaml"


@pytest.fixture(scope="module")
def checklist():
    return load_checklist(CHECKLIST)


@pytest.fixture
def service(checklist, assistant, tmp_path):
    return InspectionService(checklist, Database(tmp_path / "app.sqlite"), assistant)


def all_yes(checklist, profile):
    return {i.id: ItemAnswer("yes") for _, i in checklist.applicable(profile)}


def test_shipped_checklist_is_large_and_covers_every_area(checklist):
    assert len(checklist.items()) >= 40
    assert [s.id for s in checklist.sections] == [
        "account",
        "listings",
        "ip",
        "prohibited",
        "transactions",
        "shipping",
        "disputes",
        "metrics",
        "events",
        "eu",
        "customs",
    ]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda raw: raw["sections"][1]["items"][2].update(severity="catastrophic"),
            "item lst-duplicates > severity",
        ),
        (lambda raw: raw["sections"][0]["items"][0].pop("why"), "item acc-one-account > why"),
        (
            lambda raw: raw["sections"][0]["items"][1].update(id="acc-one-account"),
            "item acc-one-account: the id is used twice",
        ),
        (
            lambda raw: raw["sections"][0]["items"][0].update(applies_to=["sells_on_mars"]),
            "item acc-one-account: applies_to names ['sells_on_mars']",
        ),
        (
            lambda raw: raw["sections"][0]["items"][0]["cite"].pop("query"),
            "item acc-one-account > cite > query",
        ),
    ],
)
def test_a_broken_checklist_names_the_item(tmp_path, change, message):
    raw = yaml.safe_load(CHECKLIST.read_text())
    change(raw)
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(ChecklistError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_checklist(path)


def test_profile_skips_what_does_not_apply(checklist):
    plain = {i.id for _, i in checklist.applicable({})}
    eu = {i.id for _, i in checklist.applicable({"sells_eu": True})}
    everything = {i.id for _, i in checklist.applicable({p.id: True for p in checklist.profile})}
    assert "eu-responsible-person" not in plain and "eu-responsible-person" in eu
    assert "ip-authorisation" not in eu and "ip-authorisation" in everything
    assert "eu-ce-docs" not in eu  # needs sells_eu and ce_products together
    assert plain < eu < everything and len(everything) == len(checklist.items())


def test_one_critical_no_outweighs_several_low_ones(checklist):
    profile = {}
    base = all_yes(checklist, profile)
    critical_no = {**base, "acc-one-account": ItemAnswer("no")}
    lows = [i.id for _, i in checklist.applicable(profile) if i.severity.value == "low"][:4]
    assert len(lows) == 4
    four_low_nos = {**base, **{item: ItemAnswer("no") for item in lows}}
    assert score_answers(checklist, profile, base)[0] == 100.0
    assert (
        score_answers(checklist, profile, critical_no)[0]
        < score_answers(checklist, profile, four_low_nos)[0]
    )
    unsure = {**base, "acc-one-account": ItemAnswer("unsure")}
    assert (
        score_answers(checklist, profile, critical_no)[0]
        < score_answers(checklist, profile, unsure)[0]
        < 100.0
    )
    na = {**base, "acc-one-account": ItemAnswer("na")}
    assert score_answers(checklist, profile, na)[0] == 100.0


def test_every_item_cites_a_real_passage_of_the_shipped_knowledge_base(checklist, assistant):
    read = document_reader(assistant.retrieval.store)
    for _, item in checklist.items():
        citations = assistant.cite(item.cite.query, item.cite.source, item.cite.section)
        assert citations, f"{item.id}: no citation for {item.cite}"
        for citation in citations:
            assert citation.source == item.cite.source, item.id
            assert citation.section.startswith(item.cite.section), item.id
            assert citation.quote in read(citation.source), item.id


def test_report_for_canned_answers(service, checklist):
    canned = {
        "store": "Sunny Gadgets",
        "profile": {"sells_eu": True, "branded_goods": True},
        "acc-one-account": True,  # YAML's own yes
        "lst-product-limit": "no",
        "dsp-5-days": {"answer": "no", "note": "we only check weekly"},
        "ip-authorisation": "unsure",
        "eu-ioss": "n/a",
    }
    profile, store, answers = parse_answers(canned)
    inspection_id = service.start(store, profile)
    for item_id, given in answers.items():
        service.answer(inspection_id, item_id, given.answer, given.note)
    report = service.report(inspection_id)
    assert [f.item_id for f in report.findings] == [
        "dsp-5-days",
        "ip-authorisation",
        "lst-product-limit",
    ]  # risk order: 10, 5, 1
    first = report.findings[0]
    assert first.note == "we only check weekly" and "5 days" in first.deadline
    assert "5 days" in first.citations[0].quote
    assert report.unanswered == report.applicable - 5
    assert report.partial and report.coverage() == f"from 5 of {report.applicable} answers: partial"
    markdown = report_markdown(report)
    assert f"**{report.score:.0f}/100**, from 5 of {report.applicable} answers: partial" in markdown
    assert "# AliExpress store health check: Sunny Gadgets" in markdown
    assert "### 1. Do you accept or reject every refund request within 5 days?" in markdown
    assert f'> [1] "{first.citations[0].quote}"' in markdown
    assert "## Sources" in markdown and "disputes-and-refunds.md" in markdown


def test_resume_after_restart_and_comparison(checklist, assistant, tmp_path):
    database_path = tmp_path / "app.sqlite"
    first = InspectionService(checklist, Database(database_path), assistant)
    old = first.start("Sunny Gadgets", {})
    first.answer(old, "shp-handling-time", "no")
    first.answer(old, "acc-one-account", "yes")
    first.complete(old)
    new = first.start("Sunny Gadgets", {})
    first.answer(new, "shp-handling-time", "yes")

    restarted = InspectionService(checklist, Database(database_path), assistant)
    resumed = restarted.get(new)
    assert resumed.answers["shp-handling-time"].answer == "yes" and resumed.completed_at is None
    restarted.answer(new, "acc-one-account", "no", "second shop opened")
    report = restarted.report(new)
    assert [i["id"] for i in report.comparison.improved] == ["shp-handling-time"]
    assert [i["id"] for i in report.comparison.regressed] == ["acc-one-account"]
    assert report.comparison.previous_id == old
    assert [i.id for i, _ in restarted.history_of("Sunny Gadgets")] == [old, new]


def test_bad_input_is_refused_clearly(service):
    inspection_id = service.start("Shop", {"sells_eu": True})
    with pytest.raises(InspectionError, match="not an answer"):
        service.answer(inspection_id, "acc-one-account", "maybe")
    with pytest.raises(InspectionError, match="no checklist item"):
        service.answer(inspection_id, "no-such-item", "yes")
    with pytest.raises(InspectionError, match="Unknown profile"):
        service.start("Shop", {"sells_on_mars": True})
    with pytest.raises(InspectionError, match="name"):
        service.start("   ", {})
    with pytest.raises(InspectionError, match="deleted or never existed"):
        service.answer(99999, "acc-one-account", "yes")
    with pytest.raises(InspectionError, match="Item x: 'maybe'"):
        parse_answers({"x": "maybe"})


def test_pdf_export_reads_back(service, checklist):
    from pypdf import PdfReader

    inspection_id = service.start("Café Ünïcode Store", {"sells_eu": True})
    service.answer(inspection_id, "eu-responsible-person", "no", "need an importer – soon")
    service.answer(inspection_id, "cus-eur3-duty", "unsure")
    report = service.report(inspection_id)
    reader = PdfReader(io.BytesIO(report_pdf(report)))
    text = " ".join(page.extract_text() for page in reader.pages)
    flat = " ".join(text.split())
    assert "Café Ünïcode Store" in flat
    assert "Does every product you sell to the EU have an EU Responsible Person?" in flat
    assert "[1]" in flat and "eu-product-safety-and-vat.md" in flat
    assert "answers: partial" in flat  # the score says what it rests on
    drawing = b"".join(page.get_contents().get_data() for page in reader.pages)
    bars = len(report.sections) + sum(1 for x in report.sections if x.score)  # track + bar
    assert drawing.count(b" re") >= bars
    assert b"TJ" not in drawing  # left-aligned: justified lines are spaced with TJ arrays


def test_cli_list_and_answers(kb_settings, assistant, tmp_path):
    env = cli_env(kb_settings, CHECKLIST_PATH=str(CHECKLIST))

    def run(*args):
        return run_cli("inspect", *args, env=env)

    listed = run("--list", "--json")
    items = json.loads(listed.stdout)
    assert len(items) >= 40 and set(items[0]) == {
        "id",
        "section",
        "question",
        "severity",
        "applies_to",
    }
    answers = tmp_path / "answers.yaml"
    answers.write_text(
        "store: CLI Shop\nprofile: {sells_eu: true}\n"
        "acc-one-account: no\neu-ioss: {answer: unsure, note: asking our forwarder}\n"
    )
    report_md = tmp_path / "report.md"
    result = run("--answers", str(answers), "--report", str(report_md), "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["store_name"] == "CLI Shop" and data["findings"][0]["item_id"] == "acc-one-account"
    assert data["findings"][0]["citations"][0]["quote"]
    assert {"score", "sections", "findings"} <= set(data)
    assert "CLI Shop" in report_md.read_text()
    answers.write_text("acc-one-account: perhaps\n")
    bad = run("--answers", str(answers))
    assert bad.returncode == 2 and "not an answer" in bad.stderr and "Traceback" not in bad.stderr


def test_interactive_cli_saves_as_it_goes_and_resumes(kb_settings, assistant, tmp_path):
    env = cli_env(kb_settings, CHECKLIST_PATH=str(CHECKLIST), DATA_DIR=str(tmp_path / "data"))
    profile = "\n".join(["n"] * len(load_checklist(CHECKLIST).profile))  # all "no"
    first = run_cli(
        "inspect",
        "--store",
        "Terminal Shop",
        env=env,
        stdin=f"{profile}\nno\nwe have two shops\nyes\nstop\n",
    )
    assert first.returncode == 0, first.stderr
    match = re.search(r"--resume (\d+)", first.stdout)
    assert match, first.stdout
    service = InspectionService(
        load_checklist(CHECKLIST), Database(tmp_path / "data" / "app.sqlite"), assistant
    )
    saved = service.get(int(match.group(1)))
    assert {k: (v.answer, v.note) for k, v in saved.answers.items()} == {
        "acc-one-account": ("no", "we have two shops"),
        "acc-not-shared": ("yes", ""),
    }
    assert saved.completed_at is None

    resumed = run_cli("inspect", "--resume", match.group(1), env=env, stdin="unsure\n\nstop\n")
    assert resumed.returncode == 0, resumed.stderr
    assert "Resuming inspection" in resumed.stdout
    assert service.get(saved.id).answers["acc-active-login"].answer == "unsure"
