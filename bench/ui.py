"""Browser benchmark of the app (`make bench-ui`): what a seller waits for, measured in Chromium.

Prints three figures on the index already in DATA_DIR (run `compliance ingest` first):
- restart to usable: from starting `streamlit run` to the page drawn (its title), to the Ask
  input taking text, and to the first answer shown after that;
- one warm answer: Enter to the answer's text on screen, one session at a time;
- six sellers at once: six sessions press Enter together; each one's Enter-to-answer time;
- self-inspection: an answer click to the progress count moving, finishing early to the
  report shown, and History's "Open report" to the report shown.
Nothing here fails a build: timing belongs in a benchmark, not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from playwright.async_api import Browser, Page, async_playwright

from app.settings import Settings
from tests.e2e.chromium import CHROMIUM_ARGS

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHAT_BOX = "Ask a rule question"
TITLE = "Ask about AliExpress rules"
ANSWERED = re.compile(r"\[\d+\]|does not cover")
QUESTIONS = [
    "How long do I have to respond to a refund request?",
    "How many serious IP infringements close a store?",
    "What must an EU product listing show under the GPSR?",
    "How long do I have to ship an order?",
    "Can I open more than one seller account?",
    "What happens when a tracking number is invalid?",
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_app(port: int, log: Path, extra_env: dict[str, str] | None = None) -> subprocess.Popen:
    command = [sys.executable, "-m", "streamlit", "run", "app/ui/main.py"]
    command += ["--server.port", str(port), "--server.address", "127.0.0.1"]
    command += ["--server.headless", "true", "--browser.gatherUsageStats", "false"]
    env = {**os.environ, "PYTHONPATH": str(REPO), "CHROMA_HOST": "", **(extra_env or {})}
    return subprocess.Popen(command, cwd=REPO, env=env, stdout=log.open("w"), stderr=log.open("a"))


async def open_page(
    browser: Browser, url: str, timeout_s: float = 180, drawn: list[float] | None = None
) -> Page:
    """A new session whose Ask input takes text (the server may still be starting); `drawn`
    gets the moment the page's title showed."""
    context = await browser.new_context(viewport={"width": 1366, "height": 900})
    page = await context.new_page()
    deadline = time.perf_counter() + timeout_s
    while True:
        try:
            await page.goto(url, timeout=5_000)
            break
        except Exception:  # connection refused while the server starts
            if time.perf_counter() > deadline:
                raise
            await asyncio.sleep(0.1)
    if drawn is not None:
        await page.get_by_text(TITLE).wait_for(timeout=timeout_s * 1000)
        drawn.append(time.perf_counter())
    box = page.get_by_placeholder(CHAT_BOX, exact=False)
    await box.wait_for(timeout=timeout_s * 1000)
    while not await box.is_enabled():  # shown but disabled while the model loads
        await asyncio.sleep(0.02)
    return page


async def ask(page: Page, question: str, answers_before: int = 0, typed: bool = False) -> float:
    """Seconds from Enter to the answer's text on screen."""
    box = page.get_by_placeholder(CHAT_BOX, exact=False)
    if not typed:
        await box.fill(question)
    started = time.perf_counter()
    await box.press("Enter")
    bubble = page.locator("[data-testid='stChatMessage']").nth(2 * answers_before + 1)
    await bubble.get_by_text(ANSWERED).first.wait_for(timeout=120_000)
    return time.perf_counter() - started


async def restart_to_usable(browser: Browser, log: Path) -> dict[str, float]:
    port = _free_port()
    started = time.perf_counter()
    proc = start_app(port, log)
    try:
        drawn: list[float] = []
        page = await open_page(browser, f"http://127.0.0.1:{port}", drawn=drawn)
        usable = time.perf_counter() - started
        first = await ask(page, QUESTIONS[0])
        await page.context.close()
        return {
            "drawn_s": drawn[0] - started,
            "usable_s": usable,
            "first_answer_s": first,
            "to_first_answer_s": usable + first,
        }
    finally:
        proc.terminate()
        proc.wait(timeout=30)


