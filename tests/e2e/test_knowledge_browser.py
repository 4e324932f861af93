"""Knowledge base admin in a real browser: an identical re-upload is skipped and the uploader
is cleared; removing a document asks first, with nothing chosen in advance."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.e2e.conftest import shot

NOTE = "# Label printer rule\n\nShipping labels are printed on 100 x 150 mm thermal paper.\n"


def passages(page) -> int:
    metric = page.locator("[data-testid='stMetric']", has_text="Passages")
    return int(metric.locator("[data-testid='stMetricValue']").inner_text())


def settle(page) -> None:
    """Wait for the page's script run to end (widgets of the old run are gone)."""
    page.locator("[data-test-script-state='notRunning']").wait_for(timeout=60_000)


def upload(page, path) -> None:
    settle(page)
    page.locator("input[type='file']").set_input_files(str(path))
    page.get_by_role("button", name="Add to knowledge base").click()


def test_reupload_is_skipped_and_removal_is_confirmed(app_url, page, tmp_path):
    page.goto(f"{app_url}/knowledge")
    page.get_by_text("Add documents").wait_for(timeout=180_000)  # first run indexes knowledge/
    before = passages(page)
    first = tmp_path / "label-printer.md"
    first.write_text(NOTE)
    upload(page, first)
    page.get_by_text("Added label-printer.md (1 passage)").wait_for(timeout=90_000)
    expect(page.locator("[data-testid='stMetric']", has_text="Passages")).to_contain_text(
        str(before + 1)
    )  # counts fresh after the add
    expect(page.get_by_role("button", name="Add to knowledge base")).to_have_count(0)
    assert page.locator("[data-testid='stFileUploaderFile']").count() == 0  # uploader cleared

    again = tmp_path / "printer copy.md"  # same bytes, another name
    again.write_text(NOTE)
    upload(page, again)
    page.get_by_text("Skipped 'printer copy.md'", exact=False).wait_for(timeout=60_000)
    page.get_by_text("uploads/label-printer.md", exact=False).first.wait_for()
    assert passages(page) == before + 1
    shot(page, "knowledge-01-reupload-skipped")

    settle(page)
    remove = page.get_by_role("button", name="Remove from index")
    expect(remove).to_be_disabled()  # nothing is chosen in advance
    page.locator("[data-testid='stSelectbox'] input").last.click()
    page.keyboard.type("uploads/label-printer")
    page.keyboard.press("Enter")
    expect(remove).to_be_enabled()
    remove.click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_text("will no longer be used for answers", exact=False).wait_for()
    shot(page, "knowledge-02-confirm-removal")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_have_count(0)
    assert passages(page) == before + 1  # cancelling removed nothing

    page.locator("[data-testid='stSelectbox'] input").last.click()
    page.keyboard.type("uploads/label-printer")
    page.keyboard.press("Enter")
    remove.click()
    page.get_by_role("dialog").get_by_role("button", name="Remove").click()
    page.get_by_text("Removed uploads/label-printer.md (1 passage).").wait_for(timeout=60_000)
    expect(page.locator("[data-testid='stMetric']", has_text="Passages")).to_contain_text(
        str(before)
    )
