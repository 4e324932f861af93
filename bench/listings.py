"""Benchmark: a catalogue of 5,000 listings through the listing check (read + detect + cite).

Run with `python -m bench.listings [--count 5000] [--data-dir DIR]`. The catalogue is the
planted set of tests/listing_samples.py, varied per copy so duplicates stay rare; it prints
figures (target: under 60 s on the 2-core machine) and fails nothing.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from app.components.catalogue import read_catalogue
from app.container import build
from app.settings import Settings
from tests import listing_samples as samples

WORDS = [
    "amber",
    "birch",
    "cedar",
    "delta",
    "ember",
    "fjord",
    "grove",
    "harbor",
    "iris",
    "jade",
    "kelp",
    "lumen",
    "maple",
    "nova",
]


def catalogue(count: int) -> list[dict[str, str]]:
    base = samples.rows()
    out = []
    for n in range(count):
        row = dict(base[n % len(base)])
        tag = f"{WORDS[n % len(WORDS)]} {WORDS[(n // len(WORDS)) % len(WORDS)]} {n}"
        row["Product ID"] = f"b{n:05d}"
        row["Product Name"] = f"{row['Product Name']} {tag}"
        row["Description"] = f"{row['Description']} Model {tag}."
        out.append(row)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--data-dir", type=Path, default=None, help="an indexed DATA_DIR")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-listings-"))
    settings = Settings(data_dir=args.data_dir or work / "data")
    container = build(settings)
    if container.assistant.retrieval.size == 0:
        started = time.perf_counter()
        container.knowledge(container.database()).ingest()
        print(f"(indexed the knowledge base first: {time.perf_counter() - started:.1f} s)")
    checker = container.listings()
    path = samples.write_csv(work / "catalogue.csv", catalogue(args.count))
    started = time.perf_counter()
    listings = read_catalogue(path, settings.catalogue_max_mb)
    read = time.perf_counter() - started
    report = checker.check_catalogue(listings, path.name)
    total = time.perf_counter() - started
    again = time.perf_counter()
    checker.check_catalogue(listings, path.name)  # citations cached: detection alone
    detect = time.perf_counter() - again
    figures = {
        "listings": report.listings,
        "file_mb": round(path.stat().st_size / 1e6, 2),
        "read_s": round(read, 2),
        "check_s_first_run_with_citations": round(report.seconds, 2),
        "total_s": round(total, 2),
        "detect_only_s": round(detect, 2),
        "listings_per_s": round(report.listings / total, 1),
        "findings": len(report.findings),
        "at_risk": report.at_risk,
        "target_s": 60,
    }
    if args.json:
        print(json.dumps(figures))
        return
    for key, value in figures.items():
        print(f"{key:>34}: {value}")


if __name__ == "__main__":
    main()
