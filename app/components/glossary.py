"""Vocabulary bridges from the words sellers use to the words the rulebook uses.

`knowledge/glossary/en.yaml` maps English slang and plain words ("knock-offs", "got a strike",
"my cousin ordered") to rule terms ("counterfeit", "penalty points", "fake orders"); one file
per other language (`zh.yaml`, `es.yaml`, …) maps that language's seller phrasings to the same
English rule terms. Each file is validated on load; a broken one is named in the error.

A question is *bridged*, not rewritten: the rule terms it implies are added to the lexical
query and, in evidence scoring, a question word counts as covered when the rulebook holds any
rule term it maps to. A bridge can only help a question reach text that is there; it never
adds a fact.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path

import Stemmer
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from app.components.places import new_country_pairs
from app.components.text import terms
from app.components.yamlfile import describe_errors, read_yaml

SPACELESS = {"zh", "ja"}  # words are not separated by spaces: segment first
# Suffixes attach to the word (Turkish talebi-ne, Korean 분쟁-에, Russian спор-у): a phrase must
# start a word but may end inside one...
SUFFIXING = {"tr", "ko", "ru"}
# ...unless it is one word this short in an alphabetic script: Turkish "ip" must not match
# "iptal" (cancel), nor "kaç" "kaçak"; such a word may still take a suffix after an apostrophe
# ("IP'ye", "AB'de"), as Turkish writes suffixes on acronyms and names.
_SHORT_STEM = 3
_PREFIX_SHORT = {"tr", "ru"}
# Romance words change their endings (plural, gender, verb forms: "reembolsos", "cancelé",
# "devoluções") and sellers often type without accents: these glossaries match on Snowball
# stems of accent-free words, so one entry covers its inflections and spellings. A stem this
# short stands for too many words ("ped": pedido, pedir) and only matches as it is written;
# and a stem match is an inflection only when the seller's word is at most 2 letters shorter
# or 3 longer than the glossary's (French "comme" is not "commissions", nor "petit"
# "pétition", though each pair shares a stem).
# Russian inflects every word of a phrase (накрутка продаж -> накрутку продаж), not only the
# last one, so its phrases get the same second, stemmed chance.
STEMMED = {"es": "spanish", "pt": "portuguese", "fr": "french", "ru": "russian"}
_MIN_STEM = 4
_INFLECTION = (-2, 3)
# Endings the stemmers only recognise with their accents, restored when typed without them
# ("devolucao" -> "devolução", "comissoes" -> "comissões"), plurals in -ões/-ães made singular.
_ACCENTED_ENDINGS = {
    "pt": ((r"c(ao|oes)$", "ção"), (r"(ao|oes|aes)$", "ão")),
    "es": ((r"cion(es)?$", "ción"), (r"sion(es)?$", "sión")),
}
# Turkish letters typed on a keyboard without them ("magaza", "sikayet", "ucret"), and the
# consonant a Turkish stem softens to before a vowel suffix (talep -> talebi, hesap -> hesabı,
# destek -> desteği): the softened stem is added as a variant of every prefix-matched phrase.
# A verb is written in the glossary as its infinitive (cevap vermek, iptal etmek); sellers
# conjugate it (cevap vermem, iptal ediyor), so the verb stem is a variant too.
_TURKISH_ASCII = str.maketrans("çğışöü", "cgisou")
_TURKISH_SOFT = {"p": "b", "t": "d", "k": "g"}
_TURKISH_INFINITIVE = re.compile(r"(?<=\w\w)m[ae]k$")
# In Turkish every word of a phrase may carry a suffix, not only the last (kan şekeri ölçüm
# -> kan şekerini ölçen, mağaza puanı -> mağazanın puanı): inner words match as prefixes too.
_INNER_SUFFIXES = {"tr"}


def fold(text: str) -> str:
    """Lower case that keeps Turkish İ as i (plain lower() makes it i + a combining dot)."""
    return text.replace("İ", "i").lower().replace("\u0307", "")


def _unaccented(word: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", word) if not unicodedata.combining(c))


def _plain(word: str, language: str) -> str:
    """A word as sellers may type it: without accents; Russian ё as е (й stays й)."""
    return word.replace("ё", "е") if language == "ru" else _unaccented(word)


@lru_cache(maxsize=8)
def _stemmer(language: str) -> Stemmer.Stemmer:
    return Stemmer.Stemmer(STEMMED[language])


def _stem(word: str, language: str) -> str:
    """A plain word's stem; a trailing -s left by the stemmer is dropped ("dias")."""
    word = _plain(word, language)
    for pattern, ending in _ACCENTED_ENDINGS.get(language, ()):
        word, changed = re.subn(pattern, ending, word)
        if changed:
            break
    stem = _plain(_stemmer(language).stemWord(word), language)
    return stem[:-1] if len(stem) > 3 and stem.endswith("s") else stem


