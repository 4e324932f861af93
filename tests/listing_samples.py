"""A planted catalogue for the listing check: listings with one kind of problem each (the rule
ids they must trigger) and clean listings that must trigger nothing. The tests write it as
CSV and XLSX; bench/listings.py scales it to 5,000 listings."""

from __future__ import annotations

import csv
from pathlib import Path

HEADERS = [
    "Product ID", "Product Name", "Description", "Category", "Brand", "Brand authorisation",
    "Price", "Attributes", "Target markets", "Manufacturer", "EU Responsible Person",
    "Safety information", "Certificates", "Image alt text",
]  # fmt: skip

EU_OK = {
    "Manufacturer": "Shenzhen Bright Co., 8 Keji Road, Shenzhen, info@bright.example",
    "EU Responsible Person": "EU Rep GmbH, Hauptstr. 1, Berlin, rp@eurep.example",
    "Safety information": "Warning: keep away from fire.",
}


def row(pid: str, title: str, description: str, category: str, **extra: str) -> dict[str, str]:
    data = {"Product ID": pid, "Product Name": title, "Description": description,
            "Category": category, "Price": extra.pop("Price", "12.50"),
            "Target markets": extra.pop("Target markets", "US")}  # fmt: skip
    return {**data, **extra}


# (row, rules it must trigger)
PLANTED: list[tuple[dict[str, str], set[str]]] = [
    (
        row("p01", "Nike running shoes for men", "Breathable mesh upper", "Shoes"),
        {"brand-unauthorised"},
    ),
    (
        row("p02", "Sports sneakers lightweight", "Comfortable sole", "Shoes", Brand="Adidas"),
        {"brand-unauthorised"},
    ),
    (
        row(
            "p03",
            "Apple iPhone 15 silicone case compatible",
            "Soft TPU bumper",
            "Mobile Phone Bags & Cases",
        ),
        {"brand-compatible-wording"},
    ),
    (
        row("p04", "Luxury handbag replica AAA quality", "1:1 mirror quality leather", "Handbags"),
        {"counterfeit-signal"},
    ),
    (row("p05", "N1ke air sneakers", "Classic sport look", "Shoes"), {"brand-disguised"}),
    (row("p06", "Addidas sports sneakers", "Three stripes design", "Shoes"), {"brand-disguised"}),
    (
        row(
            "p07",
            "Tactical pistol holster with ammunition pouch",
            "Fits most handguns",
            "Sports & Outdoors",
        ),
        {"prohibited-weapons"},
    ),
    (
        row("p08", "Premium CBD oil drops 30ml", "Relaxing hemp extract", "Health"),
        {"prohibited-drugs"},
    ),
    (
        row("p09", "Collectible US dollar banknotes set", "Real legal tender", "Collectibles"),
        {"prohibited-currency"},
    ),
    (
        row("p10", "Dinosaur tooth fossil specimen", "Genuine T-rex tooth", "Home Decor"),
        {"prohibited-relics-fossils"},
    ),
    (
        row("p11", "999 gold bar 10 gram", "Investment gold bullion", "Collectibles"),
        {"prohibited-precious-metals"},
    ),
    (
        row("p12", "Neodymium magnetic balls 216 pcs", "Desk puzzle", "Office Supplies"),
        {"prohibited-recalled"},
    ),
    (
        row("p13", "Digital hearing aid rechargeable", "Amplifies sound", "Health"),
        {"restricted-medical"},
    ),
    (
        row(
            "p14",
            "MP3 player, mp3, music mp3 player, mp3 player sport",
            "Plays music",
            "Consumer Electronics",
        ),
        {"keyword-stuffing"},
    ),
    (
        row(
            "p15",
            "Silicone phone case dress sneakers wristwatch",
            "Soft phone case",
            "Mobile Phone Bags & Cases",
        ),
        {"unrelated-keywords"},
    ),
    (
        row(
            "p16",
            "Silicone phone case for iPhone 15 shockproof",
            "Soft TPU phone case",
            "Cosmetic Bags",
        ),
        {"misplaced-category"},
    ),
    (
        row(
            "p17",
            "Extra shipping fee link",
            "Pay the freight difference here",
            "Home & Garden",
            Price="1",
        ),
        {"price-link-outside-special"},
    ),
    (
        row(
            "p18",
            "Ceramic flower vase 20cm",
            "Hand glazed ceramic vase",
            "Home Decor",
            **{
                "Target markets": "DE, FR",
                "Safety information": "Fragile; handle with care. Warning: sharp edges if broken.",
            },
        ),
        {"gpsr-operator-missing"},
    ),
    (
        row(
            "p19",
            "Bamboo cutting board large",
            "Natural bamboo board",
            "Kitchen",
            **{
                "Target markets": "ES",
                "Manufacturer": EU_OK["Manufacturer"],
                "EU Responsible Person": EU_OK["EU Responsible Person"],
            },
        ),
        {"gpsr-safety-missing"},
    ),
    (
        row(
            "p20",
            "Plush teddy bear toy 30cm",
            "Soft plush for kids",
            "Toys",
            **{"Target markets": "IT", **EU_OK},
        ),
        {"ce-mark-missing"},
    ),
    (
        row("p21", "Herbal tea that cures insomnia", "Clinically proven calm", "Food"),
        {"medical-claim"},
    ),
    (
        row("p22", "KN95 face mask 20 pcs", "FDA approved protection", "Masks"),
        {"certification-claim"},
    ),
    (
        row(
            "p23",
            "Stainless steel water bottle 750ml",
            "Keeps drinks cold for 24 hours",
            "Sports & Outdoors",
        ),
        set(),
    ),  # the original of p24: clean itself
    (
        row(
            "p24",
            "Stainless steel water bottle 750ml",
            "Keeps drinks cold for 24 hours!",
            "Sports & Outdoors",
        ),
        {"duplicate-listing"},
    ),
]

