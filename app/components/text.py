"""Sentence splitting and term extraction shared by retrieval, answering and evaluation.

Sentences are cut inside one line only, so every quote is a verbatim substring of the
indexed text (and of a Markdown or text source file).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import Stemmer
from bm25s.stopwords import STOPWORDS_EN

# fmt: off
NUMBER_WORDS = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
    "nineteen", "twenty",
)
# fmt: on
# A count as the rulebook may write it: digits, or a number word from two up ("three layers",
# "seven days"; "one" is too often no count: "no one", "one of the").
COUNT = rf"(?:\d+(?:[.,]\d+)?|{'|'.join(NUMBER_WORDS[2:])}|thirty|forty|fifty|sixty|ninety)"
# Marketplaces other than AliExpress as other scripts write them, with the name the rulebook
# would use ("虾皮" is Shopee, which the Brazil rules name): one table for the rule check and
# for the bag of rule terms a question from another language is bridged to.
MARKETPLACE_SCRIPT_NAMES = {
    "亚马逊": "amazon",
    "淘宝": "taobao",
    "天猫": "tmall",
    "拼多多": "pinduoduo",
    "京东": "jd.com",
    "希音": "shein",
    "虾皮": "shopee",
    "蝦皮": "shopee",
    "来赞达": "lazada",
    "易贝": "ebay",
    "抖音电商": "tiktok",
    "闲鱼": "xianyu",
    "амазон": "amazon",
    "озон": "ozon",
    "вайлдберриз": "wildberries",
    "ибэй": "ebay",
    "ибей": "ebay",
    "яндекс маркет": "yandex market",
    "мегамаркет": "megamarket",
    "авито": "avito",
    "ламода": "lamoda",
    "아마존": "amazon",
    "쿠팡": "coupang",
    "테무": "temu",
    "쇼피": "shopee",
    "이베이": "ebay",
    "쉬인": "shein",
    "라자다": "lazada",
    "지마켓": "gmarket",
    "11번가": "11st",
    "알라딘": "aladin",
    "네이버 스마트스토어": "naver",
}
# Marketplaces other than AliExpress: a question about their rules is one this rulebook was
# not written for, however close its words ("Shopee's penalty points for late shipping"),
# and a name the speller must leave as typed ("shopee" is no typo of "shop"). Names in other
# scripts match as a prefix: Russian declines them (на Озоне, на Мегамаркете).
OTHER_MARKETPLACE = re.compile(
    r"\b(amazon|ebay|temu|shopee|etsy|lazada|mercado ?libre|mercado ?livre|walmart|shein"
    r"|tiktok|alibaba\.com|joom|ozon|wildberries|allegro|jumia|daraz|rakuten|cdiscount"
    r"|zalando|bol\.com|kaufland|coupang|flipkart|taobao|tmall|pinduoduo|jd\.com|dhgate"
    r"|banggood|shopify|vinted|mercari|poshmark|depop|trendyol|hepsiburada|gmarket|naver"
    r"|yandex market|facebook marketplace|magalu|americanas|falabella|leboncoin|fnac|n11"
    r"|çiçeksepeti|megamarket|xianyu|avito|lamoda|11st|aladin)\b"
    rf"|{'|'.join(map(re.escape, MARKETPLACE_SCRIPT_NAMES))}",
    re.I,
)

# A marketplace named as where the seller comes from or what it is compared with ("moving
# over from Etsy", "unlike eBay", "the same as AliExpress", "on Amazon I could...") is the
# story or the yardstick, not the platform asked about.
_FRAMED = re.compile(
    r"\b(?:from|unlike|like|than|as|versus|vs\.?|compared (?:to|with)|used to (?:sell )?on"
    r"|(?:moving|switching|migrating|coming)(?: over)?(?: from)?)"
    r"(?: (?:the|my|our|a|an|on|at|in|with|ones?|what|how|i|we|do|did|had|sell|sold)){0,3}\s+$",
    re.I,
)
_PAST_ON = re.compile(
    r"^,? (?:i|we) (?:could|used|was|were|had|did|never|always|only|just)\b", re.I
)
# AliExpress as sellers write it; "here" is this platform to someone asking this assistant
_ALIEXPRESS = re.compile(r"\b(?:(?i:ali ?express|aliexpres|ali|here)|AE)\b")
_ON_BEFORE = re.compile(r"\bon\s+$", re.I)


def _unframed(text: str, pattern: re.Pattern[str]) -> set[str]:
    named = set()
    for m in pattern.finditer(text):
        before, after = text[: m.start()], text[m.end() :]
        if _FRAMED.search(before[-40:]) or (
            _ON_BEFORE.search(before[-4:]) and _PAST_ON.match(after)
        ):
            continue
        named.add(m.group(0).lower())
    return named


def marketplaces_asked(question: str) -> set[str]:
    """Other marketplaces the question asks about. One named where the seller asks counts
    unless AliExpress is asked about there too; one named in the story counts unless the
    question names AliExpress ("eBay pings me at once... On AliExpress, how long have I got?")."""
    for text in (asking_part(question), question):
        if named := _unframed(text, OTHER_MARKETPLACE):
            return set() if _unframed(text, _ALIEXPRESS) else named
    return set()


_SENTENCE_END = re.compile(r"(?<=[.?!])\s+|(?<=[。？！])\s*")


# A chat message's last line often asks without its question mark ("...how long do i have").
_UNMARKED_ASK = re.compile(
    r"(?:how|what|whats|what's|when|where|which|who|why|can|could|do|does|did|is|are|will"
    r"|would|should|may|must|am)\b[^.!。！]*$",
    re.I,
)


def asking_part(question: str) -> str:
    """The sentences that ask ("...What do I do?"), without the story told before them: a
    scenario's names and details are context, not what the answer must hold."""
    parts = [p.strip() for p in _SENTENCE_END.split(question.strip()) if p.strip()]
    asking = [
        p
        for i, p in enumerate(parts)
        if p.endswith(("?", "？")) or (i == len(parts) - 1 and _UNMARKED_ASK.match(p))
    ]
    return " ".join(asking) if asking else question


