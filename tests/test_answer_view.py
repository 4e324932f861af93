"""How answer text becomes Markdown: shown literally, yet links stay intact (an escaped dot
reaches the href as %5C), list items stay a list and [n] markers lead to their sources."""

from __future__ import annotations

import re

from markdown_it import MarkdownIt

from app.ui.answer_view import answer_markdown, chip_label, link_label, source_markdown
from app.ui.resources import md_escape

URL = "https://gpsr.sellerguardrails.com/eu_rules/page-1.html?a=b&c=d"
RENDER = MarkdownIt("commonmark")


def hrefs(markdown: str) -> list[str]:
    return re.findall(r'href="([^"]*)"', RENDER.render(markdown))


def test_links_in_shown_text_stay_intact_and_clickable():
    text = f"See {URL}. Or (https://example.org/x_y) *not bold* <b>no html</b> 1. 2."
    html = RENDER.render(md_escape(text))
    assert hrefs(md_escape(text)) == [
        URL.replace("&", "&amp;"),
        "https://example.org/x_y",
    ]
    assert "\\" not in html and "%5C" not in html
    assert "<em>" not in html and "<b>" not in html  # the rest is still literal
    assert "*not bold*" in html and "&lt;b&gt;" in html


def test_no_link_without_a_web_address():
    assert hrefs(md_escape("javascript:alert(1) and ftp://x.org and www.x.org")) == []


def test_answer_lists_render_as_lists_with_working_markers():
    text = "A listing must show:\n- the maker's name; [1]\n- a 5.0 kg limit. [2]\nThat is all. [3]"
    html = RENDER.render(answer_markdown(text, 7, {1: 'The "maker" rule.', 2: "Weight."}))
    assert html.count("<li>") == 2 and "<ul>" in html
    assert "the maker's name;" in html and "5.0 kg" in html
    assert hrefs(answer_markdown(text, 7, {})) == ["#src-7-1", "#src-7-2", "#src-7-3"]
    assert "title=\"The 'maker' rule.\"" in html  # the quote as the marker's tooltip


def test_plain_lines_stay_paragraphs():
    html = RENDER.render(answer_markdown("First. [1]\nSecond - not a list. [2]", 1, {}))
    assert html.count("<p>") == 2 and "<li>" not in html


def test_source_links_say_what_they_open():
    assert link_label({"authority": "official"}) == "Official AliExpress rules"
    assert link_label({"authority": "official copy"}) == "Copy of official rules"
    assert link_label({"authority": "law text"}) == "Law text"
    assert link_label({"authority": "third-party"}) == "Third-party guide"
    assert link_label({"authority": "forum"}) == "Forum post"
    assert link_label({"authority": ""}) == link_label({}) == "Open source"


def test_chips_name_the_deepest_section():
    citation = {"title": "EU product safety", "section": "GPSR > What an EU listing must show"}
    assert chip_label(citation) == "What an EU listing must show"
    assert chip_label({"title": "Appeals", "section": ""}) == "Appeals"


def test_a_source_opens_its_quote_marks_and_an_intact_link():
    citation = {
        "n": 2,
        "title": "EU product safety",
        "section": "GPSR",
        "quote": "Listings show the maker.",
        "rule_date": "2024-12-13",
        "source": "eu_safety.md",
        "authority": "official",
        "url": URL + " ",
    }
    passage = {"text": "Intro text. Listings show the maker. More after."}
    markdown = source_markdown(citation, passage)
    html = RENDER.render(markdown)
    assert hrefs(markdown) == [URL.replace("&", "&amp;")]  # not escaped, not %5C
    assert "Official AliExpress rules</a>" in html
    assert "**[2] EU product safety › GPSR**" in markdown
    assert ":orange-background[Listings show the maker\\.]" in markdown  # highlighted in place
    assert "Intro text" in html and "More after" in html
    assert "rule text dated 2024-12-13" in html and "file: eu\\_safety\\.md" in markdown
    assert not hrefs(source_markdown({**citation, "url": ""}, None))
