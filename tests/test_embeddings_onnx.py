"""The fast start: the model on ONNX Runtime gives torch's vectors, its export is reused and
redone when damaged, the light commands import no model runtime, and ingest reads only files
that changed and embeds each distinct text once."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from langchain_core.embeddings import Embeddings

import ingest.pipeline as pipeline
from app.components.embeddings import load_embeddings
from app.components.onnx_embeddings import RUN_TOKENS, OnnxEmbeddings, length_batches
from app.components.onnx_export import MANIFEST_FILE, MODEL_FILE, WEIGHTS_FILE
from app.components.retrieval import SentenceVectors, source_sentences
from app.components.retriever import passage_from
from app.components.text import split_sentences, without_references
from app.settings import Settings
from ingest.pipeline import run_ingest
from tests.conftest import KNOWLEDGE, REPO, cli_env, write

QUESTION = "How long does a seller have to respond to a buyer's refund request?"
RUNTIMES = ("torch", "sentence_transformers", "transformers", "onnxruntime")


def _real_texts() -> list[str]:
    paragraphs = [
        p.strip()
        for path in sorted(KNOWLEDGE.glob("*.md"))
        for p in path.read_text(encoding="utf-8").split("\n\n")
        if p.strip()
    ]
    long_text = " ".join(paragraphs)[:4000]  # past the 256 tokens the model reads
    return [*paragraphs[::4], QUESTION, "  padded  ", "退款申请多久要回复？", long_text]


def test_onnx_vectors_match_torch(embeddings):
    """An index built by either runtime stays valid under the other."""
    assert isinstance(embeddings, OnnxEmbeddings)
    torch_model = load_embeddings(Settings(_env_file=None, embedding_backend="torch"))
    texts = _real_texts()
    ours = np.asarray(embeddings.embed_documents(texts))
    theirs = np.asarray(torch_model.embed_documents(texts))
    assert ours.shape == theirs.shape == (len(texts), 384)
    cosine = (ours * theirs).sum(1) / np.linalg.norm(ours, axis=1) / np.linalg.norm(theirs, axis=1)
    assert cosine.min() >= 1 - 1e-5
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    query = np.asarray(embeddings.embed_query(QUESTION))
    assert float(query @ np.asarray(torch_model.embed_query(QUESTION))) >= 1 - 1e-5


def test_batches_pad_little_and_a_vector_does_not_depend_on_its_batch(embeddings):
    """Ingest mixes 250-token chunks with 25-token sentences: each runs with texts of its own
    length, and what shares its batch does not change its vector."""
    texts = _real_texts()
    lengths = [len(e.ids) for e in embeddings.tokenizer.encode_batch(texts)]
    batches = length_batches(lengths)
    assert sorted(i for b in batches for i in b) == list(range(len(texts)))
    for batch in batches:
        widest = max(lengths[i] for i in batch)
        assert len(batch) == 1 or len(batch) * widest <= RUN_TOKENS
        assert widest <= 1.3 * min(lengths[i] for i in batch)
    together = embeddings.embed_array(texts)
    alone = np.stack([embeddings.embed_array([t])[0] for t in texts])
    assert np.abs(together - alone).max() < 1e-5


@pytest.mark.slow
def test_export_is_reused_and_a_damaged_export_is_redone(tmp_path, embeddings):
    settings = Settings(_env_file=None, embedding_cache_dir=tmp_path / "onnx")
    first = load_embeddings(settings)
    assert isinstance(first, OnnxEmbeddings)
    (folder,) = (tmp_path / "onnx").iterdir()
    weights = folder / WEIGHTS_FILE
    exported = (weights.stat().st_ino, weights.stat().st_mtime_ns)
    reference = np.asarray(embeddings.embed_query(QUESTION))

    load_embeddings(settings)  # a sound copy is used as it is
    assert (weights.stat().st_ino, weights.stat().st_mtime_ns) == exported

    size = weights.stat().st_size  # same size, other bytes
    with weights.open("r+b") as handle:
        handle.seek(size // 2)
        handle.write(os.urandom(4096))
    again = load_embeddings(settings)
    assert isinstance(again, OnnxEmbeddings)
    assert weights.stat().st_ino != exported[0]  # written anew, by rename
    assert float(np.asarray(again.embed_query(QUESTION)) @ reference) >= 1 - 1e-5

    # Damage that keeps size and mtime (bit rot): the probe vectors tell.
    stat = weights.stat()
    with weights.open("r+b") as handle:
        handle.seek(stat.st_size - (1 << 20))  # the last layers' weights
        handle.write(os.urandom(1 << 20))
    os.utime(weights, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    load_embeddings(settings)
    assert weights.stat().st_ino != stat.st_ino

    (folder / MANIFEST_FILE).write_text("{not json")  # a half-written manifest: same story
    (folder / MODEL_FILE).write_bytes(b"")
    load_embeddings(settings)
    manifest = json.loads((folder / MANIFEST_FILE).read_text())
    assert [size for size, _ in manifest["files"]] == [
        (folder / MODEL_FILE).stat().st_size,
        weights.stat().st_size,
    ]


def _runtimes_after(
    args: list[str], env: dict[str, str], modules: tuple[str, ...] = RUNTIMES
) -> list[str]:
    """Run `compliance ARGS` in a fresh interpreter; which of `modules` (by default the model
    runtimes) it imported."""
    probe = (
        "import json, sys, runpy\n"
        f"sys.argv = ['compliance', *{args!r}]\n"
        "try:\n"
        "    runpy.run_module('app.cli', run_name='__main__')\n"
        "except SystemExit as exit:\n"
        "    assert not exit.code, exit.code\n"
        f"print('RUNTIMES', json.dumps(sorted(m for m in {modules!r} if m in sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    line = next(x for x in result.stdout.splitlines() if x.startswith("RUNTIMES"))
    return json.loads(line.removeprefix("RUNTIMES "))


# What only ingest or an LLM needs: LangChain's vector-store wrapper, record manager (and the
# SQLAlchemy under it), cache classes and chat stack, and the tracing they pull in. A cold
# `ask` is mostly imports, so answering leaves these out.
WRITE_PATH = (
    "langchain_chroma",
    "langchain_classic",
    "sqlalchemy",
    "langsmith.run_trees",
    "langchain_core.language_models.chat_models",
    "langchain_core.prompts",
)


def test_light_commands_load_no_model_and_ask_imports_only_what_answering_needs(
    kb_settings, assistant
):
    env = cli_env(kb_settings)
    for args in (["--help"], ["inspect", "--list"], ["draft", "--list-types"]):
        assert _runtimes_after(args, env) == [], args
    loaded = _runtimes_after(["ask", "--json", QUESTION], env, RUNTIMES + WRITE_PATH)
    assert loaded == ["onnxruntime"]


def test_answering_runs_numpy_products_on_one_blas_thread(assistant):
    """OpenBLAS splitting a question-by-1,245-questions product over both cores made a warm
    ask wait on the other core; once answering is built, numpy's BLAS runs one thread and
    ONNX Runtime keeps its own pool."""
    from threadpoolctl import threadpool_info

    assistant.ask("How long do I have to respond to a dispute?")
    blas = [pool for pool in threadpool_info() if pool["user_api"] == "blas"]
    assert blas and all(pool["num_threads"] == 1 for pool in blas)
    assert assistant.retrieval.embeddings.session.get_session_options().intra_op_num_threads == (
        os.cpu_count() or 1
    )


def _kb(settings) -> None:
    shared = "Keep the courier's receipt for 90 days. "
    for n, topic in enumerate(("returns", "shipping", "labels")):
        body = "\n\n".join(
            f"## Part {i}\n\nFor {topic}, rule {i} asks the seller to keep record {i} for "
            f"{30 + i} days. {shared}Losing record {i} breaks the {topic} policy.\n"
            f"Source: https://example.com/{topic}/{i} (official, 2024-0{i + 1}-01)"
            for i in range(4)
        )
        write(settings.knowledge_dir / f"{n}-{topic}.md", f"# {topic.title()}\n\n{body}\n")


def test_freshness_reads_only_what_changed(tmp_settings, store_for, monkeypatch):
    _kb(tmp_settings)
    store = store_for(tmp_settings)
    first = run_ingest(tmp_settings, store=store)
    assert first.files_read == 3 and first.added > 0

    opened: list[str] = []
    real_load = pipeline.load_file

    def spy(path, max_bytes):
        opened.append(path.name)
        return real_load(path, max_bytes)

    monkeypatch.setattr(pipeline, "load_file", spy)
    unchanged = run_ingest(tmp_settings, store=store)
    assert opened == [] and unchanged.unchanged == first.added
    assert (unchanged.added, unchanged.updated, unchanged.files_read) == (0, 0, 3)

    touched = tmp_settings.knowledge_dir / "1-shipping.md"
    os.utime(touched)  # new mtime, same bytes: hashed, not re-read or re-embedded
    again = run_ingest(tmp_settings, store=store)
    assert opened == [] and again.added == 0 and not again.changed_sources

    touched.write_text(touched.read_text().replace("rule 2 asks", "rule 2 now asks"))
    changed = run_ingest(tmp_settings, store=store)
    assert opened == ["1-shipping.md"]
    assert changed.changed_sources == {"1-shipping.md": "updated"} and changed.added == 1

    # Same size and mtime, other bytes: the documented blind spot, which --rebuild closes.
    stat = touched.stat()
    text = touched.read_text()
    touched.write_text(text.replace("rule 3 asks", "rule 3 begs"))
    os.utime(touched, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert run_ingest(tmp_settings, store=store).added == 0
    run_ingest(tmp_settings, store=store, rebuild=True)
    stored = store.collection.get(where={"source": "1-shipping.md"}, include=["documents"])
    assert any("rule 3 begs" in doc for doc in stored["documents"])

    # A document taken out of the index is read again, whatever the record says.
    pipeline.remove_document(store, "0-returns.md")
    opened.clear()
    back = run_ingest(tmp_settings, store=store)
    assert opened == ["0-returns.md"] and back.changed_sources == {"0-returns.md": "added"}


class Counting(Embeddings):
    """The real embedder, counting what it is asked to embed."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.texts: list[str] = []

    def embed_documents(self, texts):
        self.texts.extend(texts)
        return self.inner.embed_documents(texts)

    def embed_query(self, text):
        self.texts.append(text)
        return self.inner.embed_query(text)


