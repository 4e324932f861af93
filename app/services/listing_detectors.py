"""The listing check's detectors: pure text matching over one listing (and, for duplicates,
the whole catalogue), driven by the compiled rules. No retrieval here, so 5,000 listings cost
only regex and set work; citing happens once per rule in `listing_check.py`.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from rapidfuzz.distance import OSA

from app.components.catalogue import Listing
from app.services.listing_rules import TEXT_FIELDS, ListingRules, normalise, phrase_pattern


@dataclass
class Hit:
    """A rule one listing breaks: where, and the exact words that trigger it."""

    rule_id: str
    field: str
    words: list[str] = field(default_factory=list)
    detail: str = ""


_TOKEN = re.compile(r"[^\s,;()\[\]{}/\"|]+")
_WORD = re.compile(r"[^\W_]+")
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a",
                       "$": "s", "!": "i", "|": "l"})  # fmt: skip
_SEPARATORS = re.compile(r"[.\-_*'’+~]")
_STOPWORDS = frozenset(
    ["a", "an", "and", "the", "for", "with", "of", "to", "in", "on", "by", "from", "at", "or",
     "as", "is", "are", "your", "you", "new", "set", "pcs", "pc"]
)  # fmt: skip


def _brand_key(text: str) -> str:
    return _SEPARATORS.sub("", text.lower().translate(_LEET))


class Detectors:
    """Compiled once from the rules; `run(listing)` returns its hits."""

    def __init__(self, rules: ListingRules) -> None:
        self.rules = rules
        self.term_rules = [
            r for r in rules.rules.values() if r.detector == "terms" and (r.matcher or r.categories)
        ]
        brands = rules.data.brands
        self.brand_of: dict[str, str] = {}
        insensitive: list[str] = []
        sensitive: list[str] = []
        for brand in brands:
            for name in [brand.name, *brand.aliases]:
                self.brand_of[normalise(name)] = brand.name
                (sensitive if brand.case_sensitive else insensitive).append(name)
        self.brands_ci = phrase_pattern(insensitive)
        self.brands_cs = (
            re.compile(rf"(?<![\w])(?:{'|'.join(map(re.escape, sensitive))})(?![\w])")
            if sensitive
            else None
        )
        self.keys = {_brand_key(n): b.name for b in brands for n in [b.name, *b.aliases]}
        self.misspelled = {
            _brand_key(m): b.name for b in brands for m in b.misspellings if " " not in m
        }
        self.misspelled_phrases = phrase_pattern(
            [m for b in brands for m in b.misspellings if " " in m]
        )
        self.misspelled_phrase_brand = {
            normalise(m): b.name for b in brands for m in b.misspellings if " " in m
        }
        self.not_misspellings = {normalise(w) for w in rules.data.not_misspellings}
        self.near: dict[str, set[str]] = defaultdict(set)  # one-deletion index (length >= 6)
        for key in self.keys:
            if len(key) >= 6 and key.isalpha():
                for variant in _deletions(key) | {key}:
                    self.near[variant].add(key)
        self.compatible_tail = (
            re.compile(rf"(?:{rules.compatible.pattern})\s+(?:the\s+|your\s+)?$")
            if rules.compatible
            else None
        )

    # -- one listing -----------------------------------------------------------------------
    def run(self, listing: Listing) -> list[Hit]:
        texts = {name: getattr(listing, name) for name in TEXT_FIELDS}
        norm = {name: normalise(text) for name, text in texts.items()}
        hits: list[Hit] = []
        hits += self._terms(listing, norm)
        hits += self._brands(listing, texts, norm)
        hits += self._stuffing(listing.title, norm["title"])
        hits += self._categories(listing, norm)
        hits += self._price_links(listing, norm)
        hits += self._eu(listing, norm)
        return hits

    def _terms(self, listing: Listing, norm: dict[str, str]) -> Iterator[Hit]:
        certificates = set(_WORD.findall(normalise(listing.certificates)))
        category = normalise(listing.category)
        for rule in self.term_rules:
            by_field: dict[str, list[str]] = {}
            for name in rule.fields:
                found = _matches(rule.matcher, rule.exception_matcher, norm[name])
                if rule.unless_certified and certificates:
                    found = [w for w in found if not set(_WORD.findall(w)) & certificates]
                if found:
                    by_field[name] = found
            if rule.category_matcher and (m := rule.category_matcher.search(category)):
                by_field["category"] = [m.group()]
            if by_field:
                where = next(iter(by_field))
                words = _unique(w for ws in by_field.values() for w in ws)
                yield Hit(rule.id, where, words)

    def _brand_mentions(self, text: str, norm: str) -> list[tuple[int, str, str]]:
        """(position, words as written, brand) for every plain brand name in a field."""
        found = []
        if self.brands_ci:
            for m in self.brands_ci.finditer(norm):
                found.append((m.start(), text[m.start() : m.end()], self.brand_of[m.group()]))
        if self.brands_cs:
            collapsed = " ".join(text.split())
            for m in self.brands_cs.finditer(collapsed):
                found.append((m.start(), m.group(), self.brand_of[normalise(m.group())]))
        return found

    def _brands(self, listing: Listing, texts: dict[str, str], norm: dict[str, str]) -> list[Hit]:
        """A brand right after "for" / "compatible with" says what an accessory fits and is
        fine unless it leads the title; in an accessory's listing any other mention of a
        brand reads as its own brand (wording rule); elsewhere it needs an authorisation."""
        declared = self.brand_of.get(normalise(listing.brand))
        mentions: list[tuple[str, str, str, bool]] = []  # field, words, brand, after "for"
        leading: list[str] = []
        for name in TEXT_FIELDS:
            collapsed = " ".join(texts[name].split())
            previous_end, previous_ok = -2, False
            for start, words, brand in sorted(self._brand_mentions(collapsed, norm[name])):
                before = norm[name][max(0, start - 40) : start]
                tail = self.compatible_tail.search(before) if self.compatible_tail else None
                fits = bool(tail) or (previous_ok and start - previous_end <= 1)
                if tail and name == "title" and tail.start() + max(0, start - 40) == 0:
                    leading.append(f"{before}{words}".strip())
                mentions.append((name, words, brand, fits))
                previous_end, previous_ok = start + len(words), fits
        accessory = any(fits for *_, fits in mentions) or bool(
            self.rules.accessory and self.rules.accessory.search(norm["title"])
        )
        unauthorised: dict[str, list[str]] = {}
        wording: dict[str, list[str]] = {"title": leading} if leading else {}
        for name, words, brand, fits in mentions:
            if fits or (brand == declared and listing.authorised):
                continue
            target = wording if accessory and brand != declared else unauthorised
            target.setdefault(name, []).append(words)
        if declared and not listing.authorised:
            unauthorised.setdefault("brand", []).append(listing.brand)
        hits = [
            Hit(rule.id, next(iter(found)), _unique(w for v in found.values() for w in v))
            for detector, found in (("brand", unauthorised), ("brand-compatible", wording))
            for rule in self.rules.by_detector(detector)
            if found
        ]
        disguised = self._disguised(texts, norm)
        hits += [
            Hit(rule.id, disguised[0][0], _unique(w for _, w, _ in disguised),
                "looks like " + ", ".join(_unique(b for _, _, b in disguised)))
            for rule in self.rules.by_detector("brand-disguised")
            if disguised
        ]  # fmt: skip
        return hits

    def _disguised(self, texts: dict[str, str], norm: dict[str, str]) -> list[tuple[str, str, str]]:
        """(field, token as written, brand) for brand names spelled with digits, symbols,
        separators or one letter off ("N1ke", "G.u.c.c.i", "Adidass")."""
        out = []
        for name in TEXT_FIELDS:
            if self.misspelled_phrases:
                for m in self.misspelled_phrases.finditer(norm[name]):
                    out.append((name, m.group(), self.misspelled_phrase_brand[m.group()]))
            for m in _TOKEN.finditer(texts[name]):
                token = m.group().strip(".,!?:;'\"’")
                low = token.lower().removesuffix("'s").removesuffix("’s")
                if len(low) < 3 or normalise(low) in self.brand_of:
                    continue
                key = _brand_key(low)
                brand = self.keys.get(key) if key != low else None
                brand = brand or self.misspelled.get(key)
                if (
                    brand is None
                    and len(key) >= 6
                    and key.isalpha()
                    and key not in self.not_misspellings
                    and key not in self.keys
                    and key.removesuffix("s") not in self.keys
                ):
                    brand = self._near_brand(key)
                if brand:
                    out.append((name, token, brand))
        return out

    def _near_brand(self, key: str) -> str | None:
        candidates = set(self.near.get(key, ()))
        for variant in _deletions(key):
            candidates |= self.near.get(variant, set())
        for candidate in sorted(candidates):
            if OSA.distance(key, candidate) <= 1:
                return self.keys[candidate]
        return None

    def _stuffing(self, title: str, norm: str) -> list[Hit]:
        settings = self.rules.stuffing
        words: list[str] = []
        counts = Counter(
            w for w in _WORD.findall(norm) if len(w) > 1 and w not in _STOPWORDS and not w.isdigit()
        )
        words += [f"{w} ×{n}" for w, n in counts.items() if n > settings.max_repeats]
        pieces = [p for p in re.split(r"[,|/;]+", title) if p.strip()]
        if len(pieces) > settings.max_fragments:
            words.append(f"{len(pieces)} comma-separated keywords")
        if self.rules.filler:
            words += [m.group() for m in self.rules.filler.finditer(norm)]
        rules = self.rules.by_detector("keyword-stuffing") if words else []
        return [Hit(rule.id, "title", _unique(words)) for rule in rules]

    def _categories(self, listing: Listing, norm: dict[str, str]) -> list[Hit]:
        category = normalise(listing.category)
        chosen = next(
            (c.id for c, names in self.rules.category_names if names and names.search(category)),
            None,
        )
        body = " ".join((norm["description"], norm["attributes"]))
        title_hits: dict[str, list[str]] = {}
        scores: dict[str, int] = {}
        for cat, words in self.rules.category_words:
            if words is None:
                continue
            in_title = _unique(m.group() for m in words.finditer(norm["title"]))
            in_body = set(m.group() for m in words.finditer(body)) - set(in_title)
            if in_title:
                title_hits[cat.id] = in_title
            scores[cat.id] = 2 * len(in_title) + len(in_body)
        hits: list[Hit] = []
        if not scores:
            return hits
        best = max(scores, key=lambda c: scores[c])
        if chosen and best != chosen and scores[best] >= 2 and scores.get(chosen, 0) == 0:
            words = title_hits.get(best) or [best]
            for rule in self.rules.by_detector("misplaced-category"):
                hits.append(
                    Hit(rule.id, "category", [listing.category, *words],
                        f"the listing's words point to '{best}', not '{listing.category}'")
                )  # fmt: skip
        foreign = {c: w for c, w in title_hits.items() if c not in (chosen, best)}
        if len(foreign) > self.rules.stuffing.max_foreign_categories:
            for rule in self.rules.by_detector("unrelated-keywords"):
                hits.append(
                    Hit(rule.id, "title", _unique(w for ws in foreign.values() for w in ws),
                        "words of other products: " + ", ".join(sorted(foreign)))
                )  # fmt: skip
        return hits

    def _price_links(self, listing: Listing, norm: dict[str, str]) -> list[Hit]:
        special = self.rules.special
        if special and special.search(normalise(listing.category)):
            return []
        hits = []
        floor = self.rules.data.price_floor
        for rule in self.rules.by_detector("price-link"):
            words = [w for name in rule.fields for w in _matches(rule.matcher, None, norm[name])]
            if floor is not None and listing.price is not None and listing.price <= floor:
                words.append(f"price {listing.price:g}")
            if words:
                hits.append(Hit(rule.id, "title", _unique(words)))
        return hits

    def _eu(self, listing: Listing, norm: dict[str, str]) -> list[Hit]:
        markets = [m for m in listing.markets if normalise(m) in self.rules.eu_markets]
        if not markets:
            return []
        body = " ".join((norm["description"], norm["attributes"], norm["alt_text"]))
        hits = []
        operator = self.rules.operator_words
        if not (listing.manufacturer or listing.responsible_person) and not (
            operator and operator.search(body)
        ):
            hits += [Hit(r.id, "markets", markets) for r in self.rules.by_detector("gpsr-operator")]
        safety = self.rules.safety_words
        if not listing.safety and not (safety and safety.search(body)):
            hits += [Hit(r.id, "markets", markets) for r in self.rules.by_detector("gpsr-safety")]
        groups = self.rules.ce_groups
        if groups:
            text = " ".join((norm["title"], norm["description"], normalise(listing.category)))
            found = _unique(m.group() for m in groups.finditer(text))
            marks = self.rules.ce_marks
            stated = " ".join((text, norm["attributes"], normalise(listing.certificates)))
            if found and not (marks and marks.search(stated)):
                hits += [
                    Hit(r.id, "title", found, f"sold to {', '.join(markets)}")
                    for r in self.rules.by_detector("ce-mark")
                ]
        return hits


# -- the whole catalogue ---------------------------------------------------------------------
def duplicate_groups(
    listings: list[Listing], min_similarity: float, min_words: int
) -> list[list[int]]:
    """Groups of listings whose title + description words are near-identical (Jaccard), found
    with prefix filtering: only listings sharing one of their rarest words are compared, so a
    catalogue costs about O(n log n), not O(n²)."""
    sets = [set(_WORD.findall(normalise(f"{x.title} {x.description}"))) for x in listings]
    frequency = Counter(w for s in sets for w in s)
    ordered = [sorted(s, key=lambda w: (frequency[w], w)) for s in sets]
    parent = list(range(len(listings)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    index: dict[str, list[int]] = defaultdict(list)
    for i in sorted(range(len(listings)), key=lambda i: len(sets[i])):
        size = len(sets[i])
        if size < min_words:
            continue
        prefix = ordered[i][: size - math.ceil(min_similarity * size) + 1]
        seen: set[int] = set()
        for word in prefix:
            for j in index[word]:
                if j in seen or len(sets[j]) < min_similarity * size:
                    continue
                seen.add(j)
                shared = len(sets[i] & sets[j])
                if shared / (size + len(sets[j]) - shared) >= min_similarity:
                    parent[root(i)] = root(j)
            index[word].append(i)
    groups: dict[int, list[int]] = defaultdict(list)
    for i in range(len(listings)):
        groups[root(i)].append(i)
    return [sorted(g) for g in groups.values() if len(g) > 1]


def _matches(
    matcher: re.Pattern[str] | None, exceptions: re.Pattern[str] | None, text: str
) -> list[str]:
    if matcher is None or not text:
        return []
    found = list(matcher.finditer(text))
    if not found:
        return []
    spans = [m.span() for m in exceptions.finditer(text)] if exceptions else []
    return [m.group() for m in found if not any(a <= m.start() and m.end() <= b for a, b in spans)]


def _deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))
