"""Questions in the seller's language, answered from the English rulebook.

No multilingual embedding model ships for this stack, so the bridge is lexical: the question's
language is detected offline (py3langid, its model inside the wheel), Chinese is segmented with
jieba's bundled dictionary, and the seller's phrases are looked up in that language's glossary
(`knowledge/glossary/<lang>.yaml`) to give an English query made of the rulebook's own terms.
Numbers, dates and amounts carry over as written. The answer quotes the English rules and is
preceded by one line in the seller's language, built only from the cited sentence's figure and
glossary words (`key_point_line`): nothing is translated freely, so nothing is invented.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path

from app.components.glossary import Glossary, match_keys
from app.components.places import english_places
from app.components.text import (
    MARKETPLACE_SCRIPT_NAMES,
    OTHER_MARKETPLACE,
    OWN_TOPIC_TERMS,
    asking_part,
    terms,
    user_turns,
)
from app.settings import user_cache_dir

_SCRIPT = {
    "zh": re.compile(r"[\u4e00-\u9fff]"),
    "ko": re.compile(r"[\uac00-\ud7af]"),
    "ru": re.compile(r"[\u0400-\u04ff]"),
}
# Figures that carry over as written: amounts with currency, percentages, dates, counts.
_ACRONYM = re.compile(r"[A-Z]{2,6}")
_ALPHABETIC = "A-Za-z\u00c0-\u024f\u0370-\u03ff\u0400-\u04ff"  # Latin, Greek, Cyrillic letters
_FIGURE = re.compile(
    r"(?:EUR|USD|GBP|CNY|RMB|US\$|€|\$|£|¥)\s?\d[\d.,]*"
    r"|\d[\d.,]*\s?(?:%|€|\$|欧元|美元|евро|долларов|유로|달러|euros?|dólares|dolar|avro)?"
    # acronyms as the rulebook writes them (IOSS, GPSR, CE, DSR), also where Chinese or Korean
    # text touches them ("FCC认证", "KC인증": no word boundary there), never a piece of a word
    # in capitals ("İADE": Turkish İ is a letter too)
    rf"|(?<![0-9{_ALPHABETIC}]){_ACRONYM.pattern}(?![0-9{_ALPHABETIC}])"
)
# A count asked of a sum of money is an amount: "de cuánto es la multa", "quel est le montant de
# l'amende" reach the bag as "fine … how many" or "amount fine", which no longer reads as the
# English "how much is the fine" does; the bag says "how much" as well, so the answer is
# checked for a sum.
_MONEY_TERMS = frozenset(
    {
        *("fine", "fines", "fee", "fees", "cost", "costs", "price", "commission", "deposit"),
        *("charge", "charges", "duty", "duties", "tariff", "annual fee", "handling fee"),
        "penalty amount",
    }
)
_COUNT_ASKS = frozenset(["how many", "amount", "how much"])
# Countries and regions the lexicons bridge: they place a rule ("VAT in Spain") but are no rule
# by themselves ("the best football team in Brazil?", "a Ukrainian borscht recipe").
PLACES = english_places() | frozenset(
    [
        "australia",
        "austria",
        "belarus",
        "belgium",
        "brazil",
        "canada",
        "chile",
        "china",
        "czech republic",
        "denmark",
        "eea",
        "eu",
        "europe",
        "finland",
        "france",
        "germany",
        "greece",
        "hungary",
        "india",
        "ireland",
        "israel",
        "italy",
        "japan",
        "kazakhstan",
        "korea",
        "mexico",
        "netherlands",
        "norway",
        "poland",
        "portugal",
        "romania",
        "russia",
        "saudi arabia",
        "south korea",
        "spain",
        "sweden",
        "switzerland",
        "turkey",
        "uae",
        "uk",
        "ukraine",
        "united arab emirates",
        "united kingdom",
        "united states",
        "us",
        "usa",
        "ue",
        "eua",
        "vietnam",
    ]
)
_CURRENCY = {
    "€": "EUR",
    "欧元": "EUR",
    "евро": "EUR",
    "유로": "EUR",
    "euro": "EUR",
    "euros": "EUR",
    "avro": "EUR",
    "$": "USD",
    "美元": "USD",
    "долларов": "USD",
    "달러": "USD",
    "dólares": "USD",
    "dolar": "USD",
}


def _figure(text: str) -> str:
    """ "150 欧元" -> "EUR 150": the rulebook writes amounts with the currency code first."""
    match = re.fullmatch(r"(\d[\d.,]*)\s?(\S+)", text)
    if match and match.group(2) in _CURRENCY:
        return f"{_CURRENCY[match.group(2)]} {match.group(1)}"
    return text


_UNIT = re.compile(
    r"(?P<n>\d[\d.,]*)[\s-]*(?P<unit>working days?|business days?|calendar days?|days?|hours?"
    r"|weeks?|months?|years?|points?|percent|units?|kg)\b",
    re.I,
)


@dataclass
class Translation:
    """A question as the English rulebook's terms, with what was matched."""

    language: str
    english: str
    matched: list[tuple[str, str]] = field(default_factory=list)  # (seller phrase, rule term)
    # share of the question's letters no glossary phrase covers: high when only a word or two
    # of it is rule vocabulary ("¿la capital de Francia?"), low for a rule question
    unbridged: float = 0.0
    # each question sentence's rule terms, when it asks more than one thing: the bag above
    # mixes them, and an answer should hold a sentence for each
    parts: tuple[str, ...] = ()
    # the rule terms of the sentences that ask, when a story comes before them ("my maker is in
    # China. What must the listing show?"): a place in the story is context, not the question
    asking: str = ""
    follow_up: bool = False  # searched together with the seller's earlier questions


