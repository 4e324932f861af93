"""How an answer looks: the text first, with [n] markers that lead to its sources, then one
compact row of source chips; each chip opens the quoted passage (the supporting sentence
highlighted), when the rule text is dated, and a link that says what kind of page it opens.

Works from the answer's dict form, so a reopened conversation renders exactly like a fresh one
(fields added later are read with .get(), so older saved answers still render).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

import streamlit as st

from app.ui.resources import md_escape

CONTEXT_CHARS = 280
CHIP_CHARS = 42
URL_SAFE = ":/?#[]@!$&'()*+,;=%~"  # a source's address as written; spaces and <> encoded
AUTHORITY_LINKS = {
    "official": "Official AliExpress rules",
    "official copy": "Copy of official rules",
    "law text": "Law text",
    "third-party": "Third-party guide",
    "forum": "Forum post",
}
_ITEM = re.compile(r"^\s*(?:[-*•]|\d{1,2}[.)])\s+")
_MARKER = re.compile(r"\[(\d+)\]")
_SOURCE_REF = re.compile(r"\s*Sources?:[^\n]*?(?=\s*$|\n)|https?://\S+", re.I)


def anchor(message_id: int | str, n: int) -> str:
    return f"src-{message_id}-{n}"


def link_label(citation: dict[str, Any]) -> str:
    """What the source link opens, from the citation's authority mark."""
    return AUTHORITY_LINKS.get(str(citation.get("authority") or "").lower(), "Open source")


def answer_markdown(text: str, message_id: int | str, quotes: dict[int, str]) -> str:
    """The answer text as Markdown: shown literally except for its list items ("- ..." lines,
    kept as a list) and its [n] markers (links to the sources, the quote as their tooltip)."""

    def marker(m: re.Match[str]) -> str:
        n = int(m.group(1))
        tip = _shorten(_flat(quotes.get(n, "")).replace('"', "'").replace("\\", ""), 200)
        title = f' "{md_escape(tip)}"' if tip else ""
        return f"[[{n}]](#{anchor(message_id, n)}{title})"

    blocks: list[str] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        item = _ITEM.match(line)
        body = _MARKER.sub(marker, md_escape(line[item.end() :] if item else line.strip()))
        if item:
            blocks.append(("\n- " if blocks and not blocks[-1].startswith("- ") else "- ") + body)
        else:
            blocks.append(("\n" if blocks else "") + body)
    return "\n".join(blocks)


def render_answer(answer: dict[str, Any], message_id: int | str) -> None:
    citations = answer.get("citations") or []
    quotes = {c["n"]: c.get("quote", "") for c in citations if "n" in c}
    st.markdown(answer_markdown(answer.get("text", ""), message_id, quotes))
    engine = answer.get("engine", "extractive")
    if engine != "extractive" and not answer.get("provider_error") and not answer.get("refused"):
        label = engine.replace("`", "'")
        st.caption(f"Written by `{label}`; every sentence checked against the source it cites.")
    for note in answer.get("notes", []):
        if note not in answer.get("text", ""):
            st.caption(md_escape(note))
    if answer.get("unsupported_sentences"):
        with st.expander("Left out: sentences the sources do not support"):
            for sentence in answer["unsupported_sentences"]:
                st.markdown(f"- ~~{md_escape(sentence)}~~")
    passages = {p.get("id"): p for p in answer.get("passages") or []}
    if citations:
        _sources(citations, passages, message_id)
    elif answer.get("refused") and answer.get("passages") and not answer.get("error"):
        st.caption("Closest matches in the knowledge base")
        for rank, passage in enumerate(answer["passages"][:3]):
            where = " › ".join(x for x in (passage.get("title"), passage.get("section")) if x)
            label = md_escape(where or passage.get("source", "Passage"))
            with st.expander(label, expanded=rank == 0):
                st.markdown(md_escape(_shorten(_flat(_body(passage.get("text", ""))), 400)))
                st.caption(md_escape(f"File: {passage.get('source', '')}"))


def _sources(citations: list[dict[str, Any]], passages: dict, message_id: int | str) -> None:
    """'Sources (N)' and one chip per source; the [n] links land here."""
    targets = "".join(f'<a id="{anchor(message_id, c["n"])}"></a>' for c in citations)
    st.html(f'<div class="source-anchors">{targets}</div>')  # our own markup, ids only
    st.caption(f"Sources ({len(citations)})")
    with st.container(horizontal=True, gap="small"):
        for citation in citations:
            short = _shorten(chip_label(citation), CHIP_CHARS)
            with st.popover(f"[{citation['n']}] {md_escape(short)}"):
                _source_detail(citation, passages.get(citation.get("passage_id")))


def chip_label(citation: dict[str, Any]) -> str:
    """The most specific heading of a source: answers often quote one document several
    times, and its sections tell the chips apart."""
    section = str(citation.get("section") or "").split(" > ")[-1].strip()
    return section or citation.get("title") or citation.get("source", "")


def _source_detail(citation: dict[str, Any], passage: dict[str, Any] | None) -> None:
    st.markdown(source_markdown(citation, passage))


def source_markdown(citation: dict[str, Any], passage: dict[str, Any] | None) -> str:
    """What a source chip opens, as one Markdown block: every element an answer draws is
    work for each browser showing it, so the heading, quote, marks and link are one."""
    where = " › ".join(x for x in (citation.get("title"), citation.get("section")) if x)
    page = f", page {citation['page']}" if citation.get("page") else ""
    marks = []
    dated = str(citation.get("rule_date") or "")
    if dated:
        marks.append("rule text undated" if dated == "undated" else f"rule text dated {dated}")
    if citation.get("uncertain"):
        marks.append("⚠️ marked uncertain or conflicting in the knowledge base")
    elif citation.get("reliability"):
        marks.append(f"reliability: {citation['reliability']}")
    marks.append(f"file: {citation.get('source', '')}")
    blocks = [
        f"**[{citation['n']}] {md_escape(where)}{page}**",
        _highlighted(citation.get("quote", ""), passage),
        ":gray[:small[" + md_escape(" · ".join(marks)).replace("]", "\\]") + "]]",
    ]
    if citation.get("url"):  # the address as given: an escaped character would break it
        url = quote(str(citation["url"]).strip(), safe=URL_SAFE)
        blocks.append(f"[:material/open_in_new: {link_label(citation)}](<{url}>)")
    return "\n\n".join(blocks)


def _body(text: str) -> str:
    from app.components.text import body_of  # imported on first answer: the page opens fast

    return body_of(text)


def _highlighted(quote: str, passage: dict[str, Any] | None) -> str:
    """The passage around the quote, with the quoted sentence(s) highlighted."""
    body = _body(passage.get("text", "")) if passage else ""
    at = body.find(quote)
    marked = ":orange-background[" + md_escape(_flat(quote)).replace("]", "\\]") + "]"
    if at < 0:
        return marked
    before = body[max(0, at - CONTEXT_CHARS) : at]
    after = body[at + len(quote) : at + len(quote) + CONTEXT_CHARS]
    if at > CONTEXT_CHARS:  # start at a word, not mid-word
        before = "… " + before.split(" ", 1)[-1]
    if at + len(quote) + CONTEXT_CHARS < len(body):
        after = after.rsplit(" ", 1)[0] + " …"
    return f"{md_escape(_flat(before))}{marked}{md_escape(_flat(after))}"


def _flat(text: str) -> str:
    """Quoted text on one line, without the document's source references (the chip has its
    own link)."""
    return _SOURCE_REF.sub("", text).replace("\n", " ")


def _shorten(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rsplit(" ", 1)[0] + "…"
