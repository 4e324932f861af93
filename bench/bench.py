"""Benchmark: ingest throughput, warm `ask` latency and peak memory of a CLI `ask`.

Run with `make bench` (or `python bench/bench.py --json`). It prints figures; targets are
shown beside them but nothing here fails a build: timing belongs in a benchmark, not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from app.components.embeddings import load_embeddings, model_fingerprint  # noqa: E402
from app.components.retriever import HybridRetriever  # noqa: E402
from app.components.store import open_store  # noqa: E402
from app.services.answering import Assistant  # noqa: E402
from app.settings import Settings  # noqa: E402
from ingest.pipeline import run_ingest  # noqa: E402

QUESTIONS = [
    "How long does a seller have to respond to a buyer's refund request?",
    "What happens if I don't answer a dispute in time?",
    "When can a buyer open a dispute after shipping?",
    "How long does the buyer have to send a return back?",
    "What evidence do I need for an IP counter-notice?",
    "How many serious IP violations close a store?",
    "Which trademarks are restricted on AliExpress?",
    "What documents do I need to sell branded products?",
    "How long do IP penalty points stay on record?",
    "Can I appeal a dispute ruling?",
    "What is the capital of France?",
    "What does Free Return mean for sellers?",
]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def _variant(text: str, i: int, flatten: bool) -> str:
    """Copy i of a document: every sentence differs between copies, so no cache can flatter
    the figure; `flatten` drops headings so chunks fill up to the size limit."""
    text = re.sub(r"\.(\s)", rf" v{i}.\1", text)
    if flatten:
        body = re.sub(r"\A---.*?---\n", "", text, flags=re.S)
        text = " ".join(
            line.strip() for line in body.splitlines() if line.strip() and not line.startswith("#")
        )
    return text


def bench_ingest(embeddings, copies: int, flatten: bool) -> dict[str, float]:
    """Ingest `copies` variants of knowledge/ into a fresh store (model already loaded)."""
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        for i in range(copies):
            for source in (REPO / "knowledge").glob("*.md"):
                target = base / "kb" / f"copy{i}" / source.name
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(
                    _variant(source.read_text(encoding="utf-8"), i, flatten), encoding="utf-8"
                )
        settings = Settings(_env_file=None, knowledge_dir=base / "kb", data_dir=base / "data")
        store = open_store(settings, embeddings, model_fingerprint(settings.model_path))
        report = run_ingest(settings, store=store)
        data = store.collection.get(include=["documents"])
        tokenizer = embeddings._client.tokenizer
        tokens = [len(tokenizer(doc, verbose=False)["input_ids"]) for doc in data["documents"]]
        again = run_ingest(settings, store=store)
        return {
            "chunks": report.added,
            "seconds": report.seconds,
            "chunks_per_s": report.added / report.seconds,
            "mean_tokens_per_chunk": statistics.mean(tokens),
            "noop_rerun_seconds": again.seconds,
            "noop_rerun_embedded": again.added + again.updated,
        }


def bench_ask(embeddings, rounds: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        shutil.copytree(REPO / "knowledge", base / "kb")
        settings = Settings(_env_file=None, knowledge_dir=base / "kb", data_dir=base / "data")
        store = open_store(settings, embeddings, model_fingerprint(settings.model_path))
        run_ingest(settings, store=store)
        assistant = Assistant(settings, store, HybridRetriever(store))
        started = time.perf_counter()
        assistant.ask(QUESTIONS[0])
        first = time.perf_counter() - started
        timings: list[float] = []
        for _ in range(rounds):
            for question in QUESTIONS:
                t0 = time.perf_counter()
                assistant.ask(question)
                timings.append((time.perf_counter() - t0) * 1000)
        return {
            "first_ask_ms": first * 1000,
            "asks": len(timings),
            "p50_ms": statistics.median(timings),
            "p95_ms": percentile(timings, 0.95),
            "max_ms": max(timings),
        }


def bench_cli_memory() -> dict[str, float]:
    """Peak RSS of a whole `compliance ask` process, on the repo's own index."""
    env = {**os.environ, "CHROMA_HOST": ""}
    subprocess.run(
        [sys.executable, "-m", "app.cli", "ingest", "--json"],
        cwd=REPO,
        env=env,
        capture_output=True,
        check=True,
    )
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "app.cli", "ask", "--json", QUESTIONS[0]],
        cwd=REPO,
        env=env,
        capture_output=True,
        check=True,
    )
    seconds = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {"peak_rss_mb": peak_kib / 1024, "cold_cli_ask_s": seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--copies", type=int, default=3, help="copies of knowledge/ to ingest")
    parser.add_argument("--rounds", type=int, default=10, help="passes over the question list")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    memory = bench_cli_memory()  # first, so no other child inflates the peak
    t0 = time.perf_counter()
    embeddings = load_embeddings(Settings(_env_file=None))
    model_load = time.perf_counter() - t0
    results = {
        "machine": (
            f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
        ),
        "date": time.strftime("%Y-%m-%d"),
        "model_load_s": model_load,
        "ingest": bench_ingest(embeddings, args.copies, flatten=False),
        "ingest_full_chunks": bench_ingest(embeddings, args.copies, flatten=True),
        "ask": bench_ask(embeddings, args.rounds),
        "cli": memory,
    }
    if args.json:
        print(json.dumps(results, indent=2))
        return
    ing, ask, cli = results["ingest"], results["ask"], results["cli"]
    full = results["ingest_full_chunks"]
    rows = [
        (
            "ingest, full-size chunks",
            f"{full['chunks_per_s']:.1f} chunks/s "
            f"({full['chunks']} chunks, {full['mean_tokens_per_chunk']:.0f} tokens avg)",
            ">= 10",
        ),
        (
            "ingest, knowledge/ as is",
            f"{ing['chunks_per_s']:.1f} chunks/s "
            f"({ing['chunks']} chunks, {ing['mean_tokens_per_chunk']:.0f} tokens avg)",
            "",
        ),
        (
            "no-op re-ingest",
            f"{ing['noop_rerun_seconds']:.2f} s, {ing['noop_rerun_embedded']} embedded",
            "0 embedded",
        ),
        ("warm ask p50", f"{ask['p50_ms']:.1f} ms", "<= 50 ms"),
        ("warm ask p95", f"{ask['p95_ms']:.1f} ms", "<= 150 ms"),
        ("first ask after load", f"{ask['first_ask_ms']:.0f} ms", ""),
        ("model load", f"{results['model_load_s']:.1f} s", ""),
        ("CLI ask peak RSS", f"{cli['peak_rss_mb']:.0f} MB", "< 1536 MB"),
        ("CLI ask wall time (cold)", f"{cli['cold_cli_ask_s']:.1f} s", ""),
    ]
    print(f"Benchmark {results['date']} on {results['machine']}")
    width = max(len(r[0]) for r in rows)
    for name, value, target in rows:
        print(f"  {name:<{width}}  {value:<45} {('target ' + target) if target else ''}")


if __name__ == "__main__":
    main()