@lru_cache(maxsize=4)
def _identifier(languages: tuple[str, ...]):
    """One identifier per language set, restricted once: restricting costs ~4 ms, and a shared
    identifier restricted per question would be state written by every Streamlit thread.

    py3langid's model is LZMA-compressed and covers 97 languages: unpacking it costs every cold
    start 0.6 s or more. So the restricted model is kept unpacked in the user cache the first
    time (about 40 MB, almost all of it the tokeniser's state table, which is mapped from the
    file rather than read), and taken from there after. A cache that is missing, damaged or
    not writable only means the slow way is taken."""
    from py3langid import langid

    cached = _cached_model_dir(
        Path(langid.__file__), langid.MODEL_DIR / langid.MODEL_FILE, languages
    )
    try:
        return _load_restricted(cached)
    except Exception:  # absent or damaged: numpy, zipfile and py3langid raise their own types
        shutil.rmtree(cached, ignore_errors=True)  # a damaged copy is replaced below
    identifier = langid.LanguageIdentifier.from_model_file(langid.MODEL_FILE, norm_probs=True)
    identifier.set_languages(list(languages))
    _save_restricted(identifier, cached)
    return identifier


def _cached_model_dir(code: Path, model: Path, languages: tuple[str, ...]) -> Path:
    """Named for the py3langid release and model it came from and the languages kept."""
    import hashlib

    key = ",".join(languages)
    for path in (code, model):
        stat = path.stat()
        key += f":{path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}"
    return user_cache_dir() / "langid" / hashlib.sha256(key.encode()).hexdigest()[:16]


_STATES = "nextmove.npy"  # the DFA's transition table: mapped, only the rows visited are read
_TABLES = "tables.npz"  # the rest, small


def _load_restricted(folder: Path):
    import numpy as np
    from py3langid.langid import LanguageIdentifier

    # A memoryview indexes like the stdlib array py3langid builds, from the mapped file.
    states = memoryview(np.load(folder / _STATES, mmap_mode="r", allow_pickle=False))
    with np.load(folder / _TABLES, allow_pickle=False) as data:
        return LanguageIdentifier(
            data["ptc"],
            data["pc"],
            data["classes"].tolist(),
            states,
            data["out_feat"].tolist(),
            norm_probs=True,
            tk_row=data["nextmove_row"].tolist(),
        )


