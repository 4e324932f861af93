"""Ask page: a chat over the rulebook. Each browser session has its own conversation; every
question and answer is saved so it can be reopened from History.

A question goes into this session's queue first thing in the run it causes, is shown at once,
and is answered and saved in order, so one sent while another is being answered is never lost.
The chat is a fragment: sending a question reruns the chat only, not the whole page. The page
draws at once after a server start, its input off until the rulebook has loaded.
"""

from __future__ import annotations

import streamlit as st
from streamlit.errors import StreamlitAPIException

from app.services.conversations import UnknownConversation
from app.ui.answer_view import render_answer
from app.ui.resources import (
    conversations,
    engine,
    ensure_index,
    llm_settings,
    md_escape,
    ready,
)

EXAMPLES = [
    "How long do I have to respond to a refund request?",
    "How many serious IP infringements close a store?",
    "What must an EU product listing show under the GPSR?",
]
SCROLL_TO = (  # the margin keeps the answer's first line clear of the app's header
    "<script>setTimeout(() => { const at = document.getElementById('ID');"
    " if (at) { at.style.scrollMarginTop = '5rem'; at.scrollIntoView({block: 'start'}); } },"
    " 200)</script>"
)
QUEUE = "ask_queue"  # questions sent but not answered yet, oldest first
THANKS = "ask_feedback_saved"
WELCOME = """\
Ask about AliExpress seller rules in your own words: refunds and disputes, shipping deadlines,
penalty points, intellectual property, product listings, EU product safety and VAT.

Every answer quotes the indexed rulebook, sentence by sentence, with numbered sources you can
open. It is guidance, not legal advice: check figures against the current seller rules."""


def enqueue(question: str | None) -> None:
    """The input's callback: it runs before anything else in the run the question causes, so
    the question is kept even when that run is cut short."""
    if question and question.strip():
        st.session_state.setdefault(QUEUE, []).append(question.strip())


def save_feedback(message_id: int) -> None:
    choice = st.session_state.get(f"fb-{message_id}")
    if choice is None:
        return
    comment = st.session_state.get(f"fbc-{message_id}", "") if choice == 0 else ""
    conversations().record_feedback(message_id, 1 if choice == 1 else -1, comment)
    st.session_state[THANKS] = True  # said by the chat, not here: a callback draws nothing


def feedback_widgets(message) -> None:
    default = None if message.feedback is None else (1 if message.feedback > 0 else 0)
    st.feedback(
        "thumbs",
        key=f"fb-{message.id}",
        default=default,
        on_change=save_feedback,
        args=(message.id,),
    )
    choice = st.session_state.get(f"fb-{message.id}", default)
    if choice == 0:  # only a thumbs-down asks what was wrong
        st.text_input(
            "What was wrong or missing? (optional)",
            key=f"fbc-{message.id}",
            value=message.comment,
            on_change=save_feedback,
            args=(message.id,),
        )


def welcome() -> None:
    with st.container():  # one block, so the first question's bubble replaces it at once
        st.markdown(WELCOME)
        st.caption("Try one of these:")
        with st.container(horizontal=True, gap="small"):
            for example in EXAMPLES:
                st.button(example, on_click=enqueue, args=(example,), disabled=not ready())


def answer(store, slot, question: str, history: list[dict[str, str]]) -> str:
    """Answer the oldest queued question in its slot, save it, and show it there."""
    with slot.container(), st.chat_message("assistant"):
        bot = engine()
        if bot.streams:
            st.caption(f"Writing with {md_escape(bot.label)}; the answer is checked when done…")
            placeholder, streamed = st.empty(), []

            def show(token: str) -> None:
                streamed.append(token)
                placeholder.markdown(md_escape("".join(streamed)) + " ▌")

            result = bot.ask(question, history=history, on_token=show)
            placeholder.empty()
        else:
            with st.spinner("Searching the rulebook…"):
                result = bot.ask(question, history=history)
        # saved and dequeued with no Streamlit call in between: a rerun cannot split them
        saved = result.to_dict()
        conversation_id, message_id = store.add_exchange(
            st.session_state.get("conversation_id"), question, result.text, saved
        )
        st.session_state[QUEUE].pop(0)
        st.session_state.conversation_id = conversation_id
        # our own markup, an id only; the view rests on the answer's start, not on its last
        # line (one element: every element is work for each browser showing the answer)
        start = f"answer-{message_id}"
        scroll = SCROLL_TO.replace("ID", start)
        st.html(f'<div id="{start}"></div>{scroll}', unsafe_allow_javascript=True)
        render_answer(saved, message_id)
        st.feedback("thumbs", key=f"fb-{message_id}", on_change=save_feedback, args=(message_id,))
    return result.text


@st.fragment
def chat() -> None:
    store = conversations()
    conversation = None
    if st.session_state.get("conversation_id"):
        try:
            conversation = store.get(st.session_state.conversation_id)
        except UnknownConversation:
            st.session_state.conversation_id = None
    if st.session_state.pop(THANKS, False):
        st.toast("Thanks, your feedback was saved.")
    queue: list[str] = st.session_state.setdefault(QUEUE, [])
    # Streamlit keeps only the latest of two questions sent during one run: while a run may be
    # long (loading, an LLM writing) the input is off; the quick quoted answers keep it on
    slow = not ready() or (bool(queue) and llm_settings().llm_provider != "extractive")
    with st.bottom:
        st.chat_input(
            "Ask a rule question, e.g. How long do I have to answer a dispute?",
            max_chars=4000,
            key="ask_input",
            disabled=slow,
            on_submit=lambda: enqueue(st.session_state.get("ask_input")),
        )
    if conversation is None and not queue:
        welcome()
        return
    if conversation is not None:
        st.caption(f"Conversation: {md_escape(conversation.title)}")
        for message in conversation.messages:
            with st.chat_message(message.role):
                if message.role == "assistant" and message.answer is not None:
                    render_answer(message.answer, message.id)
                    feedback_widgets(message)
                else:
                    st.markdown(md_escape(message.content))
    slots = []
    for question in queue:  # every waiting question shows at once, its answer slot below it
        st.chat_message("user").markdown(md_escape(question))
        slots.append(st.empty())
    history = conversation.history() if conversation else []
    for slot, question in zip(slots, list(queue), strict=True):
        reply = answer(store, slot, question, history)
        history += [{"role": "user", "content": question}, {"role": "assistant", "content": reply}]
    if slow and slots:  # the input back on
        try:
            st.rerun(scope="fragment")
        except StreamlitAPIException:  # this chat ran as part of a whole-page run
            st.rerun()


st.title("Ask about AliExpress rules")
with st.sidebar:
    if st.button("New conversation", icon=":material/add:", width="stretch"):
        st.session_state.conversation_id = None  # a question still queued starts it
loading = st.container()
chat()
if not ready():  # the page is drawn, its input off until the rulebook has loaded: load it now
    with loading:
        ensure_index()
    st.rerun()
ensure_index()  # a loading fault shows its one-line message