def match_keys(text: str, language: str) -> list[str]:
    """The forms phrases and questions are matched in, strictest first: folded; for Romance
    languages and Russian the plain words (`_plain`), then their stems (one space apart); for
    Turkish without its special letters."""
    text = fold(text)
    if language in STEMMED:
        words = [_plain(w, language) for w in re.findall(r"[^\W_]+|[^\w\s]", text)]
        return [" ".join(words), " ".join(_stem(w, language) for w in words)]
    if language == "tr":
        return [text.translate(_TURKISH_ASCII)]
    return [text]


def _variants(phrase: str, language: str) -> list[str]:
    """A Turkish phrase, its verb stem when it ends in an infinitive (a one-word stem only when
    it is long enough to mean one thing: "gönder" yes, "sat" no), and each one's softened
    stem (the last consonant before a vowel suffix)."""
    if language != "tr":
        return [phrase]
    forms = [phrase]
    stem = _TURKISH_INFINITIVE.sub("", phrase)
    if stem != phrase and (" " in stem or len(stem) > _SHORT_STEM):
        forms.append(stem)
    for form in list(forms):
        soft = _TURKISH_SOFT.get(form[-1])
        if soft and (" " in form or len(form) > _SHORT_STEM):
            forms.append(form[:-1] + soft)
    return forms


class GlossaryError(ValueError):
    """A glossary file is missing or malformed; the message names the file and entry."""


class Entry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    en: str = Field(min_length=1)
    terms: list[str] = Field(min_length=1)

    @field_validator("terms", mode="before")
    @classmethod
    def _as_text(cls, value: object) -> object:
        """YAML reads `11.11` or `1:1` as numbers; a seller's phrase is text either way."""
        if isinstance(value, list):
            return [str(t) if isinstance(t, int | float) else t for t in value]
        return value

    @field_validator("en", "terms", mode="after")
    @classmethod
    def _clean(cls, value: str | list[str]) -> str | list[str]:
        if isinstance(value, str):
            return value.strip()
        cleaned = [t.strip() for t in value if t.strip()]
        if not cleaned:
            raise ValueError("give at least one term")
        return cleaned


class GlossaryFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    language: str = Field(pattern=r"^[a-z]{2}$")
    name: str = ""
    notice: str = ""
    key_point: str = ""
    refusal: str = ""
    # shown instead of `refusal` when the rulebook has the topic but says the figure is not given
    figure_not_given: str = ""
    empty: str = ""
    units: dict[str, str] = Field(default_factory=dict)
    # openings that lean on the conversation ("那…呢", "y si…", "а если…"): such a question is
    # searched together with the seller's earlier question
    follow_up: list[str] = Field(default_factory=list)
    entries: list[Entry] = Field(min_length=1)


@dataclass
class Bridge:
    """What a question's words imply in the rulebook's vocabulary."""

    rule_text: str  # the rule terms found, as text for the lexical query ("" when none)
    groups: dict[str, set[str]] = field(default_factory=dict)  # question term -> rule terms
    matched: list[tuple[str, str]] = field(default_factory=list)  # (seller phrase, rule term)


