"""The newcomer's check in a real browser: the app started by `make run` shows a cited answer.

Runs from a separate tools venv (playwright is not a runtime dependency of the app)."""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.e2e.chromium import CHROMIUM_ARGS

QUESTION = "How long do I have to respond to a refund request?"


def main(url: str) -> int:
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=CHROMIUM_ARGS,
        )
        page = browser.new_page(viewport={"width": 1366, "height": 900})
        started = time.perf_counter()
        page.goto(url)
        box = page.get_by_placeholder("Ask a rule question", exact=False)
        box.wait_for(timeout=240_000)
        expect(box).to_be_enabled(timeout=240_000)  # off until the rulebook has loaded
        box.fill(QUESTION)
        box.press("Enter")
        answer = page.locator("[data-testid='stChatMessage']").nth(1)
        answer.get_by_text(re.compile(r"\[1\]")).first.wait_for(timeout=120_000)
        text = answer.inner_text()
        page.screenshot(path="test-artifacts/newcomer-app.png", full_page=True)
        browser.close()
    if "5 days" not in text:
        print(f"the app answered without the expected fact:\n{text}", file=sys.stderr)
        return 1
    print(f"app showed a cited answer {time.perf_counter() - started:.1f} s after opening")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