def test_ingest_embeds_each_distinct_text_once(tmp_settings, embeddings):
    from app.components.embeddings import model_fingerprint
    from app.components.store import open_store

    _kb(tmp_settings)
    counting = Counting(embeddings)
    store = open_store(tmp_settings, counting, model_fingerprint(tmp_settings.model_path))
    run_ingest(tmp_settings, store=store)
    chunks = store.collection.get(include=["documents"])["documents"]
    quotable = {s.text for c in chunks for s in source_sentences(passage_from("c", c, {}))}
    references = {s.text for c in chunks for s in split_sentences(c)} - quotable
    assert references and all(r.startswith("Source: https://example.com/") for r in references)
    assert len(counting.texts) == len(set(counting.texts))  # nothing embedded twice
    headings = {c.partition("\n")[0].removeprefix("# ") for c in chunks}
    assert set(counting.texts) == quotable | headings  # never a "Source:" line, no chunk whole

    counting.texts.clear()  # answering finds every sentence in the cache
    SentenceVectors(tmp_settings, counting)(sorted(quotable))
    assert counting.texts == []


def test_sentence_vectors_cached_by_langchain_are_read_as_they_are(tmp_settings, embeddings):
    """The sentence cache keeps the files LangChain's CacheBackedEmbeddings wrote (answering
    no longer imports it), so a data folder cached before embeds nothing again, and the
    other way round."""
    from langchain_classic.embeddings import CacheBackedEmbeddings
    from langchain_classic.storage import LocalFileStore

    from app.components.embeddings import model_fingerprint, sentence_embedder

    namespace = model_fingerprint(tmp_settings.model_path).replace("@", "_")
    langchain = CacheBackedEmbeddings.from_bytes_store(
        Counting(embeddings),
        LocalFileStore(tmp_settings.data_dir / "sentence-cache"),
        namespace=namespace,
        key_encoder="sha256",
    )
    old, new = ["Refunds take 5 days.", "Ship within 7 days."], ["Keep receipts 90 days."]
    written = langchain.embed_documents(old)

    counting = Counting(embeddings)
    ours = sentence_embedder(tmp_settings, counting)
    assert ours.embed_documents(old) == written and counting.texts == []
    assert ours.embed_documents(new) and counting.texts == new
    langchain.underlying_embeddings.texts.clear()
    assert langchain.embed_documents(new) == ours.embed_documents(new)
    assert langchain.underlying_embeddings.texts == []


