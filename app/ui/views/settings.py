"""Settings page: choose the answer engine for this session and test the connection.

The API key field is never filled in from .env and a typed key lives only in this browser
session's memory: it is not shown again, not logged and not saved anywhere.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st
from pydantic import ValidationError

from app.components.llm import DEFAULT_BASE_URLS, PROVIDERS, check_connection, provider_label
from app.settings import Settings, get_settings, setting_problems
from app.ui.resources import SESSION_LLM, llm_settings, md_escape

NAMES = {
    "extractive": "Quoted answers (no LLM, default)",
    "openai": "OpenAI-compatible endpoint (OpenAI, vLLM, LM Studio, llama.cpp server)",
    "ollama": "Ollama",
    "llamacpp": "Local GGUF file (llama-cpp-python)",
}

st.title("Settings")
current = llm_settings()
env = get_settings()
st.markdown(f"**Answer engine in use:** {md_escape(provider_label(current))}")
if st.session_state.get(SESSION_LLM):
    st.caption("Chosen on this page for this browser session; .env is unchanged.")
st.caption(
    "Whatever engine you choose, every answer sentence is checked against the source it cites; "
    "if the model's answer fails the check, or the provider is down or slow, you get the quoted "
    "answer and one line saying why."
)

provider = st.selectbox(
    "Engine", PROVIDERS, index=PROVIDERS.index(current.llm_provider), format_func=NAMES.get
)
values: dict[str, object] = {"llm_provider": provider}
key_typed = ""
if provider in ("openai", "ollama"):
    values["llm_base_url"] = st.text_input(
        "Endpoint URL",
        value=current.llm_base_url or "",
        placeholder=DEFAULT_BASE_URLS[provider],
    )
    values["llm_model"] = st.text_input("Model name", value=current.llm_model or "")
if provider == "openai":
    key_typed = st.text_input(
        "API key (leave empty to use LLM_API_KEY from .env)",
        type="password",
        value="",
        help="Used for this session only. Never shown again, logged or saved.",
    )
    st.caption("A key is set in .env." if env.llm_api_key else "No key is set in .env.")
if provider == "llamacpp":
    values["llm_model_path"] = st.text_input(
        "GGUF model file", value=str(current.llm_model_path or "")
    )
if provider != "extractive":
    values["llm_timeout"] = st.number_input(
        "Time limit per answer (seconds)",
        min_value=1.0,
        max_value=3600.0,
        value=float(current.llm_timeout),
    )


def chosen() -> dict[str, object]:
    """The page's choice as setting values: trimmed, a blank field meaning the provider's
    default (its placeholder), paths expanded."""
    picked = {k: (v.strip() or None if isinstance(v, str) else v) for k, v in values.items()}
    if key_typed:
        picked["llm_api_key"] = key_typed
    if picked.get("llm_model_path"):
        picked["llm_model_path"] = Path(str(picked["llm_model_path"])).expanduser()
    return picked


def candidate(choice: dict[str, object]) -> Settings | None:
    try:
        return env.updated(**choice)
    except ValidationError as exc:
        st.error(setting_problems(exc)[0])
        return None


test, use, reset = st.columns(3)
if test.button("Test connection", icon=":material/lan:", width="stretch"):
    settings = candidate(chosen())
    if settings is not None:
        with st.spinner("Asking the model for a one-word reply…"):
            result = check_connection(settings)
        (st.success if result.ok else st.error)(result.message)
if use.button("Use for this session", type="primary", width="stretch"):
    choice = chosen()
    if candidate(choice) is not None:
        st.session_state[SESSION_LLM] = choice  # what was tested is what is used
        st.rerun()
if reset.button("Back to the .env settings", width="stretch"):
    st.session_state.pop(SESSION_LLM, None)
    st.rerun()

st.divider()
st.markdown(
    "To make a choice permanent, set `LLM_PROVIDER`, `LLM_BASE_URL`, `LLM_MODEL` and, if the "
    "endpoint needs one, `LLM_API_KEY` in `.env` (see `.env.example`), then restart the app."
)
