"""Drafting page: a place in the navigation until dispute and appeal drafting lands."""

import streamlit as st

st.title("Draft a message")
st.info(
    "Drafting of buyer dispute replies and appeal letters, with deadlines and the evidence to "
    "attach, is on its way. Until then, ask about the dispute or appeal rules on the Ask page.",
    icon=":material/construction:",
)
