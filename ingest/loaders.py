"""Read guidance files of every supported kind into Markdown-ish text plus document metadata.

Every failure becomes `SkipFile` with a reason a seller can act on; nothing here raises
anything else for bad input, so one broken file never stops an ingest.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from app.components.provenance import normal_authority, normal_date

SUPPORTED = {".md", ".markdown", ".txt", ".html", ".htm", ".pdf", ".docx"}


class SkipFile(Exception):
    """This file cannot be ingested; the message says why."""


@dataclass
class Part:
    text: str  # Markdown-ish: "#" headings are honoured by the chunker
    page: int | None = None


@dataclass
class LoadedDoc:
    parts: list[Part]
    title: str
    urls: list[str] = field(default_factory=list)
    topic: str = ""
    updated: str = ""
    reliability: str = ""  # document level: e.g. "mixed", "official", "third-party"
    section_reliability: dict[str, str] = field(default_factory=dict)
    # Defaults for sources the text names without a tag (see app.components.provenance).
    authority: str = ""
    rule_date: str = ""
    warnings: list[str] = field(default_factory=list)  # read, with something the user should fix


def load_file(path: Path, max_bytes: int) -> LoadedDoc:
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED:
        raise SkipFile(f"unsupported file type '{suffix or path.name}'")
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise SkipFile(f"cannot read: {exc.strerror or exc}") from exc
    if size == 0:
        raise SkipFile("empty file")
    if size > max_bytes:
        raise SkipFile(f"larger than the {max_bytes / 1e6:.0f} MB limit ({size / 1e6:.1f} MB)")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SkipFile(f"cannot read: {exc.strerror or exc}") from exc
    loader = {
        ".md": _markdown,
        ".markdown": _markdown,
        ".txt": _text,
        ".html": _html,
        ".htm": _html,
        ".pdf": _pdf,
        ".docx": _docx,
    }[suffix]
    doc = loader(raw, path)
    if not any(p.text.strip() for p in doc.parts):
        raise SkipFile("no text content")
    return doc


def decode_text(raw: bytes, warnings: list[str] | None = None) -> str:
    """Text in whatever 8-bit or multi-byte encoding it was saved in (UTF-8, latin-1, cp1252,
    GB18030, Shift-JIS...); content with NUL bytes or no readable encoding is refused."""
    if b"\x00" in raw[:8192]:
        raise SkipFile("binary content in a text file")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    matches = list(from_bytes(raw))
    if not matches:
        raise SkipFile("not readable as text in any known encoding (binary content?)")
    best = matches[0]
    # Short Western texts fit several code pages equally well; Windows-1252 (a superset of
    # latin-1's letters) is by far the most common of them, so it wins a near-tie.
    western = [
        m
        for m in matches
        if m.encoding in ("cp1252", "latin_1")
        and m.chaos <= best.chaos + 0.1
        and m.coherence >= best.coherence - 0.05
    ]
    best = western[0] if western else best
    if warnings is not None:
        warnings.append(f"not UTF-8: read as {best.encoding}; check a few accented characters")
    return str(best)


def _default_title(path: Path) -> str:
    return re.sub(r"[_-]+", " ", path.stem).strip().capitalize() or path.name


_FRONT = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.S)


def _markdown(raw: bytes, path: Path) -> LoadedDoc:
    warnings: list[str] = []
    text = decode_text(raw, warnings)
    meta: dict[str, Any] = {}
    match = _FRONT.match(text)
    if match:
        try:
            loaded = yaml.safe_load(match.group(1))
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 2}" if mark else ""
            warnings.append(
                f"invalid YAML front matter{where}: its fields (title, sources, dates) were "
                "ignored and the body was ingested; fix that line to restore them"
            )
            loaded = None
        if loaded is not None and not isinstance(loaded, dict):
            warnings.append(
                "front matter is not a key: value mapping; it was ignored and the body ingested"
            )
            loaded = None
        meta = loaded or {}
        text = text[match.end() :]
    title = str(meta.get("title") or _first_heading(text) or _default_title(path))
    reliability = meta.get("reliability", "")
    return LoadedDoc(
        parts=[Part(text)],
        title=title,
        urls=_urls(meta),
        topic=str(meta.get("topic", "")),
        updated=str(meta.get("updated") or meta.get("effective") or ""),
        reliability=reliability if isinstance(reliability, str) else "mixed",
        section_reliability=(
            {str(k): str(v) for k, v in reliability.items()}
            if isinstance(reliability, dict)
            else {}
        ),
        authority=normal_authority(meta.get("authority")),
        rule_date=normal_date(meta.get("rule_date")),
        warnings=warnings,
    )


def _urls(meta: dict[str, Any]) -> list[str]:
    found: list[str] = []
    for key in ("sources", "source_urls", "source_url", "source", "url"):
        value = meta.get(key)
        items = value if isinstance(value, list) else [value]
        for item in items:
            url = item.get("url") if isinstance(item, dict) else item
            if isinstance(url, str) and url.strip() and url.strip() not in found:
                found.append(url.strip())
    return found


def _first_heading(text: str) -> str | None:
    match = re.search(r"^#\s+(.+?)\s*#*\s*$", text, re.M)
    return match.group(1) if match else None


def _text(raw: bytes, path: Path) -> LoadedDoc:
    warnings: list[str] = []
    text = decode_text(raw, warnings)
    return LoadedDoc(parts=[Part(text)], title=_default_title(path), warnings=warnings)


def _html(raw: bytes, path: Path) -> LoadedDoc:
    import trafilatura

    warnings: list[str] = []
    markdown = trafilatura.extract(
        decode_text(raw, warnings),
        output_format="markdown",
        with_metadata=True,
        include_comments=False,
        include_tables=True,
        include_formatting=True,
    )
    if not markdown or len(_FRONT.sub("", markdown).split()) < 5:
        raise SkipFile("no main content found in the HTML page (menus and footers are ignored)")
    doc = _markdown(markdown.encode(), path)
    doc.updated = ""  # trafilatura guesses dates from copyright lines; not a rule's date
    doc.warnings[:0] = warnings
    return doc


def _pdf(raw: bytes, path: Path) -> LoadedDoc:
    import io

    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(raw))
        if reader.is_encrypted:
            try:
                opened = reader.decrypt("")
            except Exception as exc:
                raise SkipFile("encrypted PDF (password protected)") from exc
            if not opened:
                raise SkipFile("encrypted PDF (password protected)")
        parts = [Part(pdf_page_text(page), page=n) for n, page in enumerate(reader.pages, 1)]
        title = (reader.metadata.title if reader.metadata else None) or _default_title(path)
    except SkipFile:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise SkipFile(f"corrupt or unreadable PDF ({type(exc).__name__})") from exc
    if not any(p.text.strip() for p in parts):
        raise SkipFile("PDF has no extractable text (scanned images need OCR first)")
    return LoadedDoc(parts=parts, title=str(title))


def _docx(raw: bytes, path: Path) -> LoadedDoc:
    import io

    import docx

    try:
        document = docx.Document(io.BytesIO(raw))
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise SkipFile(f"corrupt or unreadable DOCX ({type(exc).__name__})") from exc
    except Exception as exc:  # python-docx raises its own PackageNotFoundError and friends
        raise SkipFile(f"corrupt or unreadable DOCX ({type(exc).__name__})") from exc
    lines: list[str] = []
    first_heading = ""
    for para in document.paragraphs:
        text = para.text.strip()
        if not text:
            continue
        style = (para.style.name if para.style is not None else "") or ""
        level = re.match(r"Heading (\d)", style)
        if style == "Title" or level:
            depth = 1 if style == "Title" else min(int(level.group(1)), 6)
            lines.append(f"{'#' * depth} {text}")
            first_heading = first_heading or text
        else:
            lines.append(text)
    for table in document.tables:
        for row in table.rows:
            lines.append(" | ".join(cell.text.strip() for cell in row.cells))
    title = document.core_properties.title or first_heading or _default_title(path)
    return LoadedDoc(parts=[Part("\n\n".join(lines))], title=title)


_SENTENCE_END = re.compile(r"[.!?:;…)\]\"'”’]$")
_LIST_ITEM = re.compile(r"^(?:[-*+•▪◦]|\d{1,2}[.)])\s+")


def pdf_page_text(page: Any) -> str:
    """A PDF page as paragraphs: lines a sentence wraps across are joined (a quote is never
    cut at a line break) and headings become `##` lines (bigger type than the body, or a short
    line without a full stop between paragraphs), so they are never quoted as sentences."""
    lines: list[list[Any]] = [["", 0.0]]  # [text, largest font size on the line]

    def visit(text: str, cm: Any, tm: Any, font: Any, size: float) -> None:
        scale = abs(float(tm[3]) * float(cm[3])) if tm and cm else 1.0
        effective = float(size or 0) * (scale or 1.0)
        for n, piece in enumerate(text.split("\n")):
            if n:
                lines.append(["", 0.0])
            if piece.strip():
                lines[-1][0] += piece
                lines[-1][1] = max(lines[-1][1], effective)

    page.extract_text(visitor_text=visit)
    rows = [(t.strip(), size) for t, size in lines if t.strip()]
    if not rows:
        return ""
    sizes: dict[float, int] = {}
    for text, size in rows:
        sizes[round(size, 1)] = sizes.get(round(size, 1), 0) + len(text)
    body = max(sizes, key=sizes.get)
    out: list[str] = []
    for i, (text, size) in enumerate(rows):
        previous = out[-1] if out else ""
        following = rows[i + 1][0] if i + 1 < len(rows) else ""
        bigger = body and round(size, 1) > body * 1.12
        short_title = (
            len(text.split()) <= 8
            and not _SENTENCE_END.search(text)
            and not _LIST_ITEM.match(text)
            and (not previous or previous.startswith("#") or _SENTENCE_END.search(previous))
            and following[:1].isupper()
        )
        if (bigger or short_title) and len(text) <= 120:
            out.append(f"## {text}")
        elif (
            previous
            and not previous.startswith("#")
            and not _SENTENCE_END.search(previous)
            and not _LIST_ITEM.match(text)
        ):
            joiner = "" if previous.endswith("-") and text[:1].islower() else " "
            out[-1] = previous + joiner + text
        else:
            out.append(text)
    return "\n".join(out)
