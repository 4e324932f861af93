"""The embedding model on ONNX Runtime behind LangChain's `Embeddings` interface.

Tokenises with the model's own `tokenizer.json` (the Rust `tokenizers` package), runs the
exported transformer, then mean-pools and L2-normalises exactly as sentence-transformers does,
so its vectors are torch's to float precision and an index built by either answers with the
other. Importing this module does not import torch.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from langchain_core.embeddings import Embeddings

from app.components.onnx_export import (
    MANIFEST_FILE,
    MIN_COSINE,
    MODEL_FILE,
    PROBES,
    WEIGHTS_FILE,
    ExportError,
    export,
    export_dir,
    manifest_matches,
)

# Tokens (padding included) per ONNX Runtime call, and how much longer than a batch's first
# text a later one may be. Measured on an ingest's mix of 250-token chunks and 25-token
# sentences: fixed 32-text batches padded short sentences up to a chunk's length and took 31 s;
# these bounds take 15 s on the same texts (2 cores), smaller batches being cache-friendlier.
RUN_TOKENS = 1024
RUN_SPREAD = 1.3


class OnnxEmbeddings(Embeddings):
    """Normalised sentence vectors from an exported MiniLM-style model."""

    backend = "onnx"

    def __init__(
        self,
        model_path: Path,
        onnx_file: Path,
        manifest: dict,
        threads: int = 0,
    ) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or os.cpu_count() or 1
        options.inter_op_num_threads = 1
        # Idle workers sleep instead of spinning: a spinning worker took the core the rest of
        # an ask runs on, and a warm ask took 24.5 ms instead of 12.8 (mean of 116 English
        # questions, 2 cores); ingest throughput is the same either way.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3  # its warnings are about the graph, not for sellers
        self.session = ort.InferenceSession(
            str(onnx_file), options, providers=["CPUExecutionProvider"]
        )
        self.inputs = [i.name for i in self.session.get_inputs()]
        self.tokenizer = Tokenizer.from_file(str(model_path / "tokenizer.json"))
        self.tokenizer.no_padding()  # padded per batch below, to the batch's longest text
        self.tokenizer.enable_truncation(int(manifest["max_length"]))
        self.normalize = bool(manifest.get("normalize", True))
        self.describe = f"ONNX Runtime ({onnx_file})"

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embed_array(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embed_array([text])[0].tolist()

    def embed_array(self, texts: list[str]) -> np.ndarray:
        """Vectors as one float32 array, in the order of `texts`."""
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        # sentence-transformers strips each text before tokenising; so do we.
        encoded = self.tokenizer.encode_batch([t.strip() for t in texts])
        out: np.ndarray | None = None
        for picked in length_batches([len(e.ids) for e in encoded]):
            vectors = self._run([encoded[i] for i in picked])
            if out is None:
                out = np.empty((len(texts), vectors.shape[1]), dtype=np.float32)
            out[picked] = vectors
        return out

    def _run(self, encodings) -> np.ndarray:
        width = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(encodings), width), dtype=np.int64)
        mask = np.zeros_like(ids)
        types = np.zeros_like(ids)
        for row, e in enumerate(encodings):
            ids[row, : len(e.ids)] = e.ids
            mask[row, : len(e.ids)] = e.attention_mask
            types[row, : len(e.ids)] = e.type_ids
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
        hidden = self.session.run(None, {name: feeds[name] for name in self.inputs})[0]
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        if self.normalize:
            norms = np.linalg.norm(pooled, axis=1, keepdims=True)
            pooled = pooled / np.clip(norms, 1e-12, None)
        return pooled.astype(np.float32)

    def reproduces(self, reference: list[list[float]]) -> bool:
        """True when the probe texts come out as torch computed them at export."""
        ours = self.embed_array(list(PROBES))
        ref = np.asarray(reference, dtype=np.float32)
        if ref.shape != ours.shape:
            return False
        cosine = (ours * ref).sum(1) / (
            np.linalg.norm(ours, axis=1) * np.linalg.norm(ref, axis=1) + 1e-12
        )
        return bool((cosine >= MIN_COSINE).all())


def length_batches(lengths: list[int]) -> list[list[int]]:
    """Indices grouped shortest first so that each group pads little and stays within
    RUN_TOKENS (a text longer than that runs alone)."""
    batches: list[list[int]] = []
    batch: list[int] = []
    first = 0
    for i in sorted(range(len(lengths)), key=lengths.__getitem__):
        n = lengths[i]
        if batch and ((len(batch) + 1) * n > RUN_TOKENS or n > first * RUN_SPREAD):
            batches.append(batch)
            batch = []
        if not batch:
            first = n
        batch.append(i)
    if batch:
        batches.append(batch)
    return batches


def load_onnx_embeddings(
    model_path: Path, digest: str, cache_dir: Path, threads: int = 0
) -> OnnxEmbeddings:
    """The ONNX embedder for this model, exporting it first if there is no sound copy.

    A copy that fails to load or no longer gives torch's vectors is exported again, once; if
    even a fresh export does not match, ExportError says so and the caller keeps torch."""
    folder = export_dir(cache_dir, model_path, digest)
    manifest = manifest_matches(folder, model_path, digest)
    for _ in range(2):
        if manifest is None:
            manifest = export(model_path, folder, digest)
        try:
            embedder = OnnxEmbeddings(model_path, folder / MODEL_FILE, manifest, threads)
            if embedder.reproduces(manifest["probes"]):
                return embedder
        except Exception:  # onnxruntime raises its own types for a damaged file
            pass
        for name in (MANIFEST_FILE, MODEL_FILE, WEIGHTS_FILE):  # damaged: export again
            (folder / name).unlink(missing_ok=True)
        manifest = None
    raise ExportError("a fresh ONNX export does not reproduce the torch model's vectors")
