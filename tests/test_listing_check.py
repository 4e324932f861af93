"""The listing check on a planted catalogue, real rule files and the real indexed rulebook:
every planted problem found with the right rule and a verified citation, nothing on the clean
listings; bad files end as one line; the CLI commands; the self-inspection pre-fill."""

from __future__ import annotations

import json
import shutil

import pytest

from app.components.catalogue import CatalogueError, read_catalogue
from app.services.inspection import InspectionService
from app.services.listing_check import report_csv, report_markdown
from app.services.listing_rules import ListingRulesError, load_listing_rules
from tests import listing_samples as samples
from tests.conftest import KNOWLEDGE, cli_env, run_cli


@pytest.fixture(scope="module")
def checker(container):
    return container.listings(container.database())


@pytest.fixture(scope="module")
def report(checker, tmp_path_factory):
    path = samples.write_csv(tmp_path_factory.mktemp("catalogue") / "catalogue.csv")
    return checker.check_file(path)


def test_planted_problems_found_with_the_right_rule_and_a_verified_citation(report):
    expected = samples.expected()
    found: dict[str, set[str]] = {key: set() for key in expected}
    for f in report.findings:
        found[f.listing_id].add(f.rule_id)
    tp = sum(len(expected[k] & found[k]) for k in expected)
    fp = sum(len(found[k] - expected[k]) for k in expected)
    fn = sum(len(expected[k] - found[k]) for k in expected)
    precision, recall = tp / max(tp + fp, 1), tp / max(tp + fn, 1)
    print(f"planted set: precision {precision:.2f}, recall {recall:.2f} ({tp}/{fp}/{fn} TP/FP/FN)")
    assert found == expected
    assert report.listings == len(expected) and report.at_risk == len(samples.PLANTED) - 1
    rules_fired = {f.rule_id for f in report.findings}
    assert rules_fired == set().union(*(r for _, r in samples.PLANTED))
    for f in report.findings:
        assert f.verified and f.citations, f"{f.rule_id} has no verified citation"
        assert f.words and f.change
        for c in f.citations:
            assert c.source.endswith(".md") and c.quote and c.n >= 1
    # The citation is the rule's own document, as its cite entry names.
    rules = {f.rule_id: f for f in report.findings}
    assert rules["counterfeit-signal"].citations[0].source == "intellectual-property.md"
    assert rules["gpsr-operator-missing"].citations[0].source == "eu-product-safety-and-vat.md"
    assert rules["duplicate-listing"].citations[0].section == "Duplicate listings"


def test_the_words_to_change_are_the_listing_s_own(report):
    by_key = {(f.listing_id, f.rule_id): f for f in report.findings}
    assert by_key[("p05", "brand-disguised")].words == ["N1ke"]
    assert "looks like Nike" in by_key[("p05", "brand-disguised")].detail
    assert {"replica", "aaa quality", "1:1", "mirror quality"} <= set(
        by_key[("p04", "counterfeit-signal")].words
    )
    assert "near-identical to listing p23" in by_key[("p24", "duplicate-listing")].detail
    assert by_key[("p18", "gpsr-operator-missing")].words == ["DE", "FR"]
    severities = [f.severity for f in report.findings]
    assert severities.index("critical") < severities.index("medium")  # worst first


def test_one_listing_check_cites_once_per_rule(checker, tmp_path):
    one = samples.write_csv(tmp_path / "one.csv", [samples.PLANTED[3][0]])
    listing = read_catalogue(one, 50)
    first = checker.check(listing[0])
    again = checker.check(listing[0])
    assert [f.rule_id for f in first] == ["counterfeit-signal"]
    assert first[0].citations is again[0].citations  # looked up once, then cached


def test_xlsx_reads_like_csv(tmp_path):
    csv_rows = read_catalogue(samples.write_csv(tmp_path / "c.csv"), 50)
    xlsx_rows = read_catalogue(samples.write_xlsx(tmp_path / "c.xlsx"), 50)
    assert [(x.id, x.title, x.markets, x.authorised) for x in xlsx_rows] == [
        (x.id, x.title, x.markets, x.authorised) for x in csv_rows
    ]