CLEAN: list[dict[str, str]] = [
    row(
        "c01",
        "Silicone phone case for Apple iPhone 15",
        "Soft TPU phone case with raised edges",
        "Mobile Phone Bags & Cases",
    ),
    row("c02", "Women's cotton summer dress floral", "Light maxi dress for summer", "Dresses"),
    row("c03", "Water pistol for kids summer pool toy", "Pump action, holds 500 ml", "Toys"),
    row("c04", "Leather watch strap 20mm", "Quick release watch band", "Watches"),
    row("c05", "Cat toy feather wand", "Interactive cat toy with bell", "Pet Supplies"),
    row(
        "c06",
        "Running shoes breathable mesh",
        "Lightweight sneakers for daily runs",
        "Shoes",
        Brand="Nike",
        **{"Brand authorisation": "yes"},
    ),
    row(
        "c07",
        "LED desk lamp dimmable",
        "Three colour modes, USB powered",
        "Lighting",
        **{"Target markets": "DE, NL", "Certificates": "CE", **EU_OK},
    ),
    row("c08", "Cotton fabric by the meter floral print", "Sewing material 150cm wide", "Fabric"),
    row("c09", "Channel organiser for handbags", "Felt insert, nice finish", "Handbags"),
    row("c10", "Gold plated bar necklace", "Minimalist pendant, gold plated brass", "Jewelry"),
    row(
        "c11",
        "Postage difference link",
        "Use only when asked by the seller",
        "Special Category",
        Price="1",
    ),
    row("c12", "Non-stick frying pan 28cm", "Induction ready, PFOA free cookware", "Kitchen"),
    row("c13", "Makeup bag travel pouch", "Waterproof cosmetic bag", "Cosmetic Bags"),
    row(
        "c14",
        "Plush bunny toy 25cm",
        "Soft toy for toddlers, CE marked",
        "Toys",
        **{"Target markets": "FR", "Certificates": "CE, EN 71", **EU_OK},
    ),
    row("c15", "Replacement band for Samsung Galaxy Watch", "Silicone sport band", "Watches"),
    row(
        "c16",
        "Wireless earbuds with charging case",
        "Bluetooth 5.3, 30 h battery",
        "Earphones",
        **{"Target markets": "US, CA"},
    ),
]


def rows() -> list[dict[str, str]]:
    return [r for r, _ in PLANTED] + CLEAN


def expected() -> dict[str, set[str]]:
    planted = {r["Product ID"]: rules for r, rules in PLANTED}
    return planted | {r["Product ID"]: set() for r in CLEAN}


def write_csv(path: Path, data: list[dict[str, str]] | None = None) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, HEADERS)
        writer.writeheader()
        writer.writerows(data if data is not None else rows())
    return path


def write_xlsx(path: Path, data: list[dict[str, str]] | None = None) -> Path:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(HEADERS)
    for r in data if data is not None else rows():
        sheet.append([r.get(h, "") for h in HEADERS])
    book.save(path)
    return path