def _save_restricted(identifier, folder: Path) -> None:
    """Written to a temporary folder renamed into place, so a reader never sees half a model."""
    import numpy as np

    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=folder.parent, prefix=".tmp-"))
    except OSError:
        return  # a read-only cache: the next start unpacks the model again
    try:
        np.save(staging / _STATES, np.asarray(identifier.tk_nextmove))
        np.savez(
            staging / _TABLES,
            ptc=np.asarray(identifier.nb_ptc),
            pc=np.asarray(identifier.nb_pc),
            classes=np.array(identifier.nb_classes),
            nextmove_row=np.asarray(identifier.tk_row),
            out_feat=np.asarray(identifier.tk_output, dtype=np.int32),
        )
        staging.rename(folder)
    except OSError:  # a full disk, or another process just wrote the same folder
        pass
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def detect(text: str, languages: tuple[str, ...]) -> str:
    """The question's language among `languages` (English when unsure): a script only one of
    them uses decides at once; otherwise py3langid, restricted to those languages."""
    if "en" not in languages:
        languages = ("en", *languages)
    for code, script in _SCRIPT.items():
        if code in languages and script.search(text):
            return code
    if not re.search(r"[^\W\d_]", text):
        return "en"
    code, confidence = _identifier(tuple(sorted(languages))).classify(text)
    return code if confidence >= 0.5 else "en"


@lru_cache(maxsize=1)
def _jieba():
    import jieba

    jieba.setLogLevel(60)  # no "Building prefix dict" chatter on stderr
    return jieba


def word_bounds(text: str, language: str) -> set[int] | None:
    """Offsets where a word starts or ends (None: any offset is a boundary)."""
    if language != "zh":
        return None
    bounds = {0, len(text)}
    # no HMM guessing of unknown words: it glues characters across word edges ("前要" in
    # "上架前要检查", "税是" in "衬衫税是多少") and a glossary phrase could not end there
    for _, start, end in _jieba().tokenize(text, mode="search", HMM=False):
        bounds.update((start, end))
    return bounds


_CN_DIGIT = {
    d: n
    for n, digits in enumerate(["", "一", "二两", "三", "四", "五", "六", "七", "八", "九"])
    for d in digits
}
# A Chinese numeral up to 99 before a measure word ("三次", "七天", "十五天"): sellers write
# counts this way as often as with digits.
_CN_COUNT = re.compile(
    r"([一二两三四五六七八九]?十?[一二三四五六七八九]?)(?=次|天|个|周|月|年|小时|件)"
)


def _cn_count(match: re.Match[str]) -> str:
    text = match.group(1)
    if not text:
        return text
    tens, _, ones = text.rpartition("十")
    if "十" not in text:
        return str(_CN_DIGIT[text]) if len(text) == 1 else text
    value = (_CN_DIGIT.get(tens, 1) if tens else 1) * 10 + (_CN_DIGIT.get(ones, 0) if ones else 0)
    return str(value)


# Latin-script words inside a question written in another script are English terms or names
# as the seller typed them ("72-hour online rate", "DSR", "Ozon"); in a Latin-script language,
# a capitalised word after a sentence's first is a name ("Shopee", "Mercado Libre"), and so is
# any capitalised word Turkish writes its suffix after ("Python'da", "Türkiye'ye"). Both carry
# over, so a platform or product the rulebook never mentions counts against the evidence as it
# does in an English question.
_LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z0-9'’&-]*[A-Za-z0-9]")
_SENTENCE = re.compile(r"(?<=[.?!:;])\s+|[¿¡]")
_WORD = re.compile(r"[^\W\d_]+")
_SUFFIXED_NAME = re.compile(r"\b[^\W\d_]+(?=['’][^\W\d_]{1,6}\b)")


def _is_name(word: str) -> bool:
    return word[0].isupper() and any(c.islower() for c in word[1:])


def _carried_words(question: str, glossary: Glossary, seller: str) -> list[str]:
    """Words kept as written: see `_LATIN_WORD` (acronyms are kept as figures already); a
    word inside a phrase the glossary matched (`seller`) is bridged already."""
    if glossary.language in _SCRIPT:
        words = [w for w in _LATIN_WORD.findall(question) if not w.isupper()]
    else:
        asking = asking_part(question)  # a place in the story is context ("soy de Valencia")
        words = [
            word
            for sentence in _SENTENCE.split(asking)
            for word in _WORD.findall(sentence)[1:]
            if _is_name(word)
        ]
        if glossary.language == "tr":
            words += [w for w in _SUFFIXED_NAME.findall(asking) if _is_name(w)]
    return [
        word
        for word in dict.fromkeys(words)
        if not any(key in seller for key in match_keys(word, glossary.language))
    ]


