"""History page: reopen, rename, export or delete past conversations, reopen inspection
reports and drafts, and the feedback given on answers (where the knowledge base needs work)."""

from __future__ import annotations

from datetime import datetime

import streamlit as st

from app.components.text import plural
from app.services.conversations import UnknownConversation
from app.ui.resources import conversations, drafting, inspections, md_escape, slug


def when(stamp: str) -> str:
    """A stored UTC time as people read it: "27 Nov 2026, 08:10"."""
    try:
        moment = datetime.fromisoformat(stamp)
    except ValueError:
        return stamp
    return f"{moment.day} {moment:%b %Y, %H:%M}"


def list_height(count: int) -> int | str:
    """A scrolling box once the list is longer than a screenful."""
    return 360 if count > 6 else "content"


st.title("History")
store = conversations()
items = store.list()

st.subheader("Conversations")
if not items:
    st.info("No conversations yet. Questions you ask on the Ask page are saved here.")
else:
    by_id = {c.id: c for c in items}

    def label(cid: int) -> str:
        c = by_id[cid]
        first = c.first_question or c.title
        head = f"**{md_escape(c.title)}**" + (
            f" · {md_escape(first)}" if first and first != c.title else ""
        )
        return f"{head} · :gray[{when(c.updated_at)} UTC · {plural(c.questions, 'question')}]"

    with st.container(height=list_height(len(by_id)), border=True):
        chosen = st.radio(
            "Conversation",
            list(by_id),
            key="history-choice",
            format_func=label,
            label_visibility="collapsed",
        )
    try:
        conversation = store.get(chosen)
    except UnknownConversation:
        st.warning("That conversation was just deleted.")
        st.stop()
    questions = [m.content for m in conversation.messages if m.role == "user"]
    st.caption(f"{plural(len(questions), 'question')}, started {when(conversation.created_at)} UTC")
    for question in questions[:5]:
        st.markdown(f"- {md_escape(question)}")

    open_col, export_col, _ = st.columns([1, 1, 3])
    if open_col.button("Open in Ask", icon=":material/chat:", type="primary"):
        st.session_state.conversation_id = conversation.id
        st.switch_page("views/ask.py")
    name = slug(conversation.title, "conversation")
    export_col.download_button(
        "Export Markdown",
        store.export_markdown(conversation.id),
        file_name=f"{name}.md",
        mime="text/markdown",
        icon=":material/download:",
    )

    with st.form("rename", border=False):
        new_title = st.text_input("Rename", value=conversation.title, max_chars=80)
        if st.form_submit_button("Save name"):
            try:
                store.rename(conversation.id, new_title)
                st.rerun()
            except ValueError as exc:
                st.error(str(exc))

    with st.expander("Delete this conversation"):
        sure = st.checkbox("Yes, delete it and its feedback for good", key=f"sure-{chosen}")
        if st.button("Delete", disabled=not sure, type="secondary"):
            store.delete(conversation.id)
            if st.session_state.get("conversation_id") == conversation.id:
                st.session_state.conversation_id = None
            st.toast("Conversation deleted.")
            st.rerun()

st.subheader("Self-inspections")
checks = inspections().list()
if not checks:
    st.caption("No inspections yet. Run one on the Self-inspection page.")
else:
    by_inspection = {i.id: i for i in checks}
    picked = st.selectbox(
        "Inspection",
        list(by_inspection),
        key="inspection-choice",
        format_func=lambda i: (
            f"{by_inspection[i].store_name} · {by_inspection[i].updated_at} UTC"
            + ("" if by_inspection[i].completed_at else " · unfinished")
        ),
    )
    if st.button("Open report", icon=":material/summarize:"):
        st.session_state.inspection_id = picked
        st.session_state.view = "report" if by_inspection[picked].completed_at else "answer"
        st.session_state.section = 0
        st.switch_page("views/inspection.py")

st.subheader("Drafts")
drafts = drafting().saved()
if not drafts:
    st.caption("No drafts yet. Write one on the Draft a message page.")
else:
    by_draft = {d["id"]: d for d in drafts}

    def draft_label(did: int) -> str:
        d = by_draft[did]
        order = d["case"].get("order_id")
        return (
            f"**{md_escape(d['title'])}**"
            + (f" · order {md_escape(order)}" if order else "")
            + f" · :gray[{when(d['created_at'])} UTC]"
        )

    with st.container(height=list_height(len(by_draft)), border=True):
        picked_draft = st.radio(
            "Draft",
            list(by_draft),
            format_func=draft_label,
            key="draft-choice",
            label_visibility="collapsed",
        )
    chosen_draft = by_draft[picked_draft]
    text = chosen_draft["draft"]["text"]
    st.code(text, language=None, wrap_lines=True)  # readable, with a copy button
    reopen_col, download_col, _ = st.columns([1, 1, 2])
    if reopen_col.button("Reopen in Draft", icon=":material/edit_note:", type="primary"):
        st.session_state["draft_reopen"] = {"case": chosen_draft["case"], "text": text}
        st.switch_page("views/draft.py")
    download_col.download_button(
        "Download as text",
        text,
        file_name=f"{slug(chosen_draft['title'], 'draft')}.txt",
        icon=":material/download:",
        on_click="ignore",
    )

st.subheader("Feedback on answers")
entries = store.feedback()
if not entries:
    st.caption(
        "No feedback yet. Use the thumbs under an answer to mark what helped and what did not."
    )
else:
    st.dataframe(
        [
            {
                "rating": "helpful" if e.score > 0 else "not helpful",
                "question": e.question,
                "comment": e.comment,
                "answer": e.answer[:200],
                "when (UTC)": e.created_at,
            }
            for e in entries
        ],
        hide_index=True,
        width="stretch",
    )
