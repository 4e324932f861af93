"""Structure-aware chunking: headings first (the heading path becomes `section`), then size
with overlap, preferring paragraph, line and sentence boundaries.

Each chunk starts with a `# title > section` line. It helps both searches find short chunks
by their topic, and the sentence splitter skips it, so quotes always come from the body.

A section may open with a `<!-- sellers ask ... -->` block: questions it answers, in sellers'
words. They leave the text (never quoted) and travel as the chunks' `asks` metadata, which
retrieval indexes as extra search keys for the section (doc2query written by hand).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from langchain_core.documents import Document
from langchain_text_splitters import MarkdownHeaderTextSplitter, RecursiveCharacterTextSplitter

from app.components.provenance import CONFLICT
from app.components.text import split_asks
from ingest.loaders import LoadedDoc

_HEADERS = [("#", "h1"), ("##", "h2"), ("###", "h3"), ("####", "h4")]
_UNCERTAIN = re.compile(r"\buncertain\b|\bconflict|\bsources (?:disagree|differ)", re.I)
_WEAK = re.compile(r"uncertain|weak|low|conflict", re.I)


_SEPARATORS = ["\n\n", "\n", ". ", "; ", ", ", " ", ""]


def chunk_document(
    doc: LoadedDoc,
    source: str,
    chunk_size: int,
    overlap: int,
    tokens: tuple[Callable[[str], int], int] | None = None,
) -> list[Document]:
    """Chunks of about `chunk_size` characters; with `tokens` (the model's counter and budget)
    a chunk whose heading line and body would not fit the budget is split again by tokens, so
    no chunk has a tail the embedding never reads."""
    headers = MarkdownHeaderTextSplitter(_HEADERS, strip_headers=True)
    sizer = RecursiveCharacterTextSplitter(
        chunk_size=chunk_size, chunk_overlap=overlap, separators=_SEPARATORS, keep_separator="end"
    )
    base = {
        "source": source,
        "title": doc.title,
        "url": doc.urls[0] if doc.urls else "",
        "urls": " ".join(doc.urls),
        "topic": doc.topic,
        "updated": doc.updated,
        "reliability": doc.reliability,
        "authority": doc.authority,
        "rule_date": doc.rule_date,
    }
    chunks: list[Document] = []
    carried: list[str] = []  # asks of a heading with no text of its own go to the next section
    for part in doc.parts:
        for block in headers.split_text(part.text):
            section = _section(block.metadata, doc.title)
            heading = f"# {doc.title} > {section}" if section else f"# {doc.title}"
            content, asks = split_asks(block.page_content)
            if not content.strip():
                carried.extend(asks)
                continue
            asks, carried = [*carried, *asks], []
            for piece in _intros_forward(_fit(sizer.split_text(content), heading, overlap, tokens)):
                body = piece.strip()
                if not body:
                    continue
                meta = dict(base, section=section, chunk=len(chunks))
                if part.page is not None:
                    meta["page"] = part.page
                meta["uncertain"] = bool(
                    _UNCERTAIN.search(body) or _WEAK.search(_section_reliability(doc, section))
                )
                meta["conflict"] = bool(CONFLICT.search(f"{section}\n{body}"))
                if asks:
                    meta["asks"] = "\n".join(asks)
                chunks.append(Document(page_content=f"{heading}\n{body}", metadata=meta))
    return chunks


def _intros_forward(pieces: list[str]) -> list[str]:
    """A piece that ends on the line introducing a list ("The deadlines are:") hands that line
    to the next piece, which holds the list (the overlap often carries it there already): the
    figures and the sentence that says what they are stay together."""
    out = list(pieces)
    for i in range(len(out) - 1):
        body = out[i].rstrip()
        if not body.endswith(":"):
            continue
        cut = body.rfind("\n") + 1
        intro = body[cut:].strip()
        out[i] = body[:cut]
        if not out[i + 1].lstrip().startswith(intro):
            out[i + 1] = f"{intro}\n{out[i + 1]}"
    return out


def _section(header_meta: dict[str, str], title: str) -> str:
    path = [header_meta[key] for key in ("h1", "h2", "h3", "h4") if header_meta.get(key)]
    if path and path[0].strip() == title.strip():
        path = path[1:]
    return " > ".join(path)


def _section_reliability(doc: LoadedDoc, section: str) -> str:
    """Front matter may mark a section weak by naming any heading in its path."""
    names = [name.strip().lower() for name in section.split(">")]
    return " ".join(
        value for key, value in doc.section_reliability.items() if key.strip().lower() in names
    )


def _fit(
    pieces: list[str], heading: str, overlap: int, tokens: tuple[Callable[[str], int], int] | None
) -> list[str]:
    if tokens is None:
        return pieces
    count, budget = tokens
    room = max(budget - count(heading + "\n"), 32)
    out: list[str] = []
    for piece in pieces:
        if count(piece) <= room:
            out.append(piece)
            continue
        by_tokens = RecursiveCharacterTextSplitter(
            chunk_size=room,
            chunk_overlap=min(overlap // 4, room // 4),  # characters -> roughly tokens
            length_function=count,
            separators=_SEPARATORS,
            keep_separator="end",
        )
        out.extend(by_tokens.split_text(piece))
    return out
