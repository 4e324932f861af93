"""Authority and rule dates read from the documents' source lines, and what answers say about
them (rule dates, old-rule warnings, third-party-only answers, conflicts between sources)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from app.components.provenance import authority_of_url, refs_for, refs_in, strongest
from app.components.retriever import passage_from
from app.components.text import split_sentences, without_references
from app.services.sourcing import authority_note, conflict_note, conflict_spans, date_notes

TEXT = (
    "# Penalties > Points\n"
    "A serious violation costs 12 points. Source: https://sell.aliexpress.com/a.htm "
    "(official, 2020-08-25)\n"
    "Each block of points brings a freeze:\n"
    "- 12 points freeze the store for 7 days;\n"
    "- 48 points close the account.\n"
    "Sources: https://ssopdot.com/b (third-party, undated); "
    "https://christinasbeautyjourney.blogspot.com/2022/01/c.html (official copy, 2021-12-31)\n"
    "A guide says points last 365 days.\n"
    "Source: https://en.hb2b.com/ask/1.html"
)


def _start(fragment: str) -> int:
    return next(s.start for s in split_sentences(TEXT) if s.text.startswith(fragment))


def test_tagged_source_on_the_sentence_line_gives_authority_and_date():
    refs = refs_for(TEXT, _start("A serious violation"))
    assert [(r.url, r.authority, r.date) for r in refs] == [
        ("https://sell.aliexpress.com/a.htm", "official", "2020-08-25")
    ]


def test_list_items_rest_on_the_source_line_after_their_list():
    refs = refs_for(TEXT, _start("12 points freeze"))
    assert {r.authority for r in refs} == {"third-party", "official copy"}
    best = strongest(refs)
    assert best is not None and best.authority == "official copy" and best.date == "2021-12-31"


def test_untagged_source_takes_the_document_default_else_its_address():
    refs = refs_for(TEXT, _start("A guide says"))
    assert [r.authority for r in refs] == ["third-party"]  # hb2b: a seller-guide site
    assert refs_in("Source: https://en.hb2b.com/x", "forum", "2019")[0].date == "2019"
    assert authority_of_url("https://sell.laliexpress.com/zh/x.htm") == "official"
    assert authority_of_url("https://www.alifaq.org/rules/") == "official copy"
    assert authority_of_url("https://eur-lex.europa.eu/eli/reg/2023/988") == "law text"


def test_quotes_never_contain_their_source_reference():
    sentences = split_sentences("The listing must show: Source: https://x.example/\n")
    assert [s.text for s in sentences] == ["The listing must show:", "Source: https://x.example/"]


def test_a_chunk_is_embedded_without_its_addresses_but_keeps_its_words():
    text = (
        "# Penalties > Points\n"
        "Points last 365 days. Source: https://sell.example/rule (official, 2020-08-25)  \n"
        "- a fake order costs 2 points;\n"
        "Sources: https://a.example (forum, 2024-01); www.b.example (third-party, undated)\n"
        "Source: the seller's own records are the evidence.\n"
    )
    assert without_references(text) == (
        "# Penalties > Points\n"
        "Points last 365 days.\n"
        "- a fake order costs 2 points;\n"
        "\n"
        "Source: the seller's own records are the evidence.\n"
    )


@dataclass
class Cite:
    n: int
    authority: str
    rule_date: str


def test_date_notes_name_every_date_and_warn_about_old_rule_text():
    cites = [
        Cite(1, "official", "2020-08-25"),
        Cite(2, "official copy", "2025-06"),
        Cite(3, "", ""),
    ]
    notes = date_notes(cites, 2.0, today=date(2026, 11, 27))
    assert notes[0] == "Rule text dated 2020-08-25 [1]; 2025-06 [2]."
    assert "[1] from 2020-08-25" in notes[1] and "more than 2 years" in notes[1]
    assert "[2]" not in notes[1]
    assert date_notes([Cite(1, "official", "undated")], 2.0)[0].startswith(
        "The sources quoted give no date"
    )


def test_an_answer_resting_only_on_guides_and_forums_says_so():
    assert authority_note([Cite(1, "third-party", ""), Cite(2, "forum", "")])
    assert not authority_note([Cite(1, "third-party", ""), Cite(2, "official copy", "")])


def test_conflict_paragraph_and_its_list_are_one_span_and_the_newest_source_is_named():
    text = (
        "# Feedback > Window\n"
        "Buyers have 7 days to leave feedback. Source: http://activities.aliexpress.com/x "
        "(official, 2016)\n"
        "Sources disagree on the feedback window:\n"
        "- 30 days for both sides. Source: https://ssopdot.com/39815 (third-party, undated)\n"
        "- 15 days since a 2025 update. Source: https://en.xiaoniucw.com/1 (third-party, 2025)\n"
        "Other text."
    )
    passage = passage_from("p1", text, {"section": "Window", "conflict": True})
    spans = conflict_spans(passage)
    assert len(spans) == 1
    covered = text[spans[0][0] : spans[0][1]]
    assert covered.startswith("Sources disagree") and covered.rstrip().endswith(
        "(third-party, 2025)"
    )
    note = conflict_note(passage, spans[0], [2, 3])
    assert "[2][3]" in note and "dated 2025" in note
    plain = passage_from("p2", text, {"section": "Window", "conflict": False})
    assert conflict_spans(plain) == []