class Glossary:
    """One language's bridge, compiled for fast phrase lookup."""

    def __init__(self, data: GlossaryFile) -> None:
        self.data = data
        self.language = data.language
        pairs = [(t, e.en) for e in data.entries for t in e.terms]
        if self.language == "en":
            # the rule term bridges to itself; a number does not: "8 pieces instead of 10" is
            # the seller's count, not the rule's "10" that an ordinal ("10th") maps to
            pairs += [(e.en, e.en) for e in data.entries if not e.en.isdigit()]
        else:  # every country by its CLDR name, where the file names it no other way
            known = {fold(t) for e in data.entries for t in (e.en, *e.terms)}
            pairs += new_country_pairs(self.language, known)
        # One tier per match form (`match_keys`), each with its phrases longest first, so
        # "refund request" wins over "refund".
        tiers: list[dict[tuple[str, str], None]] = []  # ordered: the same query every run
        # A stem key's written words, by their lengths (see `_INFLECTION`).
        self._written: dict[str, set[tuple[int, ...]]] = {}
        for phrase, en in pairs:
            keys = match_keys(phrase, self.language)
            for tier, key in enumerate(keys):
                if tier == len(tiers):
                    tiers.append({})
                if key and (tier == 0 or len(key) >= _MIN_STEM):
                    tiers[tier].update(
                        dict.fromkeys((v, en) for v in _variants(key, self.language))
                    )
                if tier:
                    lengths = tuple(len(w) for w in keys[0].split(" "))
                    self._written.setdefault(key, set()).add(lengths)
        self._tiers = [sorted(t, key=lambda x: -len(x[0])) for t in tiers]

    @cached_property
    def _patterns(self) -> list[re.Pattern[str]]:
        return [self._pattern(pairs) for pairs in self._tiers]

    def _pattern(self, pairs: list[tuple[str, str]]) -> re.Pattern[str]:
        if self.language in SPACELESS:  # word boundaries come from segmentation
            return re.compile("({})".format("|".join(re.escape(p) for p, _ in pairs)))
        if self.language in SUFFIXING:
            phrases = "|".join(self._suffixed(p) for p, _ in pairs)
            return re.compile(rf"(?<![\w-])({phrases})")
        phrases = "|".join(re.escape(p) for p, _ in pairs)
        return re.compile(rf"(?<![\w-])({phrases})(?![\w-])")

    def _suffixed(self, phrase: str) -> str:
        """A phrase of a suffixing language as a pattern: its inner words may carry suffixes
        where `_INNER_SUFFIXES` says so (a short inner word must be whole), its last word
        may end inside a word (`_word_end`)."""
        words = phrase.split(" ")
        if self.language not in _INNER_SUFFIXES or len(words) == 1:
            return re.escape(phrase) + self._word_end(phrase)
        inner = [re.escape(w) + (r"\w*" if len(w) > _SHORT_STEM else "") for w in words[:-1]]
        return r"\s+".join([*inner, re.escape(words[-1])])

    @cached_property
    def _multiword(self) -> list[str]:
        """Phrases of several words, in pattern order, for `_written_as`."""
        return list(dict.fromkeys(p for p, _ in self._tiers[0] if " " in p))

    def _written_as(self, text: str) -> str:
        """The glossary phrase a suffixed match (`_suffixed`) was made from: the first one,
        in pattern order, whose words start the matched words (short ones equal to them)."""
        words = text.split()
        for phrase in self._multiword:
            mine = phrase.split(" ")
            if len(mine) == len(words) and all(
                w == m if len(m) <= _SHORT_STEM or i == len(mine) - 1 else w.startswith(m)
                for i, (w, m) in enumerate(zip(words, mine, strict=True))
            ):
                return phrase
        return text

    def _word_end(self, phrase: str) -> str:
        """What must follow a phrase of a suffixing language: nothing, or for one short word
        the end of the word (or an apostrophe before its suffix)."""
        if self.language in _PREFIX_SHORT and len(phrase) <= _SHORT_STEM and phrase.isalpha():
            return r"(?![^\W\d_])"
        return ""

    @cached_property
    def rule_terms(self) -> list[tuple[str, re.Pattern[str], str]]:
        """(rule term, its whole-word pattern, the seller's usual word for it), longest rule
        term first: compiled once, for finding rule terms in quoted English sentences."""
        entries = sorted(self.data.entries, key=lambda e: -len(e.en))
        return [
            (e.en.lower(), re.compile(rf"(?<![\w-]){re.escape(e.en.lower())}(?![\w-])"), e.terms[0])
            for e in entries
        ]

    @cached_property
    def _lookups(self) -> list[dict[str, list[str]]]:
        lookups: list[dict[str, list[str]]] = []
        for pairs in self._tiers:
            lookup: dict[str, list[str]] = {}
            for phrase, en in pairs:
                lookup.setdefault(phrase, []).append(en)
            lookups.append(self._with_nested(lookup))
        return lookups

    def _with_nested(self, lookup: dict[str, list[str]]) -> dict[str, list[str]]:
        """A longer phrase also carries the rule terms of the glossary phrases inside it that
        its own rule term lacks: the longest match consumes its words, so "cuántos puntos" ->
        "how many" would otherwise lose "puntos" -> "points"."""
        spaceless = self.language in SPACELESS
        out: dict[str, list[str]] = {}
        for phrase, ens in lookup.items():
            have = {t for en in ens for t in terms(en)}
            extra: list[str] = []
            for inner in _inner_phrases(phrase, spaceless):
                for en in lookup.get(inner, ()):
                    new = set(terms(en)) - have
                    if new and en not in ens and en not in extra:
                        extra.append(en)
                        have |= new
            out[phrase] = [*ens, *extra]
        return out

    @cached_property
    def _longest(self) -> list[int]:
        """Each tier's longest phrase: no match between word bounds can be longer."""
        return [max(map(len, lookup), default=0) for lookup in self._lookups]

    def phrases_in(self, text: str, bounds: set[int] | None = None) -> list[tuple[str, str]]:
        """(seller phrase, rule term) for each glossary phrase in `text`, longest first; with
        `bounds` (word offsets of segmented text) a phrase must start and end on a word. A
        looser match form may not reach into a stricter match unless it is a longer phrase, so a
        stem shared by two words ("plazo", "plaza") adds no term where the exact word gave one."""
        found: list[tuple[str, str]] = []
        spans: list[set[int]] = []  # word positions (in the space-joined forms) matched so far
        keys = match_keys(text, self.language)
        tiers = zip(keys, self._patterns, self._lookups, strict=True)
        for tier, (key, pattern, lookup) in enumerate(tiers):
            stricter = list(spans)
            matches = (
                pattern.finditer(key)
                if bounds is None
                else _between(key, bounds, lookup, self._longest[tier])
            )
            for match in matches:
                first = key.count(" ", 0, match.start())
                words = set(range(first, first + match.group(1).count(" ") + 1))
                if any(words & span and len(words) <= len(span) for span in stricter):
                    continue  # only a longer phrase may reach into a stricter match
                if tier and not self._inflected(keys[0], first, match.group(1)):
                    continue
                spans.append(words)
                phrase = match.group(1)
                if phrase not in lookup and self.language in _INNER_SUFFIXES:
                    phrase = self._written_as(phrase)
                found.extend((phrase, en) for en in lookup.get(phrase, []))
        return found

    def _inflected(self, written: str, first: int, key: str) -> bool:
        """Whether the question's words from position `first` (as written, accent-free) are
        inflections of a glossary phrase with this stem key (lengths within `_INFLECTION`)."""
        words = written.split(" ")[first : first + key.count(" ") + 1]
        low, high = _INFLECTION
        return any(
            all(low <= len(w) - n <= high for w, n in zip(words, lengths, strict=True))
            for lengths in self._written.get(key, ())
        )

    def bridge(self, question: str) -> Bridge:
        out = Bridge("")
        found: list[str] = []
        for phrase, en in self.phrases_in(question):
            out.matched.append((phrase, en))
            found.append(en)
            rule_terms = set(terms(en))
            for term in terms(phrase) or [phrase]:
                out.groups.setdefault(term, set()).update(rule_terms)
        out.rule_text = " ".join(dict.fromkeys(found))
        return out


