"""Ask page: a chat over the rulebook. Each browser session has its own conversation; every
question and answer is saved so it can be reopened from History."""

from __future__ import annotations

import streamlit as st

from app.services.conversations import UnknownConversation
from app.ui.answer_view import render_answer
from app.ui.resources import conversations, engine, ensure_index, md_escape

EXAMPLES = [
    "How long do I have to respond to a refund request?",
    "How many serious IP infringements close a store?",
    "What must an EU product listing show under the GPSR?",
]

st.title("Ask about AliExpress rules")
ensure_index()
bot, store = engine(), conversations()
if bot.streams:
    st.caption(
        f"Answers are written by `{bot.label.replace('`', '')}` and checked sentence by sentence "
        "against the sources; change this on the Settings page."
    )

conversation = None
if st.session_state.get("conversation_id"):
    try:
        conversation = store.get(st.session_state.conversation_id)
    except UnknownConversation:
        st.session_state.conversation_id = None

with st.sidebar:
    if st.button("New conversation", icon=":material/add:", width="stretch"):
        st.session_state.conversation_id = None
        st.rerun()


def save_feedback(message_id: int) -> None:
    choice = st.session_state.get(f"fb-{message_id}")
    if choice is None:
        return
    comment = st.session_state.get(f"fbc-{message_id}", "")
    store.record_feedback(message_id, 1 if choice == 1 else -1, comment)
    st.toast("Thanks, your feedback was saved.")


def feedback_widgets(message) -> None:
    default = None if message.feedback is None else (1 if message.feedback > 0 else 0)
    st.feedback(
        "thumbs",
        key=f"fb-{message.id}",
        default=default,
        on_change=save_feedback,
        args=(message.id,),
    )
    if st.session_state.get(f"fb-{message.id}") is not None or message.feedback is not None:
        st.text_input(
            "Comment (optional): what was wrong or missing?",
            key=f"fbc-{message.id}",
            value=message.comment,
            on_change=save_feedback,
            args=(message.id,),
        )


if conversation is None:
    st.caption(
        "Answers are quoted from the indexed guidance documents, each sentence with a "
        "numbered source. Try one of these:"
    )
    columns = st.columns(len(EXAMPLES))
    for column, example in zip(columns, EXAMPLES, strict=True):
        if column.button(example, width="stretch"):
            st.session_state.pending_question = example
            st.rerun()
else:
    st.caption(f"Conversation: {md_escape(conversation.title)}")
    for message in conversation.messages:
        with st.chat_message(message.role):
            if message.role == "assistant" and message.answer is not None:
                render_answer(message.answer, message.id)
                feedback_widgets(message)
            else:
                st.markdown(md_escape(message.content))

prompt = st.chat_input(
    "Ask a rule question, e.g. How long do I have to answer a dispute?", max_chars=4000
) or st.session_state.pop("pending_question", None)
if prompt:
    history = conversation.history() if conversation else []
    conversation_id = conversation.id if conversation else store.create(prompt)
    st.session_state.conversation_id = conversation_id
    with st.chat_message("user"):
        st.markdown(md_escape(prompt))
    with st.chat_message("assistant"):
        if bot.streams:
            st.caption(f"Writing with {md_escape(bot.label)}; the answer is checked when done…")
            placeholder, streamed = st.empty(), []

            def show(token: str) -> None:
                streamed.append(token)
                placeholder.markdown(md_escape("".join(streamed)) + " ▌")

            answer = bot.ask(prompt, history=history, on_token=show)
        else:
            with st.status("Searching the rulebook…") as status:
                answer = bot.ask(prompt, history=history)
                status.update(label="Done", state="complete")
        store.add_message(conversation_id, "user", prompt)
        store.add_message(conversation_id, "assistant", answer.text, answer.to_dict())
    st.rerun()
