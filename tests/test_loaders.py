"""Loaders and chunking on real files of each format, good and bad."""

from __future__ import annotations

import pytest

from ingest.chunking import chunk_document
from ingest.loaders import SkipFile, load_file
from tests.samples import (
    HTML_PAGE,
    RULE_MD,
    make_docx,
    make_encrypted_pdf,
    make_pdf,
)

MB = 1_000_000


def test_a_chunk_never_ends_on_the_line_that_introduces_a_list(tmp_path):
    """ "The deadlines are:" belongs with its bullets: where a chunk must end near it, the
    line goes to the chunk that holds the list, so the figures keep the sentence saying what
    they are (it once sat alone at the end of a chunk, and a deadline question found it
    without its 3 business days)."""
    filler = " ".join(
        f"Background sentence number {n} about the complaint platform." for n in range(12)
    )
    path = tmp_path / "deadlines.md"
    path.write_text(
        "# Counter-notices\n\n"
        f"{filler}\n\n"
        "Counter-notice deadlines come from the platform rule:\n\n"
        "- The first counter-notice is due within 3 business days.\n"
        "- Later counter-notices are due within 27 business days.\n"
    )
    chunks = chunk_document(load_file(path, MB), "deadlines.md", 800, 150)
    assert len(chunks) >= 2
    assert not any(c.page_content.rstrip().endswith(":") for c in chunks)
    with_list = [c.page_content for c in chunks if "3 business days" in c.page_content]
    assert with_list and all("deadlines come from the platform rule:" in c for c in with_list)


def test_markdown_front_matter_and_sections(tmp_path):
    path = tmp_path / "returns.md"
    path.write_text(RULE_MD)
    doc = load_file(path, MB)
    assert doc.title == "Returns policy sample"
    assert doc.urls == ["https://example.org/returns"]
    assert doc.topic == "returns" and doc.updated == "2025-03-01"
    chunks = chunk_document(doc, "returns.md", 1100, 150)
    sections = [c.metadata["section"] for c in chunks]
    assert sections == ["", "Deadlines", "Weak figures"]
    weak = chunks[2]
    assert weak.metadata["uncertain"] is True and chunks[1].metadata["uncertain"] is False
    assert all(c.page_content.startswith("# Returns policy sample") for c in chunks)
    assert "within 10 days of the agreement." in chunks[1].page_content


def test_plain_text(tmp_path):
    path = tmp_path / "notes_on-fees.txt"
    path.write_text("Keep every invoice for brand authorisation.\n")
    doc = load_file(path, MB)
    assert doc.title == "Notes on fees"
    assert "invoice" in doc.parts[0].text


def test_html_keeps_main_content_only(tmp_path):
    path = tmp_path / "shipping.html"
    path.write_text(HTML_PAGE)
    doc = load_file(path, MB)
    text = doc.parts[0].text
    assert doc.title == "Shipping rules page"
    assert "valid tracking number" in text and "Offline economy shipping" in text
    assert "Cookie settings" not in text and "newsletter" not in text
    chunks = chunk_document(doc, "shipping.html", 1100, 150)
    assert "Carriers" in {c.metadata["section"] for c in chunks}


def test_pdf_pages_are_numbered(tmp_path):
    path = make_pdf(
        tmp_path / "rules.pdf",
        ["Rule one is about handling time.", "Rule two is about tracking numbers."],
    )
    doc = load_file(path, MB)
    assert [p.page for p in doc.parts] == [1, 2]
    assert doc.title == "Sample PDF rules"
    chunks = chunk_document(doc, "rules.pdf", 1100, 150)
    by_page = {c.metadata["page"]: c.page_content for c in chunks}
    assert "tracking numbers" in by_page[2] and "handling time" in by_page[1]


def test_docx_headings_become_sections(tmp_path):
    doc = load_file(make_docx(tmp_path / "handbook.docx"), MB)
    chunks = chunk_document(doc, "handbook.docx", 1100, 150)
    assert doc.title == "Warehouse handbook"
    assert {c.metadata["section"] for c in chunks} == {"Packing", "Labels"}


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("empty.md", b"", "empty file"),
        ("blank.txt", b"   \n\n  ", "no text content"),
        ("binary.txt", b"\x00\x01\x02binary\x00data", "binary content"),
        ("image.png", b"\x89PNG\r\n", "unsupported file type '.png'"),
        ("broken.pdf", b"%PDF-1.4\n1 0 obj garbage", "corrupt or unreadable PDF"),
        ("broken.docx", b"PK\x03\x04 not really a zip", "corrupt or unreadable DOCX"),
        ("nav-only.html", b"<html><body><nav>Home</nav></body></html>", "no main content"),
    ],
)
def test_bad_files_are_skipped_with_a_reason(tmp_path, name, content, reason):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(SkipFile, match=reason.replace("(", r"\(").replace(")", r"\)")):
        load_file(path, MB)


@pytest.mark.parametrize(
    ("name", "content", "warning"),
    [
        ("latin1.txt", "Règles de la boutique".encode("latin-1"), "not UTF-8: read as cp1252"),
        ("bad-front.md", b"---\ntitle: [unclosed\n---\nBody text here.", "at line 2"),
        ("list-front.md", b"---\n- a\n- b\n---\nBody text here.", "not a key: value mapping"),
    ],
)
def test_fixable_files_are_read_with_a_warning(tmp_path, name, content, warning):
    path = tmp_path / name
    path.write_bytes(content)
    doc = load_file(path, MB)
    assert any(warning in w for w in doc.warnings), doc.warnings
    assert "Body text here." in doc.parts[0].text or "Règles" in doc.parts[0].text


def test_encrypted_pdf_is_skipped(tmp_path):
    with pytest.raises(SkipFile, match="encrypted PDF"):
        load_file(make_encrypted_pdf(tmp_path / "locked.pdf"), MB)


def test_oversized_file_is_skipped(tmp_path):
    path = tmp_path / "big.txt"
    path.write_text("word " * 5000)
    with pytest.raises(SkipFile, match="larger than"):
        load_file(path, 10_000)


def test_chunks_respect_size_and_sentence_boundaries(tmp_path):
    sentences = [
        f"Rule number {i} says that sellers must keep record {i} for audits." for i in range(80)
    ]
    path = tmp_path / "long.md"
    path.write_text("# Long rules\n\n" + " ".join(sentences) + "\n")
    chunks = chunk_document(load_file(path, MB), "long.md", 600, 100)
    assert len(chunks) > 3
    for chunk in chunks:
        body = chunk.page_content.split("\n", 1)[1]
        assert len(body) <= 600
        assert body.rstrip().endswith(".")  # cut at a sentence end, not mid-sentence
