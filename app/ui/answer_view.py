"""How an answer looks: the text with clickable [n] markers, then one card per source with the
quoted passage, the supporting sentence highlighted, the public link and the reliability mark.

Works from the answer's dict form, so a reopened conversation renders exactly like a fresh one.
"""

from __future__ import annotations

import re
from typing import Any

import streamlit as st

from app.components.text import body_of
from app.ui.resources import md_escape

CONTEXT_CHARS = 280


def anchor(message_id: int | str, n: int) -> str:
    return f"src-{message_id}-{n}"


def render_answer(answer: dict[str, Any], message_id: int | str) -> None:
    text = md_escape(answer.get("text", ""))
    text = re.sub(
        r"\[(\d+)\]", lambda m: f"[[{m.group(1)}]](#{anchor(message_id, int(m.group(1)))})", text
    )
    st.markdown(text)
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
    citations = answer.get("citations") or []
    passages = {p.get("id"): p for p in answer.get("passages") or []}
    if citations:
        st.markdown("**Sources**")
        for citation in citations:
            _source_card(citation, passages.get(citation.get("passage_id")), message_id)
    elif answer.get("refused") and answer.get("passages") and not answer.get("error"):
        with st.expander("Closest matches in the knowledge base"):
            for passage in answer["passages"][:3]:
                where = " › ".join(x for x in (passage.get("title"), passage.get("section")) if x)
                st.markdown(f"**{md_escape(where or passage.get('source', ''))}**")
                st.caption(md_escape(_shorten(body_of(passage.get("text", "")), 300)))


def _source_card(citation: dict[str, Any], passage: dict[str, Any] | None, message_id) -> None:
    n = citation["n"]
    with st.container(border=True):
        st.html(f'<a id="{anchor(message_id, n)}"></a>')  # our own markup: the [n] link target
        where = " › ".join(x for x in (citation.get("title"), citation.get("section")) if x)
        page = f", page {citation['page']}" if citation.get("page") else ""
        st.markdown(f"**[{n}] {md_escape(where)}{page}**")
        st.markdown(_highlighted(citation["quote"], passage))
        marks = [f"File: {citation.get('source', '')}"]
        if citation.get("uncertain"):
            marks.append("⚠️ marked uncertain or conflicting in the knowledge base")
        elif citation.get("reliability"):
            marks.append(f"Reliability: {citation['reliability']}")
        st.caption(md_escape(" · ".join(marks)))
        if citation.get("url"):
            st.link_button("Open public source", citation["url"])


def _highlighted(quote: str, passage: dict[str, Any] | None) -> str:
    """The passage around the quote, with the quoted sentence(s) highlighted."""
    body = body_of(passage.get("text", "")) if passage else ""
    at = body.find(quote)
    marked = ":orange-background[" + md_escape(quote).replace("]", "\\]") + "]"
    if at < 0:
        return marked
    before = body[max(0, at - CONTEXT_CHARS) : at]
    after = body[at + len(quote) : at + len(quote) + CONTEXT_CHARS]
    lead = "… " if at > CONTEXT_CHARS else ""
    tail = " …" if at + len(quote) + CONTEXT_CHARS < len(body) else ""
    return f"{lead}{md_escape(_flat(before))}{marked}{md_escape(_flat(after))}{tail}"


_SOURCE_REF = re.compile(r"\s*Sources?:[^\n]*?(?=\s*$|\n)|https?://\S+", re.I)


def _flat(text: str) -> str:
    """Context around a quote: one line, without the document's source references (the card
    has its own link, and escaped URLs read badly)."""
    return _SOURCE_REF.sub("", text).replace("\n", " ")


def _shorten(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rsplit(" ", 1)[0] + "…"
