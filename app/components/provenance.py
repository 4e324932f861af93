"""Where a rule sentence comes from: the authority of its source and the date of the rule text.

Documents name sources per fact, in lines like
`Source: https://... (official, 2020-08-25)` or
`Sources: https://a (third-party, undated); https://b (official copy, 2021-12-31)`.
A source without a tag takes the document's front matter (`authority`, `rule_date`), else an
authority read from its web address (AliExpress, Alibaba, Alipay and IPP domains are official).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from urllib.parse import urlparse

from app.components.text import BULLET

# Strongest first. "law text" is official for what the law says, not for platform rules.
AUTHORITIES = ("official", "law text", "official copy", "third-party", "forum")
LABELS = {
    "official": "Official AliExpress rules",
    "law text": "Law text",
    "official copy": "Copy of official rules",
    "third-party": "Third-party guide",
    "forum": "Forum post",
}
# How much a sentence's source adds to its rank: a near-tie goes to the stronger source.
WEIGHT = {"official": 1.0, "law text": 1.0, "official copy": 0.7, "third-party": 0.3, "forum": 0.0}
WEAK = frozenset({"third-party", "forum"})

_OFFICIAL_HOSTS = re.compile(
    r"(^|\.)(aliexpress\.(com|ru|us)|laliexpress\.com|alicdn\.com|alibaba\.com|"
    r"alibabagroup\.com|alipay\.com|tmall\.ru)$"
)
_COPY_HOSTS = re.compile(
    r"(^|\.)(christinasbeautyjourney\.blogspot\.com|alifaq\.org|aliexpress\.in\.ua)$"
)
_LAW_HOSTS = re.compile(
    r"(^|\.)(europa\.eu|eur-lex\.europa\.eu|law\.cornell\.edu|ecfr\.gov|govinfo\.gov)$"
)
_FORUM_HOSTS = re.compile(r"(^|\.)(reddit\.com|quora\.com|trustpilot\.com|sitejabber\.com)$")

_DATE = r"\d{4}(?:-\d{2}){0,2}|undated"
_TAGGED = re.compile(
    rf"(https?://[^\s)>\]]+?)[.,;]?\s*\(\s*({'|'.join(AUTHORITIES)})\s*(?:,\s*({_DATE}))?\s*\)",
    re.I,
)
_URL = re.compile(r"https?://[^\s)>\]]+")
_SOURCE_MARK = re.compile(r"\bSources?:", re.I)
# Where a paragraph says that its sources disagree (chunking flags it, answers show it whole).
CONFLICT = re.compile(r"\bconflict|\bsources (?:disagree|differ)", re.I)


@dataclass(frozen=True)
class SourceRef:
    url: str
    authority: str  # one of AUTHORITIES
    date: str = ""  # YYYY[-MM[-DD]], "undated" or "" (not given)

    @property
    def label(self) -> str:
        return LABELS.get(self.authority, "Open source")


def authority_of_url(url: str) -> str:
    """The authority a web address implies when the document gives no tag."""
    host = (urlparse(url).hostname or "").lower()
    if _OFFICIAL_HOSTS.search(host):
        return "official"
    if _COPY_HOSTS.search(host):
        return "official copy"
    if _LAW_HOSTS.search(host):
        return "law text"
    if _FORUM_HOSTS.search(host):
        return "forum"
    return "third-party"


def normal_authority(value: object) -> str:
    text = str(value or "").strip().lower().replace("_", " ").replace("thirdparty", "third-party")
    text = "third-party" if text == "third party" else text
    return text if text in AUTHORITIES else ""


def normal_date(value: object) -> str:
    text = str(value or "").strip()
    return text if re.fullmatch(_DATE, text) else ""


def refs_in(text: str, authority: str = "", rule_date: str = "") -> list[SourceRef]:
    """Every source a stretch of text names, tagged or not (untagged ones take the defaults)."""
    tagged = {m.group(1): m for m in _TAGGED.finditer(text)}
    refs: list[SourceRef] = []
    for found in _URL.finditer(text):
        url = found.group().rstrip(".,;")
        match = tagged.get(url)
        if match:
            refs.append(SourceRef(url, match.group(2).lower(), (match.group(3) or "").lower()))
        else:
            refs.append(SourceRef(url, authority or authority_of_url(url), rule_date))
    return refs


def refs_for(text: str, start: int, authority: str = "", rule_date: str = "") -> list[SourceRef]:
    """The sources a sentence starting at `start` rests on. Documents name them at the end of
    the sentence's line, on a "Source:" line after its paragraph or list, or (for a list item)
    on the line introducing the list; failing those, the nearest mention before it."""
    lines, at = [], 0
    for line in text.split("\n"):
        lines.append((at, line))
        at += len(line) + 1
    index = max(i for i, (begin, _) in enumerate(lines) if begin <= start)
    begin, line = lines[index]
    own = _SOURCE_MARK.search(line, start - begin)
    if own:
        return refs_in(line[own.start() :], authority, rule_date)
    item = BULLET.match(line) is not None
    following = index + 1
    while item and following < len(lines) and BULLET.match(lines[following][1]):
        following += 1
    if following < len(lines) and _SOURCE_MARK.match(lines[following][1].strip()):
        return refs_in(lines[following][1], authority, rule_date)
    for _, earlier in reversed(lines[:index]):
        if item and BULLET.match(earlier):
            continue
        mark = _SOURCE_MARK.search(earlier)
        if mark and item:
            return refs_in(earlier[mark.start() :], authority, rule_date)
        break
    before = [m for m in _SOURCE_MARK.finditer(text, 0, start)]
    if before:
        end = text.find("\n", before[-1].start())
        return refs_in(text[before[-1].start() : None if end < 0 else end], authority, rule_date)
    return []


def strongest(refs: list[SourceRef]) -> SourceRef | None:
    """The most authoritative source; among equals the newest dated one."""
    if not refs:
        return None
    return min(refs, key=lambda r: (AUTHORITIES.index(r.authority), _negated(r.date)))


def newest(refs: list[SourceRef]) -> SourceRef | None:
    dated = [r for r in refs if _parsed(r.date)]
    return max(dated, key=lambda r: _parsed(r.date)) if dated else None


def age_years(rule_date: str, today: date | None = None) -> float | None:
    """How old a rule text is, in years (None when undated)."""
    when = _parsed(rule_date)
    if when is None:
        return None
    return ((today or date.today()) - when).days / 365.25


def _parsed(value: str) -> date | None:
    parts = value.split("-") if value and value != "undated" else []
    try:
        numbers = [int(p) for p in parts]
        if len(numbers) == 1:
            return date(numbers[0], 12, 31)  # a year alone: its latest day, so never too old
        if len(numbers) == 2:
            return date(numbers[0], numbers[1], 28)
        if len(numbers) == 3:
            return date(*numbers)
    except ValueError:
        return None
    return None


def _negated(value: str) -> int:
    when = _parsed(value)
    return -when.toordinal() if when else 0
