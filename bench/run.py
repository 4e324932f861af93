"""Benchmark, ours against the naive peer (bench/baseline.py) in one run: ingest chunks/s,
warm `ask` p50/p95, cold CLI `ask --json` wall time and its peak RSS, as ratios.

Run with `make bench` (or `python -m bench.run --json`). It prints figures; targets are
shown beside them but nothing here fails a build: timing belongs in a benchmark, not a test.
The peer runs the model the usual way (sentence-transformers on torch); ours runs it as
EMBEDDING_BACKEND says (ONNX Runtime by default).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from app.components.embeddings import load_embeddings, model_fingerprint, token_budget
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


def _corpus(base: Path, copies: int, flatten: bool) -> Path:
    for i in range(copies):
        for source in (REPO / "knowledge").glob("*.md"):
            target = base / "kb" / f"copy{i}" / source.name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(
                _variant(source.read_text(encoding="utf-8"), i, flatten), encoding="utf-8"
            )
    return base / "kb"


def bench_ingest(embeddings, copies: int, flatten: bool, peer_embeddings=None) -> dict:
    """Ingest `copies` variants of knowledge/ into a fresh store (model already loaded), and
    the peer into its own store from the same files when `peer_embeddings` is given."""
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        kb = _corpus(base, copies, flatten)
        settings = Settings(_env_file=None, knowledge_dir=kb, data_dir=base / "data")
        store = open_store(settings, embeddings, model_fingerprint(settings.model_path))
        report = run_ingest(settings, store=store)
        data = store.collection.get(include=["documents"])
        count = token_budget(settings.model_path)[0]
        tokens = [count(doc) for doc in data["documents"]]
        again = run_ingest(settings, store=store)
        result = {
            "chunks": report.added,
            "seconds": report.seconds,
            "chunks_per_s": report.added / report.seconds,
            "mean_tokens_per_chunk": statistics.mean(tokens),
            "noop_rerun_seconds": again.seconds,
            "noop_rerun_embedded": again.added + again.updated,
        }
        if peer_embeddings is not None:
            started = time.perf_counter()
            peer = NaiveBaseline(kb, base / "peer", peer_embeddings)
            seconds = time.perf_counter() - started
            result["peer"] = {
                "chunks": peer.chunks,
                "seconds": seconds,
                "chunks_per_s": peer.chunks / seconds,
            }
        return result


def _latencies(system, items, rounds: int) -> dict[str, list[float]]:
    """Milliseconds per ask, by the question's language."""
    timings: dict[str, list[float]] = {}
    for _ in range(rounds):
        for item in items:
            t0 = time.perf_counter()
            system.ask(item.question, history=item.history)
            timings.setdefault(item.lang, []).append((time.perf_counter() - t0) * 1000)
    return timings


def bench_quality(embeddings, peer_embeddings, rounds: int) -> dict[str, dict[str, float]]:
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
        baseline = NaiveBaseline(base / "kb", base / "baseline", peer_embeddings)
        started = time.perf_counter()
        ours.ask(items[0].question)
        first_ms = (time.perf_counter() - started) * 1000
        results = {}
        for name, system in (("ours", ours), ("baseline", baseline)):
            report = evaluate(system, items, document_reader(container.store)).overall
            by_language = _latencies(system, items, rounds)
            timings = [t for values in by_language.values() for t in values]
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
                "p50_ms_by_language": {
                    lang: statistics.median(values) for lang, values in sorted(by_language.items())
                },
            }
        results["ours"]["first_ask_ms"] = first_ms
        results["baseline"]["chunks"] = baseline.chunks
        return results


