"""Inspection reports as Markdown and PDF. Citations are numbered once across the report; the
PDF prints each finding's sources right under it in small type, footnote style."""

from __future__ import annotations

from pathlib import Path

from app.services.answering import Citation
from app.services.inspection import Report

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
ANSWER_LABEL = {"no": "No", "unsure": "Unsure", "yes": "Yes", "na": "Not applicable"}


def _fmt(score: float | None) -> str:
    return "n/a" if score is None else f"{score:.0f}/100"


def numbered(report: Report) -> list[list[tuple[int, Citation]]]:
    """Report-wide citation numbers per finding (one number per distinct quote)."""
    numbers: dict[tuple[str, str], int] = {}
    out = []
    for finding in report.findings:
        row = []
        for c in finding.citations:
            key = (c.source, c.quote)
            numbers.setdefault(key, len(numbers) + 1)
            row.append((numbers[key], c))
        out.append(row)
    return out


def report_markdown(report: Report) -> str:
    lines = [
        f"# {report.checklist_title}: {report.store_name}",
        "",
        f"Date: {report.date} UTC. Overall score: **{_fmt(report.score)}**, {report.coverage()}.",
        "",
        "## Section scores",
        "",
        "| Section | Score | Answered |",
        "|---|---|---|",
    ]
    lines += [
        f"| {s.title} | {_fmt(s.score)} | {s.answered}/{s.applicable} |" for s in report.sections
    ]
    if report.comparison:
        c = report.comparison
        lines += [
            "",
            f"## Since the inspection of {c.previous_date} UTC",
            "",
            f"Score {_fmt(c.previous_score)} then, {_fmt(report.score)} now.",
            "",
        ]
        lines += [f"- Improved: {i['question']}" for i in c.improved] or ["- Nothing improved."]
        lines += [f"- Regressed: {i['question']}" for i in c.regressed] or ["- Nothing regressed."]
    lines += ["", "## Action plan, highest risk first", ""]
    if not report.findings:
        lines.append("No open findings: every answered item is in order.")
    sources: dict[int, Citation] = {}
    for index, (finding, cites) in enumerate(
        zip(report.findings, numbered(report), strict=True), 1
    ):
        marks = " ".join(f"[{n}]" for n, _ in cites)
        lines += [
            f"### {index}. {finding.question}",
            "",
            f"Severity: {finding.severity}. Answer: {ANSWER_LABEL[finding.answer]}."
            + (f" Note: {finding.note}" if finding.note else ""),
            "",
            f"Why it matters: {finding.why} {marks}".rstrip(),
            "",
            "What to do:",
            *[f"- {step}" for step in finding.remediation],
            "",
        ]
        if finding.follow_up:
            lines += ["Questions to check:", *[f"- {q}" for q in finding.follow_up], ""]
        if finding.evidence:
            lines += [f"Evidence to keep: {'; '.join(finding.evidence)}.", ""]
        if finding.deadline:
            lines += [f"Deadline: {finding.deadline}", ""]
        for n, c in cites:
            lines.append(f'> [{n}] "{c.quote}"')
            sources[n] = c
        lines.append("")
    if sources:
        lines += ["## Sources", ""]
        for n, c in sorted(sources.items()):
            where = " > ".join(x for x in (c.title, c.section) if x)
            lines.append(f"[{n}] {where} ({c.source}){' ' + c.url if c.url else ''}")
    lines += [
        "",
        "General information from platform rules and public sources, not legal advice. "
        "Check figures against the current AliExpress seller rules.",
    ]
    return "\n".join(lines) + "\n"


