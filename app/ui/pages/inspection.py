"""Self-inspection page: a place in the navigation until the guided inspection lands."""

import streamlit as st

st.title("Store self-inspection")
st.info(
    "A guided health check of your store is on its way: account, listings, intellectual "
    "property, shipping, disputes, metrics and EU sales, with a cited action plan. Until then, "
    "ask about any rule on the Ask page.",
    icon=":material/construction:",
)
