"""A real Streamlit server on a free loopback port and a real headless Chromium."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import KNOWLEDGE, REPO, free_port

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = REPO / "test-artifacts"


def _need_browser() -> None:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI") == "true":
            pytest.fail("Chromium is missing in CI: .ci/run must install the Debian package")
        pytest.skip("Debian chromium is not installed (apt-get install chromium)")


@pytest.fixture(scope="session")
def app_url(tmp_path_factory):
    """Start the app on a fresh data dir: it must index knowledge/ by itself on first run."""
    _need_browser()
    base = tmp_path_factory.mktemp("app")
    shutil.copytree(KNOWLEDGE, base / "kb")
    port = free_port()
    env = {
        **os.environ,
        "KNOWLEDGE_DIR": str(base / "kb"),
        "DATA_DIR": str(base / "data"),
        "CHROMA_HOST": "",
    }
    log = (base / "streamlit.log").open("w")
    started = time.perf_counter()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "app/ui/main.py",
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--server.headless",
            "true",
        ],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"{url}/_stcore/health", timeout=1)
            break
        except OSError:
            if proc.poll() is not None:
                pytest.fail((base / "streamlit.log").read_text())
            time.sleep(0.3)
    else:
        proc.kill()
        pytest.fail("streamlit did not start within 120 s")
    print(f"streamlit healthy after {time.perf_counter() - started:.1f} s")
    yield url
    proc.terminate()
    proc.wait(timeout=20)


@pytest.fixture(scope="session")
def browser():
    _need_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    yield page
    context.close()


def shot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
