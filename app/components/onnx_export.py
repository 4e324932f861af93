"""The ONNX copy of the local sentence-transformers model: exported once from the same weights,
kept in a cache folder, and trusted only while it still gives torch's vectors.

Exporting needs torch (and the `onnx` package); using the copy needs neither, which is the
point: a cold `compliance ask` never imports torch. The copy is written to a temporary name and
renamed into place, with a manifest beside it holding the model's digest, the files' sizes and
modification times and reference vectors computed by torch at export. A copy whose manifest,
files, loading or vectors disagree is damaged (or stale) and is exported again.

Run `python -m app.components.onnx_export` to prepare it ahead of time (`make install` does).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock

MODEL_FILE = "model.onnx"
# The weights sit beside the graph as raw external data: ONNX Runtime maps them from the file
# instead of parsing a 90 MB protobuf and copying it (about 85 MB less peak memory per process).
WEIGHTS_FILE = "model.onnx.data"
MANIFEST_FILE = "export.json"
FORMAT = 2  # bump when the export itself changes, so older copies are redone
# Reference texts whose torch vectors the copy must reproduce (short, long, non-English).
PROBES = (
    "How long does a seller have to respond to a buyer's refund request?",
    "Sellers must ship within the promised handling time. " * 12,
    "卖家需要在多少天内回复买家的退款申请？",
)
MIN_COSINE = 1 - 1e-5


class ExportError(RuntimeError):
    """The model cannot be run with ONNX Runtime (unsupported layout, export failed)."""


@dataclass(frozen=True)
class ModelLayout:
    """What the sentence-transformers folder asks for after the transformer."""

    max_length: int
    normalize: bool


def model_layout(model_path: Path) -> ModelLayout:
    """Mean pooling (plus optional Normalize) is what the ONNX embedder reproduces; any other
    pipeline is refused so the caller keeps torch rather than produce different vectors."""
    try:
        modules = json.loads((model_path / "modules.json").read_text())
        kinds = [m["type"].rsplit(".", 1)[-1] for m in modules]
        pooling_dir = next(m["path"] for m in modules if m["type"].endswith(".Pooling"))
        pooling = json.loads((model_path / pooling_dir / "config.json").read_text())
    except (OSError, ValueError, KeyError, StopIteration) as exc:
        raise ExportError(f"not a sentence-transformers folder with pooling ({exc})") from exc
    modes = {k for k, v in pooling.items() if k.startswith("pooling_mode") and v}
    if kinds[:2] != ["Transformer", "Pooling"] or kinds[2:] not in ([], ["Normalize"]):
        raise ExportError(f"modules {kinds} are not Transformer + mean Pooling (+ Normalize)")
    if modes != {"pooling_mode_mean_tokens"}:
        raise ExportError(f"pooling {sorted(modes)} is not mean pooling")
    try:
        config = json.loads((model_path / "sentence_bert_config.json").read_text())
        max_length = int(config["max_seq_length"])
    except (OSError, ValueError, KeyError):
        max_length = 256
    return ModelLayout(max_length=max_length, normalize=kinds[-1] == "Normalize")


def export_dir(cache_dir: Path, model_path: Path, digest: str) -> Path:
    """One copy per model folder: a copy of the weights elsewhere is exported from its own
    files, so damage there is found rather than hidden by another folder's good copy."""
    where = hashlib.sha256(str(model_path.resolve()).encode()).hexdigest()[:8]
    return cache_dir / f"{digest}-{where}"


def weights_state(model_path: Path) -> list[list]:
    """Name, size and modification time of the weights the copy was made from."""
    files = sorted(model_path.glob("*.safetensors")) + sorted(model_path.glob("*.bin"))
    return [[f.name, f.stat().st_size, f.stat().st_mtime_ns] for f in files]


def read_manifest(folder: Path) -> dict | None:
    try:
        manifest = json.loads((folder / MANIFEST_FILE).read_text())
    except (OSError, ValueError):
        return None
    return manifest if isinstance(manifest, dict) else None


def manifest_matches(folder: Path, model_path: Path, digest: str) -> dict | None:
    """The manifest, if it describes a complete copy of these weights as they are now, in this
    format (cheap: nothing is loaded; the caller still checks the vectors)."""
    manifest = read_manifest(folder)
    model = folder / MODEL_FILE
    if (
        manifest is None
        or manifest.get("format") != FORMAT
        or manifest.get("model_digest") != digest
        or manifest.get("weights") != weights_state(model_path)
        or not model.is_file()
        or _stats(folder) != manifest.get("files")
    ):
        return None
    return manifest