def _child(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one child process, from its own rusage."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        child = subprocess.Popen(args, cwd=REPO, env=env, stdout=out, stderr=err)
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - started
        if os.waitstatus_to_exitcode(status) != 0:
            err.seek(0)
            raise RuntimeError(f"{' '.join(args[:4])} failed: {err.read().decode()[-500:]}")
    return seconds, usage.ru_maxrss / 1024


def bench_cli(runs: int) -> dict[str, dict[str, float]]:
    """Cold `ask --json` processes with an index present: ours on the repo's index (DATA_DIR),
    the peer's command line on its own; median wall time and the largest peak RSS."""
    env = {**os.environ, "CHROMA_HOST": ""}
    python = sys.executable
    subprocess.run(
        [python, "-m", "app.cli", "ingest", "--json"],
        cwd=REPO,
        env=env,
        capture_output=True,
        check=True,
    )
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        peer = [python, "-m", "bench.baseline", "ask", QUESTION, "--data", f"{tmp}/peer"]
        _child(peer, env)  # builds the peer's index: not timed
        for name, args in (
            ("ours", [python, "-m", "app.cli", "ask", "--json", QUESTION]),
            ("peer", peer),
        ):
            timings = [_child(args, env) for _ in range(runs)]
            results[name] = {
                "cold_cli_ask_s": statistics.median(t for t, _ in timings),
                "peak_rss_mb": max(m for _, m in timings),
            }
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--copies", type=int, default=3, help="copies of knowledge/ to ingest")
    parser.add_argument("--rounds", type=int, default=3, help="timed passes over the question set")
    parser.add_argument("--cold-runs", type=int, default=3, help="cold CLI asks timed per side")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    cli = bench_cli(args.cold_runs)  # first: nothing else warm in this process yet
    settings = Settings(_env_file=None)
    t0 = time.perf_counter()
    embeddings = load_embeddings(settings)
    model_load = time.perf_counter() - t0
    t0 = time.perf_counter()
    peer_embeddings = load_embeddings(settings.updated(embedding_backend="torch"))
    peer_load = time.perf_counter() - t0
    results = {
        "machine": (
            f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
        ),
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "load_average": os.getloadavg()[0],
        "backend": getattr(embeddings, "backend", "torch"),
        "model_load_s": model_load,
        "peer_model_load_s": peer_load,
        "ingest": bench_ingest(
            embeddings, args.copies, flatten=False, peer_embeddings=peer_embeddings
        ),
        "ingest_full_chunks": bench_ingest(embeddings, args.copies, flatten=True),
        "quality": bench_quality(embeddings, peer_embeddings, args.rounds),
        "cli": cli,
    }
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print_table(results)


def print_table(results: dict) -> None:
    ing, full, cli = results["ingest"], results["ingest_full_chunks"], results["cli"]
    ours, peer = results["quality"]["ours"], results["quality"]["baseline"]
    print(
        f"Benchmark {results['date']} on {results['machine']} (load average "
        f"{results['load_average']:.1f} at the end; ours embeds with {results['backend']}, "
        "the peer with torch)"
    )
    rows = [
        # label, ours, peer, higher is better, target for ours/peer or ours, format
        (
            "ingest chunks/s (knowledge/ x copies)",
            ing["chunks_per_s"],
            ing["peer"]["chunks_per_s"],
            True,
            "ratio >= 1.5",
            "{:.1f}",
        ),
        ("warm ask p50 (ms)", ours["p50_ms"], peer["p50_ms"], False, "<= 15", "{:.1f}"),
        ("warm ask p95 (ms)", ours["p95_ms"], peer["p95_ms"], False, "<= 30", "{:.1f}"),
        (
            "cold CLI ask --json (s)",
            cli["ours"]["cold_cli_ask_s"],
            cli["peer"]["cold_cli_ask_s"],
            False,
            "<= 3",
            "{:.2f}",
        ),
        (
            "CLI ask peak RSS (MB)",
            cli["ours"]["peak_rss_mb"],
            cli["peer"]["peak_rss_mb"],
            False,
            "<= 400",
            "{:.0f}",
        ),
        ("recall@5 (test split)", ours["recall_at_5"], peer["recall_at_5"], True, "", "{:.3f}"),
        ("MRR@10", ours["mrr_at_10"], peer["mrr_at_10"], True, "", "{:.3f}"),
        (
            "key-fact accuracy",
            ours["key_fact_accuracy"],
            peer["key_fact_accuracy"],
            True,
            "",
            "{:.3f}",
        ),
        ("refusal recall", ours["refusal_recall"], peer["refusal_recall"], True, "", "{:.3f}"),
    ]
    print(f"\n  {'measure':<40}{'ours':>10}{'peer':>10}{'ours/peer':>11}  target")
    for label, a, b, _, target, fmt in rows:
        ratio = f"{a / b:.2f}x" if b else "n/a"
        print(f"  {label:<40}{fmt.format(a):>10}{fmt.format(b):>10}{ratio:>11}  {target}")
    print("\nOurs alone:")
    extra = [
        (
            "ingest, full-size chunks",
            f"{full['chunks_per_s']:.1f} chunks/s ({full['chunks']} "
            f"chunks, {full['mean_tokens_per_chunk']:.0f} tokens avg)",
        ),
        (
            "ingest, knowledge/ as is",
            f"{ing['chunks_per_s']:.1f} chunks/s ({ing['chunks']} "
            f"chunks, {ing['mean_tokens_per_chunk']:.0f} tokens avg; peer {ing['peer']['chunks']})",
        ),
        (
            "no-op re-ingest",
            f"{ing['noop_rerun_seconds']:.2f} s, "
            f"{ing['noop_rerun_embedded']} embedded (target 0 embedded)",
        ),
        (
            "warm ask p50 by language",
            ", ".join(f"{k} {v:.1f} ms" for k, v in ours["p50_ms_by_language"].items())
            + " (target zh <= 40 ms)",
        ),
        ("first ask after load", f"{ours['first_ask_ms']:.0f} ms"),
        (
            "model load in process",
            f"{results['model_load_s']:.1f} s "
            f"(peer's torch model {results['peer_model_load_s']:.1f} s)",
        ),
    ]
    width = max(len(r[0]) for r in extra)
    for name, value in extra:
        print(f"  {name:<{width}}  {value}")


if __name__ == "__main__":
    main()