@dataclass
class _Span:
    """A phrase found between word bounds, read like a regex match by `phrases_in`."""

    text: str
    begin: int

    def start(self) -> int:
        return self.begin

    def group(self, _: int) -> str:
        return self.text


def _inner_phrases(phrase: str, spaceless: bool) -> Iterator[str]:
    """The shorter runs of words inside a phrase (of two or more characters, for a language
    written without spaces), longest first."""
    if spaceless:
        n = len(phrase)
        for size in range(n - 1, 1, -1):
            for begin in range(n - size + 1):
                # a run never starts inside a number: 365天 holds no 5天
                if not (begin and phrase[begin].isdigit() and phrase[begin - 1].isdigit()):
                    yield phrase[begin : begin + size]
        return
    words = phrase.split(" ")
    for size in range(len(words) - 1, 0, -1):
        for begin in range(len(words) - size + 1):
            yield " ".join(words[begin : begin + size])


def _between(
    text: str, bounds: set[int], lookup: dict[str, list[str]], longest: int
) -> Iterator[_Span]:
    """Phrases of segmented text, longest first from each word start, never overlapping: a
    long phrase that does not end on a word leaves the shorter ones there ("差评能申诉吗" still
    holds 申诉 when 能申诉吗 does not end on a word). Only ends within `longest` characters are
    tried, so a long question costs time in proportion to its length."""
    ordered = sorted(bounds)
    reached = 0
    for i, start in enumerate(ordered):
        if start < reached:
            continue
        ends = ordered[i + 1 : bisect_right(ordered, start + longest, lo=i + 1)]
        end = next((e for e in reversed(ends) if text[start:e] in lookup), None)
        if end is not None:
            reached = end
            yield _Span(text[start:end], start)