def test_headers_are_mapped_by_synonyms_and_encodings(tmp_path):
    path = tmp_path / "export.csv"
    text = "subject;detail;Category Path;Price\nRobe d'été;Légère;Dresses;12,99 €\n"
    path.write_bytes(text.encode("cp1252"))
    listing = read_catalogue(path, 50)[0]
    assert (listing.title, listing.description, listing.price) == ("Robe d'été", "Légère", 12.99)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("columns.csv", b"sku,colour\n1,red\n", "no title column"),
        ("empty.csv", b"", "is empty"),
        ("blank.csv", b"\n\n  \n", "is empty"),
        ("binary.csv", bytes(range(256)) * 4, "not a CSV text file"),
        ("fake.xlsx", b"PK\x03\x04 not really a workbook", "not a readable XLSX"),
        ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "old Excel"),
        ("header.csv", b"title,description\n", "no listings"),
    ],
)
def test_bad_files_give_one_clear_line(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(CatalogueError) as error:
        read_catalogue(path, 50)
    assert message in str(error.value) and "\n" not in str(error.value)


def test_a_50_mb_file_is_refused_before_reading(tmp_path):
    path = tmp_path / "huge.csv"
    with path.open("wb") as handle:
        handle.truncate(50 * 1000 * 1000 + 1)  # sparse: no 50 MB written
    with pytest.raises(CatalogueError, match=r"over the 50 MB limit"):
        read_catalogue(path, 50)


def test_a_broken_rules_file_names_file_and_field(tmp_path):
    folder = tmp_path / "listing-checks"
    shutil.copytree(KNOWLEDGE / "listing-checks", folder)
    text = (folder / "claims.yaml").read_text().replace("severity: high", "severity: urgent", 1)
    (folder / "claims.yaml").write_text(text)
    with pytest.raises(ListingRulesError) as error:
        load_listing_rules(folder)
    assert "claims.yaml" in str(error.value) and "rule medical-claim > severity" in str(error.value)


def test_exports_name_every_finding_and_its_rule(report):
    text = report_csv(report)
    assert text.count("\n") == len(report.findings) + 1 and "N1ke" in text
    markdown = report_markdown(report)
    assert "## Summary by rule" in markdown and "“N1ke”" in markdown
    assert "intellectual-property" not in markdown or "›" in markdown
    assert "Intellectual property infringement › General and serious infringement" in markdown


def test_inspection_starts_from_the_last_catalogue_check(container, checker, report):
    database = container.database()
    checker.save_summary(report)
    service = InspectionService(container.checklist, database, container.assistant)
    inspection_id = service.start("Listing Check Shop", {"sells_eu": True, "ce_products": True})
    service.answer(inspection_id, "lst-category", "yes", "checked by hand")
    filled = service.prefill_from_catalogue(inspection_id)
    answers = service.get(inspection_id).answers
    assert filled and answers["lst-category"].answer == "yes"  # the seller's answer is kept
    assert answers["ip-no-counterfeits"].answer == "no"
    assert "catalogue.csv" in answers["ip-no-counterfeits"].note
    assert "Counterfeit or replica wording: 1 listing" in answers["ip-no-counterfeits"].note
    assert answers["lst-duplicates"].answer == "no"


@pytest.fixture(scope="module")
def kb_env(kb_settings, container) -> dict[str, str]:
    return cli_env(kb_settings)


def test_cli_check_listings_json_and_out(kb_env, tmp_path):
    path = samples.write_csv(tmp_path / "catalogue.csv")
    out = tmp_path / "report.md"
    result = run_cli("check-listings", str(path), "--json", "--out", str(out), env=kb_env)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["listings"] == len(samples.expected()) and data["at_risk"] == 23
    assert data["by_severity"]["critical"] >= 1 and data["findings"][0]["citations"]
    assert out.read_text().startswith("# Listing check: catalogue.csv")


def test_cli_check_listings_bad_file_is_one_line(kb_env, tmp_path):
    path = tmp_path / "wrong.csv"
    path.write_text("sku,colour\n1,red\n")
    result = run_cli("check-listings", str(path), env=kb_env)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "no title column" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_cli_check_listing_one(kb_env):
    result = run_cli(
        "check-listing", "--title", "Gucc1 handbag replica", "--category", "Handbags",
        "--json", env=kb_env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    rules = {f["rule_id"] for f in json.loads(result.stdout)}
    assert rules == {"brand-disguised", "counterfeit-signal"}
