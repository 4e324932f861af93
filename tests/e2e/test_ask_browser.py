"""The app in a real browser: first-run indexing, a cited answer whose [1] chip opens its
source, a follow-up, the conversation found again in History after a reload, and an uploaded
document that answers the next question; links in answers are never escaped, questions sent back
to back are both answered and saved, and six sellers asking at once each get their own answer.
Screenshots of each step land in test-artifacts/."""

from __future__ import annotations

import re
import sqlite3
import time

from playwright.sync_api import expect

from tests.e2e.conftest import shot

CHAT_BOX = "Ask a rule question"
SOURCE_LINK = re.compile(
    r"Official AliExpress rules|Copy of official rules|Law text|Third-party guide|Forum post|"
    r"Open source"
)


def ask(page, question: str) -> float:
    box = page.get_by_placeholder(CHAT_BOX, exact=False)
    expect(box).to_be_enabled(timeout=300_000)  # off while the rulebook loads after a start
    box.fill(question)
    started = time.perf_counter()
    box.press("Enter")
    return started


def wait_for_answers(page, count: int) -> None:
    page.locator("[data-testid='stChatMessage']").nth(2 * count - 1).get_by_text(
        re.compile(r"\[\d\]|does not cover")
    ).first.wait_for(timeout=90_000)


def test_ask_cite_follow_up_history_and_upload(app_url, page, tmp_path):
    started = time.perf_counter()
    page.goto(app_url)
    page.get_by_text("Try one of these").wait_for(timeout=60_000)
    print(f"page drawn after {time.perf_counter() - started:.1f} s")
    shot(page, "01-loading")
    expect(page.get_by_placeholder(CHAT_BOX, exact=False)).to_be_enabled(timeout=300_000)
    print(f"usable page after {time.perf_counter() - started:.1f} s (first run indexes knowledge/)")
    shot(page, "01-ready")

    t0 = ask(page, "How long does a seller have to respond to a buyer's refund request?")
    wait_for_answers(page, 1)
    print(f"answer visible {time.perf_counter() - t0:.2f} s after Enter")
    answer = page.locator("[data-testid='stChatMessage']").nth(1)
    assert "5 days" in answer.inner_text()
    shot(page, "02-answer")

    answer.get_by_role("link", name="[1]").first.click()  # jumps to the row of source chips
    chip = answer.get_by_role("button", name=re.compile(r"^\[1\] "))
    expect(chip).to_be_in_viewport()
    chip.click()  # the chip opens the quoted passage and the public link
    page.get_by_text(re.compile(r"^\[1\] Disputes and refunds")).last.wait_for()
    href = page.get_by_role("link", name=SOURCE_LINK).last.get_attribute("href")
    assert href and href.startswith("http") and "%5C" not in href
    shot(page, "03-source")
    page.keyboard.press("Escape")

    t0 = ask(page, "and if I miss it?")
    wait_for_answers(page, 2)
    print(f"warm follow-up visible {time.perf_counter() - t0:.2f} s after Enter")
    reply = page.locator("[data-testid='stChatMessage']").nth(3).inner_text()
    assert "does not cover" not in reply and "automatically" in reply
    shot(page, "04-follow-up")

    page.reload()
    page.get_by_role("link", name="History").click()
    page.get_by_text("How long does a seller have to respond", exact=False).first.wait_for()
    shot(page, "05-history")
    page.get_by_role("button", name="Open in Ask").click()
    page.get_by_text("and if I miss it?").first.wait_for()
    shot(page, "06-reopened")

    rule = tmp_path / "packing-policy.md"
    rule.write_text(
        "# Packing policy\n\nFragile items are wrapped in three layers of bubble film "
        "before they are boxed.\n"
    )
    page.get_by_role("link", name="Knowledge base").click()
    page.locator("input[type='file']").set_input_files(str(rule))
    page.get_by_role("button", name="Add to knowledge base").click()
    page.get_by_text("Added packing-policy.md", exact=False).wait_for(timeout=90_000)
    shot(page, "07-uploaded")

    page.get_by_role("link", name="Ask").click()
    page.get_by_role("button", name="New conversation").click()
    page.get_by_text("Try one of these", exact=False).wait_for()
    ask(page, "How many layers of bubble film are fragile items wrapped in?")
    wait_for_answers(page, 1)
    answer = page.locator("[data-testid='stChatMessage']").nth(1)
    assert "three layers" in answer.inner_text()
    answer.get_by_role("button", name=re.compile(r"^\[1\] ")).click()
    page.get_by_text("file: uploads/packing-policy.md", exact=False).wait_for()
    shot(page, "08-answer-from-upload")


