"""Chroma server mode against a real `chroma run` started here on a free loopback port."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from ingest.pipeline import run_ingest
from tests.conftest import KNOWLEDGE, free_port, make_settings, start_server, stop_server


@pytest.fixture
def chroma_server(tmp_path):
    binary = shutil.which("chroma") or str(Path(sys.executable).with_name("chroma"))
    port = free_port()
    proc = start_server(
        [
            binary,
            "run",
            "--path",
            str(tmp_path / "server-db"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        f"http://127.0.0.1:{port}/api/v2/heartbeat",
        tmp_path / "chroma.log",
        timeout=60,
    )
    yield port
    stop_server(proc)


@pytest.mark.server
def test_ingest_and_ask_through_a_chroma_server(tmp_path, chroma_server, store_for, assistant_for):
    settings = make_settings(tmp_path, chroma_host="127.0.0.1", chroma_port=chroma_server)
    shutil.copytree(KNOWLEDGE, settings.knowledge_dir, dirs_exist_ok=True)
    store = store_for(settings)
    assert type(store.client).__name__ != "PersistentClient"
    first = run_ingest(settings, store=store)
    assert first.added == first.chunks_total > 0
    again = run_ingest(settings, store=store)
    assert again.added == 0 and again.unchanged == first.chunks_total
    assert not (settings.data_dir / "chroma").exists()  # vectors live on the server only

    assistant = assistant_for(settings)
    answer = assistant.ask("How many days does a seller have to answer a refund request?")
    assert not answer.refused and "5 days" in answer.text
    assert answer.citations[0].source == "disputes-and-refunds.md"