BULLET = re.compile(r"^\s*(?:[-*+•]|\d{1,2}[.)])\s+")  # a list item's marker
_ABBREVIATIONS = (
    "e.g",
    "i.e",
    "etc",
    "vs",
    "no",
    "art",
    "approx",
    "incl",
    "u.s",
    "u.s.c",
    "u.k",
    "e.u",
    "fig",
    "sec",
    "p",
    "pp",
    "st",
    "mr",
    "ms",
    "dr",
    "inc",
    "ltd",
    "co",
)
# A sentence ends at . ! ? before a capital or digit, and before an inline "Source: ..." (the
# reference is not part of what is quoted).
_BOUNDARY = re.compile(r"(?<=[.!?])[\"')\]]?\s+(?=[\"'(\[]?[A-Z0-9])|\s+(?=Sources?:\s)")
_WORD = re.compile(r"[^\W_]+(?:[.'’][^\W_]+)*", re.UNICODE)
_QUESTION_WORDS = [
    "how",
    "many",
    "much",
    "what",
    "when",
    "which",
    "who",
    "whom",
    "whose",
    "why",
    "where",
    "does",
    "do",
    "did",
    "doing",
    "have",
    "has",
    "had",
    "can",
    "could",
    "should",
    "would",
    "will",
    "shall",
    "may",
    "might",
    "must",
    "i",
    "i'm",
    "me",
    "my",
    "mine",
    "we",
    "our",
    "ours",
    "you",
    "your",
    "yours",
    "get",
    "got",
    "till",
    "need",
    "know",
    "tell",
    "please",
    "there",
    "here",
    "any",
    "some",
    "also",
    "just",
    "like",
    "want",
    "s",
    "t",
]
# content terms that let a question opening like a follow-up stand as a new topic
OWN_TOPIC_TERMS = 4
# the platform's own name and its short forms ("AE", "ali") are in every rule: no search term
_PLATFORM = {"aliexpress", "ae", "ali", "seller", "sellers"}
_STOP = frozenset(STOPWORDS_EN) | frozenset(_QUESTION_WORDS) | _PLATFORM


_POSSESSIVE = re.compile(r"'s?$")


@dataclass(frozen=True)
class Sentence:
    text: str
    start: int  # offset in the passage text, so a quote can always be checked in place


def split_sentences(text: str) -> list[Sentence]:
    """Split into sentences that never cross a line; bullets and headings are trimmed."""
    out: list[Sentence] = []
    offset = 0
    for line in text.splitlines(keepends=True):
        body = line.rstrip("\r\n")
        stripped = body.strip()
        if stripped and not stripped.startswith(("#", "|", "---", "```")):
            lead = BULLET.match(body)
            start = lead.end() if lead else len(body) - len(body.lstrip())
            out.extend(_split_line(body, start, offset))
        offset += len(line)
    return out


def _split_line(line: str, start: int, offset: int) -> list[Sentence]:
    pieces: list[Sentence] = []
    cut = start
    for match in _BOUNDARY.finditer(line, start):
        before = line[cut : match.start()].rstrip()
        last_word = before.rsplit(None, 1)[-1].rstrip(".!?").lower() if before else ""
        if last_word in _ABBREVIATIONS or re.fullmatch(r"[a-z]", last_word):
            continue
        pieces.append(_make(line, cut, match.start(), offset))
        cut = match.end()
    pieces.append(_make(line, cut, len(line), offset))
    return [p for p in pieces if len(p.text) >= 12 and any(ch.isalpha() for ch in p.text)]


def _make(line: str, begin: int, end: int, offset: int) -> Sentence:
    raw = line[begin:end]
    lead = len(raw) - len(raw.lstrip())
    return Sentence(raw.strip(), offset + begin + lead)


@lru_cache(maxsize=1)
def _stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("english")


@lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    return _stemmer().stemWord(word)


def terms(text: str) -> list[str]:
    """Lower-cased, stop-word-free, stemmed content words (numbers kept: they carry the rules)."""
    # a possessive is its word: "AliExpress's" is the platform's name, a stop word like it
    words = (_POSSESSIVE.sub("", w.lower().replace("’", "'")) for w in _WORD.findall(text))
    return [_stem(w) for w in words if w not in _STOP and (len(w) > 1 or w.isdigit())]