def hrefs(page) -> list[str]:
    return page.eval_on_selector_all("a[href]", "links => links.map(a => a.getAttribute('href'))")


def test_no_backslash_in_any_rendered_link(app_url, page):
    page.goto(app_url)
    example = page.get_by_role("button", name=re.compile("^What must an EU product listing"))
    expect(example).to_be_enabled(timeout=300_000)  # off while the rulebook loads
    example.click()
    wait_for_answers(page, 1)
    answer = page.locator("[data-testid='stChatMessage']").nth(1)
    chips = answer.get_by_role("button", name=re.compile(r"^\[\d+\] "))
    chips.first.wait_for()  # the chips come after the answer's text
    assert chips.count() >= 1
    seen = []
    for index in range(chips.count()):  # every source's quote and link, as the seller opens them
        chips.nth(index).click()
        page.get_by_role("link", name=SOURCE_LINK).last.wait_for()
        seen += hrefs(page)
        page.keyboard.press("Escape")
    ask(page, "Is https://gpsr.sellerguardrails.com/ the official page for product_safety rules?")
    wait_for_answers(page, 2)
    typed = page.locator("[data-testid='stChatMessage']").nth(2)
    link = typed.get_by_role("link", name="https://gpsr.sellerguardrails.com/")
    assert link.get_attribute("href") == "https://gpsr.sellerguardrails.com/"
    seen += hrefs(page)
    assert any(h.startswith("https://") for h in seen)
    bad = [h for h in seen if "\\" in h or "%5C" in h.upper()]
    assert not bad, bad
    assert "\\." not in page.locator("[data-testid='stMain']").inner_text()
    shot(page, "ask-links")


def test_two_questions_sent_back_to_back_are_both_answered_and_saved(app_url, app_base, page):
    first = "How long do I have to respond to a refund request?"
    second = "How many serious IP infringements close a store?"
    page.goto(app_url)
    ask(page, first)
    page.wait_for_timeout(250)
    ask(page, second)
    wait_for_answers(page, 2)
    bubbles = page.locator("[data-testid='stChatMessage']")
    assert bubbles.nth(0).inner_text().strip().endswith(first)
    assert "5 days" in bubbles.nth(1).inner_text()
    assert bubbles.nth(2).inner_text().strip().endswith(second)
    assert re.search(r"\b(three|3) serious", bubbles.nth(3).inner_text(), re.I)
    shot(page, "ask-back-to-back")
    with sqlite3.connect(app_base / "data" / "app.sqlite") as db:
        rows = db.execute(
            "SELECT role, content FROM messages WHERE conversation_id = "
            "(SELECT conversation_id FROM messages WHERE content = ? ORDER BY id DESC LIMIT 1) "
            "ORDER BY id",
            (first,),
        ).fetchall()
    assert [r[0] for r in rows] == ["user", "assistant", "user", "assistant"]
    assert rows[0][1] == first and rows[2][1] == second


def test_six_sessions_at_once_each_get_their_own_answer(app_url, browser):
    questions = {
        "How long do I have to respond to a refund request?": "5 days",
        "How many serious IP infringements close a store?": "serious",
        "What must an EU product listing show under the GPSR?": "EU",
        "How long do I have to ship an order?": "ship",
        "Can I open more than one seller account?": "account",
        "What happens when a tracking number is invalid?": "tracking",
    }
    contexts = [browser.new_context(viewport={"width": 1366, "height": 900}) for _ in questions]
    pages = [context.new_page() for context in contexts]
    try:
        for page, question in zip(pages, questions, strict=True):
            page.goto(app_url)
            box = page.get_by_placeholder(CHAT_BOX, exact=False)
            expect(box).to_be_enabled(timeout=300_000)
            box.fill(question)
        for page in pages:  # all six sent within a few milliseconds
            page.get_by_placeholder(CHAT_BOX, exact=False).press("Enter")
        for page, (question, fact) in zip(pages, questions.items(), strict=True):
            wait_for_answers(page, 1)
            bubbles = page.locator("[data-testid='stChatMessage']")
            expect(bubbles).to_have_count(2)
            assert bubbles.nth(0).inner_text().strip().endswith(question)
            assert fact.lower() in bubbles.nth(1).inner_text().lower()
            main = page.locator("[data-testid='stMain']")
            for other in questions:  # no cross-talk (the welcome's example chips go too)
                if other != question:
                    expect(main).not_to_contain_text(other)
        shot(pages[0], "ask-six-sessions")
    finally:
        for context in contexts:
            context.close()
