"""History page: reopen, rename, export or delete past conversations, and the feedback given
on answers (where the knowledge base needs work)."""

from __future__ import annotations

import streamlit as st

from app.services.conversations import UnknownConversation
from app.ui.resources import conversations, drafting, inspections, md_escape, slug

st.title("History")
store = conversations()
items = store.list()

if not items:
    st.info("No conversations yet. Questions you ask on the Ask page are saved here.")
else:
    by_id = {c.id: c for c in items}
    chosen = st.selectbox(
        "Conversation",
        list(by_id),
        key="history-choice",
        format_func=lambda cid: f"{by_id[cid].title}  ·  {by_id[cid].updated_at} UTC",
    )
    try:
        conversation = store.get(chosen)
    except UnknownConversation:
        st.warning("That conversation was just deleted.")
        st.stop()
    questions = [m.content for m in conversation.messages if m.role == "user"]
    st.caption(f"{len(questions)} question(s), started {conversation.created_at} UTC")
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
    labels = {
        d["id"]: f"{d['title']} · {d['case'].get('order_id') or 'no order number'} · "
        f"{d['created_at']} UTC"
        for d in drafts
    }
    picked_draft = st.selectbox("Draft", list(labels), format_func=labels.get, key="draft-choice")
    chosen_draft = next(d for d in drafts if d["id"] == picked_draft)
    st.text_area(
        "Draft text",
        chosen_draft["draft"]["text"],
        height=200,
        disabled=True,
        key=f"draft-view-{picked_draft}",
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
