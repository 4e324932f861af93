"""The app in a real browser: first-run indexing, a cited answer whose [1] opens its source, a
follow-up, the conversation found again in History after a reload, and an uploaded document
that answers the next question. Screenshots of each step land in test-artifacts/."""

from __future__ import annotations

import re
import time

from tests.e2e.conftest import shot

CHAT_BOX = "Ask a rule question"


def ask(page, question: str) -> float:
    box = page.get_by_placeholder(CHAT_BOX, exact=False)
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
    page.get_by_placeholder(CHAT_BOX, exact=False).wait_for(timeout=180_000)
    print(f"usable page after {time.perf_counter() - started:.1f} s (first run indexes knowledge/)")
    shot(page, "01-ready")

    t0 = ask(page, "How long does a seller have to respond to a buyer's refund request?")
    wait_for_answers(page, 1)
    print(f"answer visible {time.perf_counter() - t0:.2f} s after Enter")
    answer = page.locator("[data-testid='stChatMessage']").nth(1)
    assert "5 days" in answer.inner_text()
    shot(page, "02-answer")

    answer.get_by_role("link", name="[1]").first.click()  # jumps to the numbered source card
    card = page.get_by_text(re.compile(r"^\[1\] Disputes and refunds")).first
    card.wait_for()
    assert card.is_visible()
    href = page.get_by_role("link", name="Open public source").first.get_attribute("href")
    assert href and href.startswith("http")
    shot(page, "03-source")

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
    answer = page.locator("[data-testid='stChatMessage']").nth(1).inner_text()
    assert "three layers" in answer and "uploads/packing-policy.md" in answer
    shot(page, "08-answer-from-upload")
