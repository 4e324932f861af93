"""Settings and the offline guarantees that depend on them."""

from __future__ import annotations

import re

from app.components.embeddings import model_fingerprint
from app.settings import Settings, bundled_model_path
from tests.conftest import REPO


def test_env_example_documents_every_setting():
    documented = set(re.findall(r"^([A-Z_]+)=", (REPO / ".env.example").read_text(), re.M))
    fields = {name.upper() for name in Settings.model_fields}
    assert fields == documented


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

    store = store_for(tmp_settings)
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    assert store.client.get_settings().anonymized_telemetry is False
    assert store.collection._embedding_function is None
    assert store.collection.configuration["hnsw"]["space"] == "cosine"