def report_pdf(report: Report) -> bytes:
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(auto=True, margin=15)
    family = _font(pdf)
    pdf.add_page()
    width = pdf.epw

    def text(body: str, size: float = 10, style: str = "", gap: float = 1.5) -> None:
        pdf.set_font(family, style, size)
        pdf.multi_cell(  # left-aligned: justified footnotes open wide gaps around long URLs
            width, size * 0.5, _safe(body, family), align="L", new_x="LMARGIN", new_y="NEXT"
        )
        pdf.ln(gap)

    text(f"{report.checklist_title}: {report.store_name}", 16, "B", 3)
    text(f"Date: {report.date} UTC. Overall score: {_fmt(report.score)}, {report.coverage()}.")
    text("Section scores", 13, "B")
    for s in report.sections:
        text(f"{s.title}: {_fmt(s.score)} ({s.answered}/{s.applicable} answered)", 9, gap=0.3)
        _bar(pdf, width, s.score)
    if report.comparison:
        c = report.comparison
        text(
            f"Since the inspection of {c.previous_date} UTC: score {_fmt(c.previous_score)} "
            f"then, {_fmt(report.score)} now. Improved: "
            f"{'; '.join(i['question'] for i in c.improved) or 'none'}. Regressed: "
            f"{'; '.join(i['question'] for i in c.regressed) or 'none'}.",
            gap=3,
        )
    text("Action plan, highest risk first", 13, "B")
    if not report.findings:
        text("No open findings: every answered item is in order.")
    for index, (finding, cites) in enumerate(
        zip(report.findings, numbered(report), strict=True), 1
    ):
        marks = "".join(f"[{n}]" for n, _ in cites)
        text(f"{index}. {finding.question}", 11, "B", 0.5)
        text(
            f"Severity {finding.severity}; answer: {ANSWER_LABEL[finding.answer]}."
            + (f" Note: {finding.note}" if finding.note else ""),
            9,
            "I",
            0.5,
        )
        text(f"Why it matters: {finding.why} {marks}", gap=0.5)
        text(
            "What to do: " + " ".join(f"({i}) {s}" for i, s in enumerate(finding.remediation, 1)),
            gap=0.5,
        )
        if finding.evidence:
            text(f"Evidence to keep: {'; '.join(finding.evidence)}.", gap=0.5)
        if finding.deadline:
            text(f"Deadline: {finding.deadline}", gap=0.5)
        for n, c in cites:  # footnotes of this finding
            where = " > ".join(x for x in (c.title, c.section) if x)
            text(f'[{n}] {where} ({c.source}): "{c.quote}" {c.url}'.rstrip(), 7.5, gap=0.3)
        pdf.ln(2)
    text("General information from platform rules and public sources, not legal advice.", 8, "I")
    return bytes(pdf.output())


def _bar(pdf, width: float, score: float | None) -> None:
    """One horizontal bar of the section chart: the score against a 0-100 track."""
    x, y, height = pdf.l_margin, pdf.get_y(), 3.2
    pdf.set_fill_color(228, 228, 228)
    pdf.rect(x, y, width, height, style="F")
    if score:
        pdf.set_fill_color(*(_GOOD if score >= 80 else _FAIR if score >= 50 else _POOR))
        pdf.rect(x, y, width * min(score, 100) / 100, height, style="F")
    pdf.set_y(y + height + 2)


_GOOD, _FAIR, _POOR = (46, 125, 50), (239, 160, 0), (198, 40, 40)


def _font(pdf) -> str:
    regular, bold = FONT_DIR / "DejaVuSans.ttf", FONT_DIR / "DejaVuSans-Bold.ttf"
    oblique = FONT_DIR / "DejaVuSans-Oblique.ttf"
    if regular.is_file() and bold.is_file() and oblique.is_file():
        pdf.add_font("DejaVu", "", str(regular))
        pdf.add_font("DejaVu", "B", str(bold))
        pdf.add_font("DejaVu", "I", str(oblique))
        return "DejaVu"
    return "helvetica"


def _safe(text: str, family: str) -> str:
    """Core PDF fonts only know Latin-1; without DejaVu, replace what they cannot draw."""
    if family != "helvetica":
        return text
    replacements = {
        "’": "'",
        "‘": "'",
        "“": '"',
        "”": '"',
        "–": "-",
        "—": "-",
        "…": "...",
        "€": "EUR",
        "§": "S.",
    }
    for old, new in replacements.items():
        text = text.replace(old, new)
    return text.encode("latin-1", "replace").decode("latin-1")
