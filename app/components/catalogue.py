"""Reading a seller's catalogue export (CSV or XLSX) into listings.

Exports differ by tool and language, so columns are found by header names with synonyms
("title", "product name", "subject"...). Every failure is a `CatalogueError` with one line a
seller can act on: the file is empty, binary, too large, or lacks a column (named).
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from app.components.serialise import Serialisable
from ingest.loaders import SkipFile, decode_text

# field -> header names that mean it (compared lower-case, without punctuation)
COLUMNS: dict[str, tuple[str, ...]] = {
    "id": ("id", "product id", "listing id", "item id", "product code", "sku", "spu", "offer id"),
    "title": ("title", "product title", "product name", "subject", "name", "item title"),
    "description": (
        "description",
        "product description",
        "detail",
        "details",
        "detailed description",
        "desc",
        "body",
    ),
    "category": ("category", "category path", "product category", "category name", "leaf category"),
    "brand": ("brand", "brand name", "trademark"),
    "price": ("price", "sale price", "unit price", "price usd", "retail price"),
    "attributes": ("attributes", "product attributes", "specifications", "specs", "properties"),
    "markets": (
        "markets",
        "target markets",
        "market",
        "countries",
        "ship to",
        "destination",
        "sales regions",
    ),
    "alt_text": ("alt text", "image alt", "image alt text", "image description", "images alt"),
    "authorisation": (
        "authorisation",
        "authorization",
        "brand authorisation",
        "brand authorization",
        "authorised",
        "authorized",
    ),
    "manufacturer": ("manufacturer", "manufacturer info", "producer"),
    "responsible_person": (
        "responsible person",
        "eu responsible person",
        "eu rp",
        "eu representative",
    ),
    "safety": ("safety", "safety information", "warnings", "safety warnings", "warning"),
    "certificates": ("certificates", "certificate", "certification", "certifications"),
}
REQUIRED = ("title",)
_YES = {"yes", "y", "true", "1", "authorised", "authorized", "licensed", "own brand", "own"}


class CatalogueError(ValueError):
    """The catalogue file cannot be read; the message says why in one line."""


@dataclass
class Listing(Serialisable):
    """One listing, from a catalogue row or typed in; only `title` is required."""

    title: str
    description: str = ""
    category: str = ""
    brand: str = ""
    price: float | None = None
    attributes: str = ""
    markets: list[str] = field(default_factory=list)
    alt_text: str = ""
    authorised: bool = False  # the seller declares a brand authorisation on file
    manufacturer: str = ""
    responsible_person: str = ""
    safety: str = ""
    certificates: str = ""
    id: str = ""
    row: int | None = None  # the line or sheet row it came from


def split_markets(text: str) -> list[str]:
    return [m.strip() for m in re.split(r"[,;/|]+", text or "") if m.strip()]


def parse_price(text: str) -> float | None:
    """'US $12.99', '12,99 €', '1,299.00' -> a number; anything else -> None."""
    cleaned = re.sub(r"[^\d.,]", "", str(text or ""))
    if not cleaned:
        return None
    if "," in cleaned and "." in cleaned:
        cleaned = cleaned.replace(",", "")
    elif "," in cleaned:
        head, _, tail = cleaned.rpartition(",")
        cleaned = f"{head.replace(',', '')}.{tail}" if len(tail) != 3 else head + tail
    try:
        return float(cleaned)
    except ValueError:
        return None


def listing_from(values: dict[str, str], row: int | None = None) -> Listing:
    """A listing from field values (already mapped from headers)."""
    get = lambda name: str(values.get(name) or "").strip()  # noqa: E731
    return Listing(
        title=get("title"),
        description=get("description"),
        category=get("category"),
        brand=get("brand"),
        price=parse_price(get("price")),
        attributes=get("attributes"),
        markets=split_markets(get("markets")),
        alt_text=get("alt_text"),
        authorised=get("authorisation").lower() in _YES
        or get("authorisation").lower().startswith("yes"),
        manufacturer=get("manufacturer"),
        responsible_person=get("responsible_person"),
        safety=get("safety"),
        certificates=get("certificates"),
        id=get("id") or (str(row) if row is not None else ""),
        row=row,
    )


def _key(header: object) -> str:
    return " ".join(re.sub(r"[^\w]+", " ", str(header or "")).lower().replace("_", " ").split())


def map_columns(headers: list[object]) -> dict[str, int]:
    """Field -> column index; raises naming the missing required column."""
    keys = [_key(h) for h in headers]
    found: dict[str, int] = {}
    for name, synonyms in COLUMNS.items():
        for index, key in enumerate(keys):
            if key in synonyms:
                found[name] = index
                break
    missing = [name for name in REQUIRED if name not in found]
    if missing:
        shown = ", ".join(str(h) for h in headers if str(h or "").strip())[:200] or "none"
        wanted = " / ".join(f'"{s}"' for s in COLUMNS[missing[0]][:4])
        raise CatalogueError(
            f"The catalogue has no {missing[0]} column (name one {wanted}); "
            f"its columns are: {shown}."
        )
    return found


def read_catalogue(path: Path, max_mb: float) -> list[Listing]:
    """Listings from a CSV or XLSX export; `CatalogueError` with one line for a bad file."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise CatalogueError(f"Cannot read {path.name}: {exc.strerror or exc}.") from None
    if size == 0:
        raise CatalogueError(f"{path.name} is empty.")
    if size > max_mb * 1e6:
        raise CatalogueError(
            f"{path.name} is {size / 1e6:.1f} MB, over the {max_mb:.0f} MB limit; "
            "split the export into smaller files."
        )
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise CatalogueError(f"Cannot read {path.name}: {exc.strerror or exc}.") from None
    return read_catalogue_bytes(raw, path.name)


