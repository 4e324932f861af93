"""A real Streamlit server on a free loopback port and a real headless Chromium."""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import KNOWLEDGE, REPO, free_port, start_server, stop_server
from tests.e2e.chromium import CHROMIUM_ARGS

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = REPO / "test-artifacts"


def _need_browser() -> None:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI") == "true":
            pytest.fail("Chromium is missing in CI: .ci/run must install the Debian package")
        pytest.skip("Debian chromium is not installed (apt-get install chromium)")


def start_app(env: dict[str, str], log: Path):
    """`streamlit run` the app on a free loopback port; the process and its URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "streamlit", "run", "app/ui/main.py"]
    command += ["--server.port", str(port), "--server.address", "127.0.0.1"]
    proc = start_server(
        [*command, "--server.headless", "true"],
        f"{url}/_stcore/health",
        log,
        cwd=REPO,
        env=env,
    )
    return proc, url


@pytest.fixture(scope="session")
def app_base(tmp_path_factory) -> Path:
    """The app's folder: kb/ (its knowledge/) and data/ (index and app.sqlite)."""
    return tmp_path_factory.mktemp("app")


@pytest.fixture(scope="session")
def app_url(app_base):
    """Start the app on a fresh data dir: it must index knowledge/ by itself on first run."""
    _need_browser()
    base = app_base
    shutil.copytree(KNOWLEDGE, base / "kb")
    env = {
        **os.environ,
        "KNOWLEDGE_DIR": str(base / "kb"),
        "DATA_DIR": str(base / "data"),
        "CHROMA_HOST": "",
    }
    started = time.perf_counter()
    proc, url = start_app(env, base / "streamlit.log")
    print(f"streamlit healthy after {time.perf_counter() - started:.1f} s")
    yield url
    stop_server(proc)


@pytest.fixture(scope="session")
def browser():
    _need_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=CHROMIUM_ARGS,
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