def _composed(embeddings, chunk: str, count) -> np.ndarray:
    """The recipe, written out: the token-weighted mean of the heading path (three times its
    tokens) and each quotable sentence, normalised."""
    heading, _, _ = chunk.partition("\n")
    heading = heading.removeprefix("# ")
    sentences = [s.text for s in source_sentences(passage_from("c", chunk, {}))]
    vectors = embeddings.embed_array([heading, *sentences])
    weights = np.array([3 * count(heading), *(count(s) for s in sentences)], dtype=float)
    mean = (weights[:, None] * vectors).sum(axis=0)
    return mean / np.linalg.norm(mean)


def test_chunk_vectors_are_composed_from_their_sentences_and_an_older_index_is_updated(
    tmp_settings, store_for, embeddings
):
    """A chunk's vector is composed from its heading's and quotable sentences' vectors, so no
    "Source: https://..." address enters it and no chunk is run through the model whole; an
    index whose vectors were computed another way is re-embedded in place by the next ingest,
    once."""
    from app.components.embeddings import token_budget
    from app.components.store import CHUNK_RECIPE, RECIPE_KEY

    _kb(tmp_settings)
    store = store_for(tmp_settings)
    run_ingest(tmp_settings, store=store)
    data = store.collection.get(include=["documents", "embeddings"])
    docs, stored = data["documents"], np.asarray(data["embeddings"])
    assert all("Source: https://" in d for d in docs)
    count = token_budget(tmp_settings.model_path)[0]
    expected = np.stack([_composed(embeddings, d, count) for d in docs])
    assert np.abs(stored - expected).max() < 1e-4
    whole = embeddings.embed_array([without_references(d) for d in docs])
    cosines = (whole * stored).sum(axis=1)  # near the vector of the text itself
    assert cosines.min() > 0.8 and np.abs(stored - whole).max() > 1e-3

    # as an index built before the recipe: vectors of the whole text, no recipe recorded
    store.collection.update(ids=data["ids"], embeddings=embeddings.embed_array(docs).tolist())
    metadata = dict(store.collection.metadata)
    metadata.pop(RECIPE_KEY)
    store.collection.modify(metadata=metadata)
    assert store.older_recipe()
    notices: list[str] = []
    report = run_ingest(tmp_settings, store=store, notice=notices.append)
    assert report.ok and report.added == report.updated == report.deleted == 0
    assert any("older text recipe" in n for n in notices)
    again = store.collection.get(ids=data["ids"], include=["embeddings"])
    assert np.abs(np.asarray(again["embeddings"]) - expected).max() < 1e-4
    assert store.collection.metadata[RECIPE_KEY] == CHUNK_RECIPE and not store.older_recipe()
    notices.clear()
    run_ingest(tmp_settings, store=store, notice=notices.append)
    assert notices == []  # once


