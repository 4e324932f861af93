"""Process-wide objects for the Streamlit pages, created once (`st.cache_resource`)."""

from __future__ import annotations

import re

import streamlit as st

from app.services.answering import Assistant
from app.settings import get_settings

_MD_SPECIAL = re.compile(r"([\\`*_{}()#+\-.!|>~<])")  # brackets kept for [n] markers


def md_escape(text: str) -> str:
    """Show user or document text literally: no Markdown, and never raw HTML."""
    return _MD_SPECIAL.sub(r"\\\1", text)


@st.cache_resource(show_spinner=False)
def assistant() -> Assistant:
    return Assistant.from_settings(get_settings())


def ensure_index(bot: Assistant) -> None:
    """First run: index knowledge/ with visible progress instead of failing on an empty store."""
    bot.retriever.refresh()
    if bot.retriever.size:
        return
    from ingest.pipeline import run_ingest

    with st.status("Indexing the knowledge base for the first time…", expanded=True) as status:
        bar = st.progress(0.0)

        def step(source: str, number: int, total: int) -> None:
            bar.progress(number / max(total, 1), text=source)

        report = run_ingest(bot.settings, progress=step, store=bot.store)
        bot.retriever.refresh(force=True)
        status.update(
            label=f"Indexed {report.files_read} documents ({report.chunks_total} passages).",
            state="complete",
            expanded=False,
        )
