"""The Check listings page in a real browser: upload a planted catalogue, filter, open a
finding's cited rule, download the report; and check one pasted listing."""

from __future__ import annotations

from tests import listing_samples as samples
from tests.e2e.conftest import shot


def _main_text(page) -> str:
    main = page.locator("[data-testid='stMain']")
    return main.inner_text() if main.count() else page.inner_text("body")


def test_catalogue_upload_in_the_browser(app_url, page, tmp_path):
    catalogue = samples.write_csv(tmp_path / "catalogue.csv")
    page.goto(app_url)
    page.get_by_role("link", name="Check listings").click()
    page.get_by_text("Upload a catalogue").wait_for(timeout=420_000)
    page.get_by_text("Upload a catalogue").click()
    page.locator("input[type='file']").set_input_files(str(catalogue))
    page.get_by_text("catalogue.csv").first.wait_for(timeout=60_000)  # uploaded
    page.get_by_role("button", name="Check catalogue").click()
    page.get_by_text("Listings at risk").wait_for(timeout=180_000)
    assert f"23 of {len(samples.expected())}" in _main_text(page)
    finding = page.get_by_text("p05 · Brand spelled in disguise", exact=False).first
    finding.click()
    page.get_by_text("hiding infringement deliberately", exact=False).first.wait_for()
    assert "N1ke" in _main_text(page)
    shot(page, "listings-01-catalogue")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download CSV").click()
    assert download.value.suggested_filename == "listing-check-catalogue-csv.csv"


def test_one_pasted_listing_in_the_browser(app_url, page):
    page.goto(app_url)
    page.get_by_role("link", name="Check listings").click()
    page.get_by_label("Title").wait_for(timeout=420_000)
    page.get_by_label("Title").fill("Luxury handbag replica AAA quality")
    page.get_by_label("Category").fill("Handbags")
    page.get_by_role("button", name="Check listing").click()
    page.get_by_text("Counterfeit or replica wording", exact=False).first.wait_for(timeout=120_000)
    page.get_by_text("pasted listing · Counterfeit or replica wording", exact=False).first.click()
    page.get_by_text("in other words counterfeits", exact=False).first.wait_for()
    shot(page, "listings-02-one")