def export(model_path: Path, folder: Path, digest: str) -> dict:
    """Export the transformer to `folder`/model.onnx and write its manifest (atomically, under
    a lock so two processes never write one file). Returns the manifest."""
    folder.mkdir(parents=True, exist_ok=True)
    with FileLock(folder / ".export.lock"):
        done = manifest_matches(folder, model_path, digest)  # another process may have just made it
        if done is not None:
            return done
        layout = model_layout(model_path)
        sys.stderr.write(
            f"Preparing the ONNX copy of the embedding model in {folder} "
            "(once per model, about 10-20 s)…\n"
        )
        try:
            import torch  # only here: exporting is the one step that needs torch
            from transformers import AutoModel
            from transformers.utils import logging as hf_logging
        except ImportError as exc:
            raise ExportError(f"exporting needs torch and transformers ({exc})") from exc
        hf_logging.disable_progress_bar()
        try:
            model = AutoModel.from_pretrained(str(model_path), local_files_only=True).eval()
        except Exception as exc:  # damaged weights: safetensors and transformers raise many
            raise ExportError(f"the weights cannot be read ({type(exc).__name__})") from exc
        names = _input_names(model)
        # Before exporting: tracing leaves the module changed (its vectors drift by ~0.03).
        vectors = _torch_vectors(model, model_path, layout, names)

        class Hidden(torch.nn.Module):
            """Keyword inputs in, last hidden state out (transformers' positional order
            changes between releases)."""

            def __init__(self) -> None:
                super().__init__()
                self.model = model

            def forward(self, *inputs):
                return self.model(**dict(zip(names, inputs, strict=True))).last_hidden_state

        sample = torch.ones(2, 8, dtype=torch.long)
        axes = {name: {0: "batch", 1: "tokens"} for name in [*names, "last_hidden_state"]}
        staging = Path(tempfile.mkdtemp(dir=folder, prefix=".tmp-"))
        try:
            with torch.no_grad(), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                torch.onnx.export(
                    Hidden(),
                    tuple(sample for _ in names),
                    str(staging / "traced.onnx"),
                    input_names=names,
                    output_names=["last_hidden_state"],
                    dynamic_axes=axes,
                    opset_version=17,
                    dynamo=False,
                )
            _split_weights(staging / "traced.onnx", staging / MODEL_FILE)
            # The manifest is written last and checks both files, so a pair half replaced
            # by a crash here reads as damaged and is exported again.
            for name in (WEIGHTS_FILE, MODEL_FILE):
                os.replace(staging / name, folder / name)
        except Exception as exc:  # torch's exporter raises many types; one line for the user
            raise ExportError(f"ONNX export failed ({type(exc).__name__}: {exc})") from exc
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        manifest = {
            "format": FORMAT,
            "model_digest": digest,
            "weights": weights_state(model_path),
            "files": _stats(folder),
            "inputs": names,
            "max_length": layout.max_length,
            "normalize": layout.normalize,
            "probes": [list(map(float, v)) for v in vectors],
            "torch": torch.__version__,
        }
        _write_atomic(folder / MANIFEST_FILE, json.dumps(manifest))
        return manifest


def _split_weights(traced: Path, target: Path) -> None:
    import onnx

    graph = onnx.load(str(traced))
    onnx.save_model(
        graph,
        str(target),
        save_as_external_data=True,
        all_tensors_to_one_file=True,
        location=WEIGHTS_FILE,
        size_threshold=1024,
    )


def _stats(folder: Path) -> list[list[int]]:
    """Size and mtime of the graph and the weights: any write since the export shows, with
    no 90 MB hash on every start (damage that keeps both is left to the vector check)."""
    stats = []
    for name in (MODEL_FILE, WEIGHTS_FILE):
        try:
            stat = (folder / name).stat()
            stats.append([stat.st_size, stat.st_mtime_ns])
        except OSError:
            stats.append([-1, -1])
    return stats


def _input_names(model) -> list[str]:
    import inspect

    accepted = inspect.signature(model.forward).parameters
    return [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in accepted]


def _torch_vectors(model, model_path: Path, layout: ModelLayout, names: list[str]):
    """The probes' vectors as sentence-transformers computes them: the reference the ONNX
    copy is held to, now and on every load."""
    import torch
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(model_path), local_files_only=True)
    batch = tokenizer(
        [p.strip() for p in PROBES],
        padding=True,
        truncation=True,
        max_length=layout.max_length,
        return_tensors="pt",
    )
    with torch.no_grad():
        hidden = model(**{n: batch[n] for n in names if n in batch}).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
    vectors = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
    if layout.normalize:
        vectors = torch.nn.functional.normalize(vectors, p=2, dim=1)
    return vectors.numpy()


def _write_atomic(target: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, target)


def main() -> None:
    """Prepare the ONNX copy for the configured model (used by `make install`)."""
    from app.components.embeddings import ModelNotFoundError, load_embeddings
    from app.settings import Settings

    settings = Settings()
    if settings.embedding_backend != "onnx":
        print("EMBEDDING_BACKEND is not onnx: nothing to prepare.")
        return
    try:
        embeddings = load_embeddings(settings)
    except ModelNotFoundError as exc:
        sys.exit(f"Error: {exc}")
    print(f"Embedding model ready: {getattr(embeddings, 'describe', type(embeddings).__name__)}")


if __name__ == "__main__":
    main()
