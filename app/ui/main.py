"""Entry point: `streamlit run app/ui/main.py` (what `make run` starts)."""

from pathlib import Path

import streamlit as st

st.set_page_config(page_title="Seller compliance assistant", page_icon="🛡️", layout="wide")

pages = Path(__file__).parent / "pages"
navigation = st.navigation(
    [
        st.Page(pages / "ask.py", title="Ask", icon=":material/chat:", default=True),
    ]
)
navigation.run()