def load_glossary(path: Path) -> Glossary:
    raw = read_yaml(path, GlossaryError, "glossary")
    try:
        data = GlossaryFile.model_validate(raw)
    except ValidationError as exc:
        raise GlossaryError(f"Glossary {path} is not valid:\n{describe_errors(exc, raw)}") from exc
    seen: set[str] = set()
    for entry in data.entries:
        if entry.en.lower() in seen:
            raise GlossaryError(f"Glossary {path}: the rule term '{entry.en}' appears twice")
        seen.add(entry.en.lower())
    return Glossary(data)


class Glossaries(Mapping[str, Glossary]):
    """Every `<language>.yaml` in a folder, by language code, each read and validated when it
    is first used: an English question never parses the other languages' files (a quarter of
    a second of a cold start). A broken file is named when its language is first needed."""

    def __init__(self, folder: Path) -> None:
        paths = sorted(folder.glob("*.yaml")) if folder.is_dir() else []
        self._paths = {path.stem: path for path in paths}
        self._loaded: dict[str, Glossary] = {}

    def __getitem__(self, language: str) -> Glossary:
        if language not in self._loaded:
            path = self._paths[language]
            glossary = load_glossary(path)
            if glossary.language != path.stem:
                raise GlossaryError(f"Glossary {path} says language '{glossary.language}'")
            self._loaded[language] = glossary
        return self._loaded[language]

    def __iter__(self) -> Iterator[str]:
        return iter(self._paths)

    def __len__(self) -> int:
        return len(self._paths)


def load_glossaries(folder: Path) -> dict[str, Glossary]:
    """Every `<language>.yaml` in the folder, by language code (none when it is absent), all
    read and validated now."""
    return dict(Glossaries(folder))
