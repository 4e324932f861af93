"""Benchmark: ingest throughput, warm `ask` latency and peak memory of a CLI `ask`.

Run with `make bench` (or `python -m bench.run --json`). It prints figures; targets are
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

from app.components.embeddings import load_embeddings, model_fingerprint
from app.components.store import open_store
from app.container import build
from app.services.evaluation import document_reader, evaluate, load_questions
from app.settings import Settings
from bench.baseline import NaiveBaseline
from ingest.pipeline import run_ingest

REPO = Path(__file__).resolve().parents[1]
QUESTION = "How long does a seller have to respond to a buyer's refund request?"


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


def _latencies(system, items, rounds: int) -> list[float]:
    timings: list[float] = []
    for _ in range(rounds):
        for item in items:
            t0 = time.perf_counter()
            system.ask(item.question, history=item.history)
            timings.append((time.perf_counter() - t0) * 1000)
    return timings


def bench_quality(embeddings, rounds: int) -> dict[str, dict[str, float]]:
    """Ours and the naive baseline on the same corpus and the same dev question set."""
    # The test split: never tuned on, so the ratio to the baseline is not flattered.
    items = [i for i in load_questions(REPO / "eval" / "questions.yaml") if i.split == "test"]
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        shutil.copytree(REPO / "knowledge", base / "kb")
        settings = Settings(_env_file=None, knowledge_dir=base / "kb", data_dir=base / "data")
        container = build(settings, embeddings)
        container.knowledge().ingest()
        ours = container.assistant
        baseline = NaiveBaseline(base / "kb", base / "baseline", embeddings)
        started = time.perf_counter()
        ours.ask(items[0].question)
        first_ms = (time.perf_counter() - started) * 1000
        results = {}
        for name, system in (("ours", ours), ("baseline", baseline)):
            report = evaluate(system, items, document_reader(container.store)).overall
            timings = _latencies(system, items, rounds)
            results[name] = {
                "recall_at_5": report.recall_at_5,
                "mrr_at_10": report.mrr_at_10,
                "key_fact_accuracy": report.key_fact_accuracy,
                "refusal_recall": report.refusal_recall or 0.0,
                "refusal_precision": report.refusal_precision or 0.0,
                "citation_validity": report.citation_validity,
                "p50_ms": statistics.median(timings),
                "p95_ms": percentile(timings, 0.95),
                "asks": len(timings),
            }
        results["ours"]["first_ask_ms"] = first_ms
        results["baseline"]["chunks"] = baseline.chunks
        return results


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
        [sys.executable, "-m", "app.cli", "ask", "--json", QUESTION],
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
    parser.add_argument("--rounds", type=int, default=3, help="timed passes over the question set")
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
        "quality": bench_quality(embeddings, args.rounds),
        "cli": memory,
    }
    if args.json:
        print(json.dumps(results, indent=2))
        return
    ing, full, cli = results["ingest"], results["ingest_full_chunks"], results["cli"]
    ours, base = results["quality"]["ours"], results["quality"]["baseline"]
    print(f"Benchmark {results['date']} on {results['machine']}")
    print(f"\nQuality and latency on eval/questions.yaml ({ours['asks']} timed asks each):")
    print(f"  {'measure':<22}{'ours':>10}{'baseline':>10}{'ours/base':>11}")
    for key, label in [
        ("recall_at_5", "recall@5"),
        ("mrr_at_10", "MRR@10"),
        ("key_fact_accuracy", "key-fact accuracy"),
        ("refusal_recall", "refusal recall"),
        ("p50_ms", "warm ask p50 (ms)"),
        ("p95_ms", "warm ask p95 (ms)"),
    ]:
        a, b = ours[key], base[key]
        ratio = f"{a / b:.2f}x" if b else "n/a"
        print(f"  {label:<22}{a:>10.3f}{b:>10.3f}{ratio:>11}")
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
        ("warm ask p50 / p95", f"{ours['p50_ms']:.1f} / {ours['p95_ms']:.1f} ms", "<= 50 / 150 ms"),
        ("first ask after load", f"{ours['first_ask_ms']:.0f} ms", ""),
        ("model load", f"{results['model_load_s']:.1f} s", ""),
        ("CLI ask peak RSS", f"{cli['peak_rss_mb']:.0f} MB", "< 1536 MB"),
        ("CLI ask wall time (cold)", f"{cli['cold_cli_ask_s']:.1f} s", ""),
    ]
    print("\nThroughput and memory:")
    width = max(len(r[0]) for r in rows)
    for name, value, target in rows:
        print(f"  {name:<{width}}  {value:<45} {('target ' + target) if target else ''}")


if __name__ == "__main__":
    main()