def translate(question: str, glossary: Glossary) -> Translation:
    """The question as rule terms: each glossary phrase found (on word boundaries) becomes its
    English rule term; figures, acronyms and names are kept as written (a Chinese count as
    digits); other words are dropped."""
    bounds = word_bounds(question, glossary.language)
    matched = glossary.phrases_in(question, bounds)
    english = [en for _, en in matched]
    if glossary.language == "zh":
        question = _CN_COUNT.sub(_cn_count, question)
    figures = [_figure(m.group().strip()) for m in _FIGURE.finditer(question)]
    # the phrases as matched (folded, plain or stemmed): an acronym inside one is bridged
    # already ("compradores de la UE" -> EU buyers); kept as well, it would read as a name the
    # rulebook lacks
    seller = " ".join(written for written, _ in matched)
    figures = [
        f
        for f in figures
        if not _ACRONYM.fullmatch(f)
        or not any(
            re.search(rf"\b{re.escape(key)}\b", seller) for key in match_keys(f, glossary.language)
        )
    ]
    # Names, places and figures go with rule words (a glossary phrase, or an acronym such as
    # IOSS), never alone: "¿la capital de Australia?", "2x + 5 = 17" or "a recipe for 6" is no
    # rule question.
    rule_words = [e for e in english if e.lower() not in PLACES] + [
        f for f in figures if _ACRONYM.fullmatch(f) and f.lower() not in PLACES
    ]
    if not rule_words:
        return Translation(glossary.language, "", matched, 1.0)
    kept = _carried_words(question, glossary, seller)
    carried = {word.lower() for word in kept}
    platforms = [name for name in _marketplaces(question) if name not in carried]
    asks_sum = [] if not _asks_money(english) else ["how much"]
    query = " ".join(dict.fromkeys([*english, *asks_sum, *kept, *figures, *platforms])).strip()
    asking = asking_part(question)
    return Translation(
        glossary.language,
        query,
        matched,
        _unbridged(question, matched),
        _parts(question, glossary),
        translate(asking, glossary).english if asking != question else "",
    )


# "Ok top.", "好的，", "Vale,": an acknowledgement before the follow-up itself
_ACK_WORD = r"[^\s,.!?，。！？、]{1,12}"
_ACKNOWLEDGED = re.compile(rf"^\s*{_ACK_WORD}(?:\s+{_ACK_WORD})?\s*[,.!，。！、]\s*")
_FOLLOW_UP_TURNS = 3  # earlier turns a chain of follow-ups may reach back over


def leans_on_earlier(question: str, glossary: Glossary) -> bool:
    """The question opens with one of its language's follow-up words ("那…", "y si…", "а
    если…"), after any acknowledgement ("Ok top.", "好的，"): it is about the earlier question.
    Outside Chinese a marker ends where a word ends ("e " is not "em")."""
    text = question.strip().lstrip("¿¡").lower()
    for candidate in (text, _ACKNOWLEDGED.sub("", text, count=1).lstrip("¿¡")):
        for marker in glossary.data.follow_up:
            rest = candidate[len(marker) :]
            if candidate.startswith(marker) and (
                glossary.language == "zh" or not rest or not rest[0].isalnum()
            ):
                return True
    return False


def with_conversation(
    question: str,
    history: Sequence[dict] | None,
    glossary: Glossary,
    language_of: Callable[[str], str],
) -> Translation:
    """A follow-up in another language searched together with the seller's earlier questions
    in that language: "那发英国的呢？" after a question about the EU's VAT threshold is about
    that threshold. The new question still decides what is asked (its own terms and parts)."""
    own = translate(question, glossary)
    if (
        not history
        or not leans_on_earlier(question, glossary)
        or _own_topics(own) >= OWN_TOPIC_TERMS  # "et côté retours et garantie…"
    ):
        return own
    chain: list[str] = []
    for turn in reversed(user_turns(history)[-_FOLLOW_UP_TURNS:]):
        if language_of(turn) != glossary.language:
            break  # a turn in another language starts no chain in this one
        chain.insert(0, turn)
        if not leans_on_earlier(turn, glossary):
            break
    both = translate("\n".join([*chain, question]), glossary) if chain else own
    if not both.english:
        return own
    return replace(both, parts=own.parts, asking=own.english or both.asking, follow_up=True)


def _asks_money(english: list[str]) -> bool:
    """The matched rule terms ask a count or an amount of a fine, fee or price."""
    found = {term.lower() for term in english}
    return bool(found & _COUNT_ASKS) and bool(found & _MONEY_TERMS)