def read_catalogue_bytes(raw: bytes, name: str) -> list[Listing]:
    if not raw.strip():
        raise CatalogueError(f"{name} is empty.")
    suffix = Path(name).suffix.lower()
    if raw[:4] == b"PK\x03\x04" or suffix in (".xlsx", ".xlsm"):
        rows = _xlsx_rows(raw, name)
    elif suffix == ".xls" or raw[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise CatalogueError(f"{name} is an old Excel (.xls) file; save it as .xlsx or .csv.")
    else:
        rows = _csv_rows(raw, name)
    rows = [r for r in rows if any(str(c or "").strip() for c in r)]
    if not rows:
        raise CatalogueError(f"{name} has no rows.")
    columns = map_columns(rows[0])
    listings = []
    for number, cells in enumerate(rows[1:], 2):
        values = {f: cells[i] if i < len(cells) else "" for f, i in columns.items()}
        listing = listing_from({k: "" if v is None else str(v) for k, v in values.items()}, number)
        if listing.title or listing.description:
            listings.append(listing)
    if not listings:
        raise CatalogueError(f"{name} has a header row but no listings under it.")
    return listings


def _csv_rows(raw: bytes, name: str) -> list[list[str]]:
    try:
        text = decode_text(raw)
    except SkipFile as exc:
        raise CatalogueError(f"{name} is not a CSV text file ({exc}).") from None
    sample = text[:8192]
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample, ",;\t|")
    except csv.Error:
        dialect = csv.excel
    try:
        return list(csv.reader(io.StringIO(text, newline=""), dialect))
    except csv.Error as exc:
        raise CatalogueError(f"{name} is not a readable CSV file ({exc}).") from None


def _xlsx_rows(raw: bytes, name: str) -> list[list[object]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError) as exc:
        raise CatalogueError(f"{name} is not a readable XLSX workbook ({exc}).") from None
    try:
        sheet = book.worksheets[0] if book.worksheets else None
        if sheet is None:
            raise CatalogueError(f"{name} has no worksheet.")
        return [list(row) for row in sheet.iter_rows(values_only=True)]
    finally:
        book.close()
