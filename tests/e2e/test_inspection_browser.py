"""A short self-inspection in a real browser, through to the downloadable report: finishing
early asks first, the score says it is partial, and the section chart's labels are whole."""

from __future__ import annotations

import itertools

from tests.e2e.conftest import ARTIFACTS, shot


def test_short_inspection_in_the_browser(app_url, page):
    page.goto(app_url)
    page.get_by_role("link", name="Self-inspection").click()
    page.get_by_label("Store name").wait_for(timeout=180_000)  # first run indexes knowledge/
    page.get_by_label("Store name").fill("Browser Test Shop")
    page.get_by_text("Do you sell to buyers in the European Union?").click()
    page.get_by_role("button", name="Start inspection").click()
    page.get_by_text("Account and store set-up").first.wait_for()
    page.get_by_text("Why this matters and the rule behind it").first.click()
    page.get_by_text("only one AliExpress account", exact=False).first.wait_for()
    shot(page, "inspection-01-section")

    radios = page.locator("[data-testid='stRadio']")
    radios.first.wait_for()
    for index in range(radios.count()):
        radios.nth(index).get_by_text("No" if index == 0 else "Yes", exact=True).click()
        page.wait_for_timeout(400)
    page.get_by_role("button", name="Next").click()
    page.get_by_text("Product listings").first.wait_for()
    page.get_by_role("button", name="Finish now and see report").click()
    page.get_by_text("unanswered. The score will rest on", exact=False).wait_for()
    assert not page.get_by_text("Action plan, highest risk first").count()  # asked first
    page.get_by_role("button", name="Yes, finish now").click()
    page.get_by_text("Action plan, highest risk first").wait_for()
    page.get_by_text("answers: partial", exact=False).first.wait_for()

    chart = page.locator("[data-testid='stVegaLiteChart']").first
    chart.locator("svg text", has_text="Account and store set-up:").wait_for()
    labels = chart.locator("svg text").filter(has_text=":")
    boxes = [labels.nth(i).bounding_box() for i in range(labels.count())]
    frame = chart.bounding_box()
    right = frame["x"] + frame["width"]
    assert boxes and all(frame["x"] <= b["x"] and b["x"] + b["width"] <= right for b in boxes)
    rows = sorted(boxes, key=lambda b: b["y"])
    assert all(a["y"] + a["height"] <= b["y"] for a, b in itertools.pairwise(rows))  # no overlap
    ARTIFACTS.mkdir(exist_ok=True)
    chart.screenshot(path=str(ARTIFACTS / "inspection-section-chart.png"))
    report = (
        page.locator("[data-testid='stMain']").inner_text()
        if page.locator("[data-testid='stMain']").count()
        else page.inner_text("body")
    )
    assert "Do you sell through a single AliExpress seller account" in report
    assert "only one AliExpress account" in report
    with page.expect_download() as download:
        page.get_by_role("button", name="Download PDF").click()
    assert download.value.suggested_filename == "inspection-browser-test-shop.pdf"
    shot(page, "inspection-02-report")