def _own_topics(own: Translation) -> int:
    """The seller's phrases that carry rule terms: one phrase is one topic however many rule
    terms the glossary gives it ("fiche produit" -> product page, listing, item)."""
    return len({written for written, english in own.matched if terms(english)})


def _marketplaces(question: str) -> list[str]:
    """Another marketplace the question names, carried into the bag of rule terms: a rule of
    Mercado Libre or Coupang is not AliExpress's, and the bag alone would not show it."""
    found = (m.group(0).lower() for m in OTHER_MARKETPLACE.finditer(question))
    return [MARKETPLACE_SCRIPT_NAMES.get(name, name) for name in found]


# Where a question's next ask starts: after a question or full stop mark, on a new line, or
# at a number that opens a list item ("1) ... 2) ...", "2、").
_ASK_BREAK = re.compile(r"(?<=[?？!！。])\s*|\n+|\s*(?<!\d)(?=\d[).）、]\s*\D)")


def _parts(question: str, glossary: Glossary) -> tuple[str, ...]:
    """The rule terms of each sentence that has some, when there are two or more (a line
    that ends in a colon introduces the next one and joins it)."""
    pieces: list[str] = []
    for piece in _ASK_BREAK.split(question):
        if pieces and pieces[-1].rstrip().endswith((":", "：")):
            pieces[-1] += piece
        else:
            pieces.append(piece)
    parts = []
    for piece in pieces:
        bounds = word_bounds(piece, glossary.language)
        words = dict.fromkeys(en for _, en in glossary.phrases_in(piece, bounds))
        if words:
            parts.append(" ".join(words))
    return tuple(parts) if len(parts) > 1 else ()


def _letters(text: str) -> int:
    return sum(1 for c in text if c.isalpha())


def _unbridged(question: str, matched: list[tuple[str, str]]) -> float:
    """Letters outside the matched phrases, as a share of the question's letters (a phrase
    counts once, in its matched form, so stems count a little short)."""
    total = _letters(question)
    covered = sum(_letters(phrase) for phrase in {p for p, _ in matched})
    return max(0.0, 1.0 - covered / total) if total else 1.0


# Figures every language writes the same way: a percentage, an amount with its currency.
_SAME_EVERYWHERE = re.compile(
    r"\d(?:[\d.,]*\d)?\s?%|\b(?:EUR|USD|GBP|CNY|RMB)\s?\d(?:[\d.,]*\d)?|[€$£¥]\s?\d(?:[\d.,]*\d)?"
)


def _first_figure(glossary: Glossary, sentence: str) -> str:
    """The sentence's first figure: a count with its unit in the seller's language ("5 天"),
    or a percentage or amount as written ("17%", "EUR 150")."""
    unit = _UNIT.search(sentence)
    same = _SAME_EVERYWHERE.search(sentence)
    if same and (unit is None or same.start() < unit.start()):
        return same.group()
    if unit is None:
        return ""
    word = unit.group("unit").lower()
    if word == "percent":
        return f"{unit.group('n')}%"
    local = glossary.data.units.get(word) or glossary.data.units.get(word.rstrip("s"))
    sep = "" if glossary.language in ("zh", "ko") and local else " "
    return f"{unit.group('n')}{sep}{local or word}"


def key_point_line(glossary: Glossary, sentence: str, marker: int) -> str:
    """ "规则要点：5 天 · 退款申请 [1]": the cited sentence's first figure (with its unit in the
    seller's language), and the glossary's words for the rule terms it contains. Empty when
    the sentence has neither."""
    figure = _first_figure(glossary, sentence)
    parts: list[str] = [figure] if figure else []
    lowered = sentence.lower()
    used: list[str] = []
    for rule, pattern, term in glossary.rule_terms:
        if len(parts) >= 3:
            break
        if any(rule in longer for longer in used):  # "refund" inside "refund request"
            continue
        if figure and (re.search(r"\d", rule) or rule in glossary.data.units):
            continue  # "365 days", "eur 150", "days": the figure says it already
        if pattern.search(lowered):
            used.append(rule)
            parts.append(term)
    if not parts:
        return ""
    label = glossary.data.key_point or "Key point"
    colon = "：" if glossary.language == "zh" else ": "
    return f"{label}{colon}{' · '.join(parts)} [{marker}]"
