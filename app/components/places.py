"""Country names in every language the glossaries bridge, from CLDR (Babel's locale data).

A seller asking about "the duty-free limit in Kazakhstan" in Russian or Turkish names a country
the rulebook never covers; when the bridge drops that name, the question reads as the covered
EU one and gets the EU answer. The hand-written glossaries list the countries their writers
thought of; CLDR has every country in every language, so a name carries over however the
seller writes it. Only countries a cross-border seller plausibly asks about are taken: a short
name such as Korean 가나 (Ghana) or 인도 (India, also "handing over goods") would match
ordinary words.
"""

from __future__ import annotations

from functools import cache

# ISO 3166 codes: the EU and the rest of Europe, the Americas, Asia, the Middle East, Africa
# and Oceania as sellers ship there.
# fmt: off
_CODES = (
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT",
    "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE", "GB", "NO", "CH",
    "IS", "UA", "BY", "RU", "RS", "MD", "US", "CA", "MX", "BR", "AR", "CL", "CO", "PE", "UY",
    "EC", "CN", "HK", "TW", "JP", "KR", "IN", "ID", "MY", "TH", "VN", "PH", "SG", "PK", "BD",
    "KZ", "UZ", "KG", "AE", "SA", "IL", "TR", "QA", "KW", "EG", "MA", "NG", "ZA", "KE", "AU",
    "NZ",
)
# fmt: on
# English names as sellers and the rulebook write them, where CLDR's differ.
_ENGLISH = {
    "TR": "turkey",
    "HK": "hong kong",
    "CZ": "czech republic",
}
# Words that name no country on their own ("united" states, "south" korea).
_GENERIC = frozenset({"united", "states", "kingdom", "republic", "south", "north", "new", "arab"})
# A name that is also an everyday word in that language, or a body part of a longer one.
_SKIP = {("ko", "IN")}
# Names sellers write that CLDR does not give (short forms).
_ALIASES = {
    "ru": {"США": "US", "Штаты": "US", "Англия": "GB", "Эмираты": "AE"},
    "ko": {"호주": "AU"},
    "zh": {"澳洲": "AU"},
    "tr": {"ABD": "US", "Amerika": "US", "İngiltere": "GB"},
    "es": {"EEUU": "US", "EE. UU.": "US"},
    "pt": {"EUA": "US"},
}


def english_name(code: str) -> str:
    from babel import Locale

    return _ENGLISH.get(code) or Locale.parse("en").territories[code].lower()


@cache
def country_names(language: str) -> dict[str, str]:
    """{a country's name in `language`: its English name}, empty for a language CLDR lacks."""
    from babel import Locale, UnknownLocaleError

    try:
        local = Locale.parse(language).territories
    except (UnknownLocaleError, ValueError):
        return {}
    names = {
        local[code]: english_name(code)
        for code in _CODES
        if code in local and (language, code) not in _SKIP
    }
    names.update({name: english_name(code) for name, code in _ALIASES.get(language, {}).items()})
    return names


# A glossary that already bridges a country under one of these names needs no CLDR pair.
_SAME_PLACE = {
    "united states": {"us", "usa"},
    "united kingdom": {"uk", "britain"},
    "south korea": {"korea"},
}


def new_country_pairs(language: str, known: set[str]) -> list[tuple[str, str]]:
    """(name in `language`, English name) for the countries a glossary does not bridge yet:
    `known` holds its rule terms and its phrases, folded."""
    return [
        (name, en)
        for name, en in country_names(language).items()
        if en not in known and not _SAME_PLACE.get(en, set()) & known and name.lower() not in known
    ]


@cache
def english_places() -> frozenset[str]:
    """Every country's English name: a place sets where a rule applies, it is no rule itself."""
    return frozenset(english_name(code) for code in _CODES)


@cache
def place_words() -> frozenset[str]:
    """Words of English country names that name a country by themselves ("kazakhstan",
    "korea"): a seller typing one in lower case still names a place."""
    return frozenset(
        word
        for name in english_places()
        for word in name.split()
        if len(word) >= 4 and word not in _GENERIC
    )
