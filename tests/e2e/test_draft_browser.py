"""Drafting in a real browser: one buyer reply and one appeal, with deadline and sources."""

from __future__ import annotations

import datetime as dt
import re

from playwright.sync_api import expect

from tests.e2e.conftest import shot


def test_buyer_reply_and_appeal_in_the_browser(app_url, page):
    page.goto(app_url)
    page.get_by_role("link", name="Draft a message").click()
    page.get_by_label("Order number").wait_for(timeout=180_000)  # first run indexes knowledge/
    page.get_by_label("Order number").fill("8123456789")
    page.get_by_label("Tracking number").fill("LP00123456789CN")
    page.get_by_label("Carrier").fill("Cainiao")
    opened = (dt.date.today() - dt.timedelta(days=2)).strftime("%Y%m%d")
    page.get_by_role("spinbutton", name="year, Dispute or request opened on").click()
    page.keyboard.type(opened)  # the date field's year, month and day segments fill in turn
    page.get_by_role("button", name="Draft the message").click()
    page.get_by_text("Evidence to attach").wait_for(timeout=60_000)
    draft = page.get_by_label("Your draft (edit freely before sending)").input_value()
    assert "8123456789" in draft and "Cainiao" in draft
    page.get_by_text("Accept or reject the refund request: due", exact=False).wait_for()
    page.get_by_text("3 days left", exact=False).first.wait_for()
    shot(page, "draft-01-buyer-reply")

    page.get_by_text("AliExpress (appeal)", exact=True).click()
    case_type = page.locator("[data-testid='stSelectbox'] input").first
    expect(case_type).to_have_value(re.compile(r"^Appeal: penalty for prohibited"))
    page.get_by_label("Evidence you have, one item per line").fill(
        "Product photos\nSupplier licence"
    )
    page.get_by_role("button", name="Draft the message").click()
    draft_box = page.get_by_label("Your draft (edit freely before sending)")
    # the buyer reply is still on the page until the rerun lands: wait for the new text
    expect(draft_box).to_have_value(re.compile(r"^Dear AliExpress review team"), timeout=60_000)
    appeal = draft_box.input_value()
    assert "Product photos; Supplier licence" in appeal
    shot(page, "draft-02-appeal")


def test_ip_counter_notice_asks_only_what_it_uses(app_url, page):
    """The form follows the case type; the draft states no authorisation not confirmed."""
    page.goto(f"{app_url}/draft")
    page.get_by_label("Order number").wait_for(timeout=180_000)  # the buyer form first
    page.get_by_text("AliExpress (appeal)", exact=True).click()
    case_type = page.locator("[data-testid='stSelectbox'] input").first
    expect(case_type).to_have_value(re.compile(r"^Appeal: penalty for prohibited"))
    case_type.click()
    page.keyboard.type("Counter-notice")
    page.keyboard.press("Enter")
    expect(case_type).to_have_value("Counter-notice: intellectual property complaint")
    page.get_by_label("Penalty, complaint or ruling date").first.wait_for()
    claim = page.get_by_test_id("stForm").get_by_text(
        "The products are genuine and I am authorised to sell them"
    )
    claim.wait_for()
    for absent in ("Tracking number", "Carrier", "Amount (for a refund)", "What the buyer says"):
        assert page.get_by_label(absent, exact=False).count() == 0, absent
    page.get_by_label("Evidence you have, one item per line").fill(
        "Trademark registration certificate\nPurchase invoices"
    )
    page.get_by_role("button", name="Draft the message").click()
    draft_box = page.get_by_label("Your draft (edit freely before sending)")
    expect(draft_box).to_have_value(re.compile(r"^Dear AliExpress review team"), timeout=60_000)
    assert "authorisation" not in draft_box.input_value()  # not confirmed: a suggestion
    page.get_by_text("Not in the draft until you confirm it").wait_for()
    page.get_by_text("Not in your evidence list yet").wait_for()
    shot(page, "draft-03-ip-counter-notice")

    claim.click()
    page.get_by_role("button", name="Draft the message").click()
    expect(draft_box).to_have_value(re.compile(r"rights holder's authorisation"), timeout=60_000)