def test_a_chunk_with_a_table_is_embedded_whole(tmp_settings, store_for, embeddings):
    """Table rows are not sentences, so a chunk holding one keeps its whole text's vector
    rather than losing the rows from it."""
    write(
        tmp_settings.knowledge_dir / "fees.md",
        "# Fees\n\n## Withdrawal fees\n\nWithdrawals cost a flat fee per transfer.\n\n"
        "| currency | fee |\n|---|---|\n| USD | 15 USD |\n| RMB | free |\n"
        "Source: https://example.com/fees (official, 2024-01-01)\n\n"
        "## Deposits\n\nA deposit is frozen while the store is open and released after it "
        "closes.\nSource: https://example.com/deposits (official, 2024-01-01)\n",
    )
    store = store_for(tmp_settings)
    run_ingest(tmp_settings, store=store)
    data = store.collection.get(include=["documents", "embeddings"])
    (table,) = [d for d in data["documents"] if "| USD |" in d]
    (prose,) = [d for d in data["documents"] if "deposit is frozen" in d]
    vectors = dict(zip(data["documents"], np.asarray(data["embeddings"]), strict=True))
    whole = embeddings.embed_array([without_references(table), without_references(prose)])
    assert np.abs(vectors[table] - whole[0]).max() < 1e-4
    assert np.abs(vectors[prose] - whole[1]).max() > 1e-3  # composed from its sentences
