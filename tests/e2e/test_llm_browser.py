"""The Settings page in a real browser: a wrong address fails the connection test with one
line, the real llama.cpp server passes it, and the chosen provider then streams a verified
answer on the Ask page, without the API key ever appearing on a page."""

from __future__ import annotations

import os
import re

from tests.conftest import LLM_KEY, free_port, stop_server
from tests.e2e.conftest import shot, start_app
from tests.e2e.test_ask_browser import ask, wait_for_answers


def test_settings_pick_test_and_use_a_provider(app_url, page, llm_server):
    page.goto(f"{app_url}/settings")
    page.get_by_text("Answer engine in use").wait_for(timeout=180_000)
    page.get_by_label("Engine").click()
    page.get_by_role("option", name=re.compile("OpenAI-compatible")).click()

    page.get_by_label("Endpoint URL").fill(f"http://127.0.0.1:{free_port()}/v1")
    page.get_by_label("Model name").fill("smollm2")
    page.get_by_role("textbox", name=re.compile("^API key")).fill(LLM_KEY)
    page.get_by_role("button", name="Test connection").click()
    page.get_by_text("could not be reached", exact=False).wait_for(timeout=60_000)
    shot(page, "20-settings-unreachable")

    page.get_by_label("Endpoint URL").fill(llm_server)
    page.get_by_label("Model name").press("Tab")
    page.get_by_role("button", name="Test connection").click()
    page.get_by_text("Connected to openai", exact=False).wait_for(timeout=60_000)
    shot(page, "21-settings-connected")
    page.get_by_role("button", name="Use for this session").click()
    page.get_by_text(re.compile(r"Answer engine in use: openai · smollm2")).wait_for()

    page.get_by_role("link", name="Ask").click()
    ask(page, "How long does a seller have to respond to a refund request?")
    wait_for_answers(page, 1)
    answer = page.locator("[data-testid='stChatMessage']").nth(1)
    answer.get_by_text("Written by openai", exact=False).or_(
        answer.get_by_text("Showing the quoted answer instead", exact=False)
    ).first.wait_for(timeout=90_000)
    text = answer.inner_text()
    assert "5 days" in text and re.search(r"\[1\]", text)
    shot(page, "22-llm-answer")
    assert LLM_KEY not in page.content()
    page.get_by_role("link", name="Settings").click()
    page.get_by_text("Answer engine in use").wait_for()
    assert LLM_KEY not in page.content()
    assert page.get_by_role("textbox", name=re.compile("^API key")).input_value() == ""

    # The same session's provider polishes a draft; the facts are checked either way.
    page.get_by_role("link", name="Draft a message").click()
    page.get_by_label("Order number").wait_for(timeout=60_000)
    page.get_by_label("Order number").fill("8123456789")
    page.get_by_label("Tracking number").fill("LP00123456789CN")
    page.get_by_text("Polish the wording with openai", exact=False).click()
    page.get_by_role("button", name="Draft the message").click()
    page.get_by_text("Reworded by openai", exact=False).or_(
        page.get_by_text("The LLM polish was not used", exact=False)
    ).first.wait_for(timeout=120_000)
    draft = page.get_by_label("Your draft (edit freely before sending)").input_value()
    assert "8123456789" in draft and "LP00123456789CN" in draft
    shot(page, "23-llm-polish")
    assert LLM_KEY not in page.content()


def test_a_bad_setting_is_named_on_the_page(page, tmp_path):
    env = {**os.environ, "LLM_PROVIDER": "gpt", "DATA_DIR": str(tmp_path / "data")}
    proc, url = start_app(env, tmp_path / "streamlit.log")
    try:
        page.goto(url)
        page.get_by_text("Invalid setting LLM_PROVIDER", exact=False).wait_for(timeout=60_000)
        assert "Traceback" not in page.content()
    finally:
        stop_server(proc)