@lru_cache(maxsize=16384)
def term_set(text: str) -> frozenset[str]:
    """`terms` as a set, cached: the rulebook's sentences and headings are scored again on
    every question that retrieves them."""
    return frozenset(terms(text))


# A section may open with questions it answers, in sellers' words (search keys, never quoted):
# <!-- sellers ask
# - can my cousin order from my shop?
# -->
ASKS_BLOCK = re.compile(r"<!--\s*sellers ask\s*\n(.*?)-->[ \t]*\n?", re.S | re.I)
_ASK_ITEM = re.compile(r"^\s*[-*]\s+(.+?)\s*$", re.M)


def split_asks(text: str) -> tuple[str, list[str]]:
    """The text without its "sellers ask" blocks, and the questions they held."""
    asks = [q for block in ASKS_BLOCK.findall(text) for q in _ASK_ITEM.findall(block)]
    return ASKS_BLOCK.sub("", text), asks


# Documents end paragraphs with a "Source: <address>" line: a reference, not quotable text.
SOURCE_LINE = re.compile(r"^\s*Sources?:.*$", re.M | re.I)
# ...or end a line with one, after the sentence it backs.
_REFERENCE = re.compile(r"[ \t]*\bSources?:[ \t]+(?:https?://|www\.)[^\n]*", re.I)


def without_references(text: str) -> str:
    """What a chunk's vector is computed from: its text without "Source: <address>"
    references. Addresses are noise to the model and, past its 256-token window, crowd out
    rule text (on dev: recall@1 0.816 -> 0.837, key facts 0.832 -> 0.845)."""
    return _REFERENCE.sub("", text)


_ADDRESS = re.compile(r"\bhttps?://\S+|\bwww\.\S+", re.I)


def without_addresses(text: str) -> str:
    """The text with its web addresses blanked: a word seen only in a source's address
    ("...-por-aliexpress-e-shopee.shtml") is not a word the rulebook uses."""
    return _ADDRESS.sub(" ", text)


def body_of(page_content: str) -> str:
    """A chunk's text without the `# title > section` line the chunker puts first."""
    first, _, rest = page_content.partition("\n")
    return rest if first.startswith("# ") else page_content


# Text in a document that addresses an AI rather than a seller; it is removed before a source
# reaches an LLM (a rulebook has no reason to tell the reader to ignore its instructions).
_INSTRUCTION = re.compile(
    r"\b(ignore|disregard|forget|override)\b.{0,40}\b(instructions?|prompts?|rules|guidelines)\b"
    r"|\bsystem prompt\b|\byou are now\b|\b(as an? (ai|assistant|language model))\b"
    r"|\b(reveal|print|output|repeat|show)\b.{0,30}\b(prompt|api[ -]?keys?|passwords?|secrets?)\b"
    r"|\b(respond|reply|answer)\b.{0,20}\bonly with\b",
    re.I,
)


def looks_like_instruction(text: str) -> bool:
    return bool(_INSTRUCTION.search(text))


def plural(count: int, noun: str, many: str | None = None) -> str:
    """Counts as people read them, 1 passage and 2 passages, never passage(s)."""
    return f"{count} {noun if count == 1 else many or noun + 's'}"


def user_turns(history: Sequence[dict] | None) -> list[str]:
    """The seller's own earlier questions in a conversation, blank and malformed turns left out."""
    return [
        str(m.get("content", "")).strip()
        for m in (history or [])
        if isinstance(m, dict) and m.get("role") == "user" and str(m.get("content", "")).strip()
    ]


# a question mark inside brackets ("(per parcel? per item?)") is an aside, not a new part
_PART_BREAK = re.compile(
    r"\?\s+(?=\S)(?![^()]*\))|[,;]?\s+(?:and|but|also)\s+(?=(?:what|how|when|where|who|which|why|is|are|"
    r"can|could|do|does|did|was|were|will|would|should|must|if)\b)"
    r"|[,;]?(?:\s+and)?\s+(?=\(?[2-9]\)\s)",  # "1) ..., 2) ...": a numbered list of questions
    re.I,
)


# "Two things about carrier complaints: how many..., and how long...?": the words before the
# colon are the topic of every part, not the first part's own.
_TOPIC_LEAD = re.compile(
    r"^[^:?!.]{3,100}:\s+(?=(?:what|how|when|where|who|which|why|is|are|can|do|does)\b"
    r"|\(?1[.)]\s)",
    re.I,
)


_NUMBERED = re.compile(r"^\s*\(?\d[.)]\s+")  # a part's own number ("2) ...", "(1) ...")


def question_parts(question: str) -> list[str]:
    """A question that asks two things ("how long do I have, and what happens if I
    don't?"), cut where the second one starts."""
    question = _TOPIC_LEAD.sub("", question)
    parts = (_NUMBERED.sub("", part).strip(" ,;?") for part in _PART_BREAK.split(question))
    return [p for p in parts if p]
