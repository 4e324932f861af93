"""The coverage check: every figure-bearing fact of both research sheets is in knowledge/."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from app.services.coverage import check, figures_in

REPO = Path(__file__).resolve().parents[1]
SHEETS = [REPO / "eval/research/aliexpress-facts.md", REPO / "eval/research/aliexpress-facts-2.md"]


def test_figures_compare_in_one_normal_form():
    assert figures_in("updated 31 December 2021") == figures_in("updated 2021-12-31")
    assert "usd 1000" in figures_in("a deposit of USD 1,000") & figures_in("a $1000 deposit")
    assert "7 day" in figures_in("a 7-day freeze") & figures_in("frozen for 7 days")
    assert {"5 day", "15 day"} <= figures_in("5–15 days")
    assert not figures_in("[source: https://example.com/2021/12/page-300.html]")


def test_the_shipped_knowledge_base_covers_both_sheets():
    report = check(SHEETS, REPO / "knowledge")
    assert len(report.with_figures) > 250
    assert report.coverage >= 0.95, [
        (f.sheet, f.line, f.missing) for f in report.with_figures if not f.covered
    ]
    assert report.sources_kept >= 0.95


def test_a_figure_removed_from_its_document_is_reported_missing(tmp_path):
    kb = tmp_path / "kb"
    shutil.copytree(REPO / "knowledge", kb)
    before = check(SHEETS, kb)
    target = next(
        f for f in before.with_figures if f.covered and f.document and "usd 15" in f.figures
    )
    path = kb / target.document
    path.write_text(path.read_text().replace("USD 15", "a fee").replace("$15", "a fee"))
    after = {(f.sheet, f.line): f for f in check(SHEETS, kb).facts}
    assert not after[(target.sheet, target.line)].covered
    assert "usd 15" in after[(target.sheet, target.line)].missing


def _cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from app.cli import main; main()", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1", **env},
        timeout=120,
    )


def test_cli_reports_and_gates(tmp_path):
    done = _cli("coverage", "--json", DATA_DIR=str(tmp_path))
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["coverage"] >= 0.95 and data["facts"][0]["sheet"] == "aliexpress-facts.md"
    empty = tmp_path / "empty-kb"
    empty.mkdir()
    gated = _cli(
        "coverage", "--min-coverage", "0.95", KNOWLEDGE_DIR=str(empty), DATA_DIR=str(tmp_path)
    )
    assert gated.returncode == 1 and "below the 95% floor" in gated.stderr
    missing = _cli("coverage", str(tmp_path / "no-such-sheet.md"), DATA_DIR=str(tmp_path))
    assert missing.returncode == 2 and "Research sheet not found" in missing.stderr
    assert "Traceback" not in missing.stderr + gated.stderr
