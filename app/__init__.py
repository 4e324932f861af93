"""Seller compliance assistant: settings -> components -> services -> CLI and Streamlit UI."""

from app.settings import Settings, get_settings

__all__ = ["Answer", "Assistant", "Settings", "get_settings"]


def __getattr__(name: str):  # heavy imports (torch, chromadb) only when asked for
    if name in ("Assistant", "Answer"):
        from app.services import answering

        return getattr(answering, name)
    raise AttributeError(name)
