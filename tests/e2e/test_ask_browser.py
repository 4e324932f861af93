"""The Ask page in a real browser: first-run indexing, a cited answer, a follow-up."""

from __future__ import annotations

import time

from tests.e2e.conftest import shot


def ask(page, question: str) -> None:
    box = page.get_by_placeholder("Ask a rule question", exact=False)
    box.fill(question)
    box.press("Enter")


def test_ask_answer_with_source_and_follow_up(app_url, page):
    page.goto(app_url)
    page.get_by_placeholder("Ask a rule question", exact=False).wait_for(timeout=180_000)
    shot(page, "ask-01-ready")

    started = time.perf_counter()
    ask(page, "How long does a seller have to respond to a buyer's refund request?")
    answer = page.locator("[data-testid='stChatMessage']").nth(1)
    answer.get_by_text("5 days", exact=False).first.wait_for(timeout=60_000)
    print(f"answer visible after {time.perf_counter() - started:.2f} s")
    assert "[1]" in answer.inner_text()
    shot(page, "ask-02-answer")

    source = answer.get_by_text("[1]", exact=False).last
    page.locator("[data-testid='stExpander'] summary").first.click()
    page.get_by_text("A seller has 5 days to accept or reject", exact=False).last.wait_for()
    assert page.get_by_role("link", name="Open public source").first.get_attribute("href")
    assert source.is_visible()
    shot(page, "ask-03-source-open")

    ask(page, "and if I miss it?")
    reply = page.locator("[data-testid='stChatMessage']").nth(3)
    reply.get_by_text("[1]", exact=False).first.wait_for(timeout=60_000)
    assert "does not cover" not in reply.inner_text()
    shot(page, "ask-04-follow-up")
