"""Entry point: `streamlit run app/ui/main.py` (what `make run` starts)."""

from pathlib import Path

import streamlit as st
from pydantic import ValidationError

from app.settings import get_settings, setting_problems

st.set_page_config(page_title="Seller compliance assistant", page_icon="🛡️", layout="wide")
try:
    get_settings()
except ValidationError as exc:  # a bad value in .env: say which, instead of a traceback
    for problem in setting_problems(exc):
        st.error(problem)
    st.stop()

PAGES = Path(__file__).parent / "views"
navigation = st.navigation(
    {
        "Assistant": [
            st.Page(PAGES / "ask.py", title="Ask", icon=":material/chat:", default=True),
            st.Page(PAGES / "inspection.py", title="Self-inspection", icon=":material/checklist:"),
            st.Page(PAGES / "draft.py", title="Draft a message", icon=":material/edit_note:"),
            st.Page(PAGES / "listings.py", title="Check listings", icon=":material/fact_check:"),
        ],
        "Library": [
            st.Page(PAGES / "knowledge.py", title="Knowledge base", icon=":material/menu_book:"),
            st.Page(PAGES / "history.py", title="History", icon=":material/history:"),
            st.Page(PAGES / "settings.py", title="Settings", icon=":material/settings:"),
        ],
    }
)
from app.components.logs import route_library_logs  # noqa: E402
from app.ui.resources import database_banner, setup_fault  # noqa: E402

route_library_logs(get_settings())
database_banner()
with st.sidebar:
    st.caption(
        "Offline assistant for AliExpress sellers. Answers quote the indexed rulebook with "
        "numbered sources. Not legal advice; check figures against the current seller rules."
    )
try:
    navigation.run()
except Exception as exc:
    if not setup_fault(exc):
        raise
    st.error(str(exc), icon="⚠️")  # the fix is in the message; no traceback for a setup fault
