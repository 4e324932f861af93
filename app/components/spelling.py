"""Typo correction against the knowledge base's own vocabulary.

Sellers type fast ("how many dayz to respnd to a refnd"); a misspelt word matches nothing in
BM25 and shifts the embedding. A word is left alone when the corpus knows it or when it is a
real English word (the embedding model's own WordPiece vocabulary serves as the lexicon), and
it is replaced only by a close corpus word, so names the corpus lacks stay as typed.
"""

from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache
from pathlib import Path

from rapidfuzz import fuzz, process

from app.components.text import OTHER_MARKETPLACE

_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*[A-Za-z]|[A-Za-z]")
# Chat shorthand for the words that carry a question's intent ("how mny", "wat is"): too short
# for fuzzy correction, which leaves words under four letters alone. Matched as typed, in lower
# case, so "U.S." and "R$" stay.
CHAT_SHORTHAND = {
    "wat": "what",
    "wht": "what",
    "wot": "what",
    "mny": "many",
    "hw": "how",
    "wen": "when",
    "u": "you",
    "ur": "your",
    "r": "are",
    "cn": "can",
    "abt": "about",
    "pls": "please",
    "plz": "please",
    # ...and for the rule words sellers shorten ("how long do pts stay on my acct")
    "pts": "points",
    "acct": "account",
    "accts": "accounts",
    "amt": "amount",
    "qty": "quantity",
    "pkg": "package",
    "pkgs": "packages",
    "msg": "message",
    "msgs": "messages",
    "yr": "year",
    "yrs": "years",
    "hr": "hour",
    "hrs": "hours",
    "wk": "week",
    "wks": "weeks",
    "mins": "minutes",
    "govt": "government",
    "intl": "international",
    "biz": "business",
    "cust": "customer",
    "custs": "customers",
    "bc": "because",
    "cuz": "because",
    "prod": "product",
    "prods": "products",
    "addr": "address",
    "cert": "certificate",
    "certs": "certificates",
    "docs": "documents",
    "pics": "pictures",
    "desc": "description",
}


@lru_cache(maxsize=4)
def english_lexicon(model_path: Path) -> frozenset[str]:
    """Whole words of the model's WordPiece vocabulary (empty if the model has none)."""
    vocab = model_path / "vocab.txt"
    if not vocab.is_file():
        return frozenset()
    words = vocab.read_text(encoding="utf-8").split()
    return frozenset(w for w in words if w.isalpha() and len(w) >= 2)


class Speller:
    def __init__(
        self, texts: list[str], lexicon: frozenset[str] = frozenset(), min_score: float = 80.0
    ) -> None:
        self.counts: Counter[str] = Counter(
            w.lower() for text in texts for w in _WORD.findall(text)
        )
        self.words = [w for w in self.counts if len(w) >= 3]
        self.lexicon = lexicon
        self.min_score = min_score

    def known(self, word: str) -> bool:
        return word.lower() in self.counts

    def fix_word(self, word: str) -> str:
        if word in CHAT_SHORTHAND:
            return CHAT_SHORTHAND[word]
        lower = word.lower()
        base = lower.removesuffix("'s").removesuffix("’s")
        if (
            len(lower) < 4
            or base in self.counts
            or base in self.lexicon
            or not self.words
            or OTHER_MARKETPLACE.fullmatch(base)
        ):
            return word
        matches = process.extract(
            lower, self.words, scorer=fuzz.ratio, score_cutoff=self.min_score, limit=5
        )
        if not matches:
            return word
        best = max(matches, key=lambda m: (m[1], self.counts[m[0]]))
        return best[0]

    def correct(self, text: str) -> str:
        return _WORD.sub(lambda m: self.fix_word(m.group()), text)