async def warm_and_concurrent(browser: Browser, log: Path, rounds: int) -> dict[str, object]:
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    proc = start_app(port, log)
    try:
        warmup = await open_page(browser, url)
        await ask(warmup, QUESTIONS[0])  # loads the model and index; not timed
        await warmup.context.close()
        singles = []
        for i in range(rounds):
            page = await open_page(browser, url)
            await asyncio.sleep(0.5)  # let the first render settle, as a person would
            singles.append(await ask(page, QUESTIONS[i % len(QUESTIONS)]))
            await page.context.close()
        six: list[list[float]] = []
        for _ in range(max(1, rounds // 2)):
            pages = await asyncio.gather(*(open_page(browser, url) for _ in QUESTIONS))
            for page, question in zip(pages, QUESTIONS, strict=True):
                await page.get_by_placeholder(CHAT_BOX, exact=False).fill(question)
            await asyncio.sleep(1.0)
            asks = (ask(p, q, typed=True) for p, q in zip(pages, QUESTIONS, strict=True))
            six.append(sorted(await asyncio.gather(*asks)))
            for page in pages:
                await page.context.close()
        return {"single_s": singles, "six_s": six}
    finally:
        proc.terminate()
        proc.wait(timeout=30)


async def _until(page: Page, text: str) -> float:
    started = time.perf_counter()
    await page.get_by_text(text, exact=False).first.wait_for(timeout=60_000)
    return time.perf_counter() - started


async def inspection(browser: Browser, log: Path, clicks: int = 6) -> dict[str, object]:
    """What a seller waits for in a self-inspection, on a copy of DATA_DIR (the bench's
    inspection stays out of the seller's history)."""
    port = _free_port()
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copytree(Settings().data_dir, f"{tmp}/data")
        proc = start_app(port, log, {"DATA_DIR": f"{tmp}/data"})
        try:
            page = await open_page(browser, f"http://127.0.0.1:{port}")
            await page.get_by_role("link", name="Self-inspection").click()
            await page.get_by_label("Store name").fill("Bench Shop")
            await page.get_by_role("button", name="Start inspection").click()
            radios = page.locator("[data-testid='stRadio']")
            await radios.first.wait_for(timeout=60_000)
            answer_clicks = []
            for n in range(min(clicks, await radios.count())):
                await asyncio.sleep(0.3)
                await radios.nth(n).get_by_text("Yes", exact=True).click()
                answer_clicks.append(await _until(page, f": {n + 1} of "))
            await page.get_by_role("button", name="Finish now and see report").click()
            await page.get_by_role("button", name="Yes, finish now").click()
            finish = await _until(page, "Action plan, highest risk first")
            await page.get_by_role("link", name="History").click()
            await page.get_by_role("button", name="Open report").click()
            reopen = await _until(page, "Action plan, highest risk first")
            await page.context.close()
            return {"answer_click_s": answer_clicks, "finish_s": finish, "open_report_s": reopen}
        finally:
            proc.terminate()
            proc.wait(timeout=30)


async def run(rounds: int, restarts: int) -> dict[str, object]:
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        with tempfile.TemporaryDirectory() as tmp:
            logs = Path(tmp)
            restart = [
                await restart_to_usable(browser, logs / f"r{i}.log") for i in range(restarts)
            ]
            timings = {}
            if rounds:
                timings = await warm_and_concurrent(browser, logs / "warm.log", rounds)
                timings["inspection"] = await inspection(browser, logs / "inspection.log")
        await browser.close()
    return {"restart": restart, **timings}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--rounds", type=int, default=4, help="single answers timed (six: half; 0: restarts only)"
    )
    parser.add_argument("--restarts", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results = asyncio.run(run(args.rounds, args.restarts))
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"UI benchmark {time.strftime('%Y-%m-%d %H:%M')} on {os.cpu_count()} cores, Chromium")
    for i, r in enumerate(results["restart"], 1):
        print(
            f"  restart {i}: page drawn {r['drawn_s']:.1f} s, Ask input usable "
            f"{r['usable_s']:.1f} s after server start; "
            f"first answer {r['first_answer_s']:.2f} s later ({r['to_first_answer_s']:.1f} s)"
        )
    if "single_s" not in results:
        return
    singles = results["single_s"]
    print(
        f"  one warm answer, Enter to text: median {statistics.median(singles):.2f} s "
        f"(runs: {', '.join(f'{s:.2f}' for s in singles)})   target <= 0.4 s"
    )
    for i, times in enumerate(results["six_s"], 1):
        print(
            f"  six sessions at once, round {i}: {', '.join(f'{s:.2f}' for s in times)} s; "
            f"all six within {max(times):.2f} s   target <= 1.5 s"
        )
    ins = results["inspection"]
    print(
        "  self-inspection: answer click to count updated "
        f"{', '.join(f'{s:.2f}' for s in ins['answer_click_s'])} s; finish early to report "
        f"{ins['finish_s']:.2f} s; History's Open report to report {ins['open_report_s']:.2f} s"
    )


if __name__ == "__main__":
    main()
