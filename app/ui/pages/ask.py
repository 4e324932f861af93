"""Ask page: chat over the rulebook, every answer with its numbered sources."""

from __future__ import annotations

import streamlit as st

from app.components.text import body_of
from app.services.answering import Answer
from app.ui.resources import assistant, ensure_index, md_escape

st.title("Ask about AliExpress rules")
st.caption(
    "Answers are quoted from the indexed guidance documents, with numbered sources. "
    "Not legal advice."
)

bot = assistant()
ensure_index(bot)

if "messages" not in st.session_state:
    st.session_state.messages = []  # each: {"role", "content", "answer": Answer | None}


def render_answer(answer: Answer) -> None:
    st.markdown(md_escape(answer.text))
    if answer.citations:
        st.markdown("**Sources**")
        for c in answer.citations:
            where = " › ".join(x for x in (c.title, c.section) if x)
            page = f", page {c.page}" if c.page else ""
            with st.expander(f"[{c.n}] {where}{page}"):
                st.markdown(f"> {md_escape(c.quote)}")
                st.caption(f"File: {c.source}" + (" · marked uncertain" if c.uncertain else ""))
                if c.url:
                    st.link_button("Open public source", c.url)
    elif answer.refused and answer.passages:
        with st.expander("Closest matches"):
            for p in answer.passages[:3]:
                st.markdown(f"**{md_escape(p.title)} › {md_escape(p.section)}**")
                st.text(body_of(p.text)[:400])


for message in st.session_state.messages:
    with st.chat_message(message["role"]):
        if message.get("answer") is not None:
            render_answer(message["answer"])
        else:
            st.markdown(md_escape(message["content"]))

if prompt := st.chat_input("Ask a rule question, e.g. How long do I have to answer a dispute?"):
    history = [{"role": m["role"], "content": m["content"]} for m in st.session_state.messages]
    st.session_state.messages.append({"role": "user", "content": prompt})
    with st.chat_message("user"):
        st.markdown(md_escape(prompt))
    with st.chat_message("assistant"), st.status("Searching the rulebook…") as status:
        answer = bot.ask(prompt, history=history)
        status.update(label="Answer", state="complete")
    st.session_state.messages.append(
        {"role": "assistant", "content": answer.text, "answer": answer}
    )
    st.rerun()
