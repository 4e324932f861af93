"""Real sample files of every supported format, made by the libraries that write them."""

from __future__ import annotations

import io
from pathlib import Path

RULE_MD = """---
title: Returns policy sample
topic: returns
updated: 2025-03-01
sources:
  - https://example.org/returns
reliability:
  Weak figures: uncertain
---

# Returns policy sample

Sellers accept returns for faulty goods. Source: https://example.org/returns

## Deadlines

The buyer must ship a returned parcel within 10 days of the agreement.

## Weak figures

Some pages say 12 days instead.
"""


def make_pdf(path: Path, pages: list[str], title: str = "Sample PDF rules") -> Path:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_title(title)
    pdf.set_font("helvetica", size=12)
    for text in pages:
        pdf.add_page()
        pdf.multi_cell(0, 8, text)
    path.write_bytes(bytes(pdf.output()))
    return path


def make_encrypted_pdf(path: Path) -> Path:
    from pypdf import PdfReader, PdfWriter

    plain = make_pdf(path.with_suffix(".plain.pdf"), ["Secret rule text that nobody can read."])
    writer = PdfWriter()
    for page in PdfReader(plain).pages:
        writer.add_page(page)
    writer.encrypt(user_password="s3cret", owner_password="owner")
    buffer = io.BytesIO()
    writer.write(buffer)
    path.write_bytes(buffer.getvalue())
    plain.unlink()
    return path


def make_docx(path: Path) -> Path:
    import docx

    document = docx.Document()
    document.core_properties.title = "Warehouse handbook"
    document.add_heading("Warehouse handbook", level=1)
    document.add_heading("Packing", level=2)
    document.add_paragraph("Photograph every parcel on the scale before it leaves the warehouse.")
    document.add_heading("Labels", level=2)
    document.add_paragraph("Print the tracking label only after the order has been paid.")
    document.save(path)
    return path


HTML_PAGE = """<!doctype html><html><head><title>Shipping rules page</title>
<link rel="canonical" href="https://example.org/shipping"></head><body>
<nav><a href="/">Home</a> | <a href="/login">Login</a> | Cookie settings</nav>
<article><h1>Shipping rules page</h1>
<p>Upload a valid tracking number within the promised handling time for every paid order.</p>
<h2>Carriers</h2>
<p>Offline economy shipping without registration is not accepted for any destination market.</p>
</article><footer>Copyright notice and newsletter sign-up</footer></body></html>"""
