"""Settings and the offline guarantees that depend on them."""

from __future__ import annotations

import re

from app.components.embeddings import model_fingerprint
from app.settings import Settings, bundled_model_path
from tests.conftest import REPO


def test_env_example_documents_every_setting():
    """Every knob, nested ones as PARENT__CHILD, appears in .env.example and nothing else."""
    documented = set(re.findall(r"^([A-Z_]+)=", (REPO / ".env.example").read_text(), re.M))
    fields = set()
    for name, info in Settings.model_fields.items():
        nested = getattr(info.annotation, "model_fields", None)
        if nested:
            fields |= {f"{name}__{child}".upper() for child in nested}
        else:
            fields.add(name.upper())
    assert fields == documented
    example = Settings(_env_file=REPO / ".env.example")
    assert example.evidence == Settings(_env_file=None).evidence  # documented = the defaults


def test_env_file_and_environment_are_read(tmp_path, monkeypatch):
    env_file = tmp_path / ".env"
    env_file.write_text("RETRIEVAL_K=7\nCHROMA_HOST=\n")
    monkeypatch.setenv("REFUSAL_THRESHOLD", "0.5")
    settings = Settings(_env_file=env_file)
    assert settings.retrieval_k == 7 and settings.refusal_threshold == 0.5
    assert settings.chroma_host is None


def test_default_model_is_the_bundled_one():
    settings = Settings(_env_file=None)
    assert settings.model_path == bundled_model_path()
    assert (settings.model_path / "model.safetensors").is_file()
    assert model_fingerprint(settings.model_path).startswith("all-MiniLM-L6-v2@")


def test_store_is_offline_and_has_no_default_embedding_function(tmp_settings, store_for):
    import os
    import subprocess
    import sys

    # tests/conftest.py sets these variables itself, so only a fresh process without them
    # shows that importing the app is what makes it offline.
    unset = {"HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "ANONYMIZED_TELEMETRY"}
    fresh = subprocess.run(
        [
            sys.executable,
            "-c",
            "import app.settings, os; "
            "print(os.environ.get('HF_HUB_OFFLINE'), os.environ.get('ANONYMIZED_TELEMETRY'))",
        ],
        cwd=REPO,
        env={k: v for k, v in os.environ.items() if k not in unset},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert fresh.returncode == 0, fresh.stderr
    assert fresh.stdout.strip() == "1 False", fresh.stdout + fresh.stderr

    store = store_for(tmp_settings)
    assert store.client.get_settings().anonymized_telemetry is False
    assert store.collection._embedding_function is None
    assert store.collection.configuration["hnsw"]["space"] == "cosine"
