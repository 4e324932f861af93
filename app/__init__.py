"""Seller compliance assistant: settings -> components -> services -> CLI and Streamlit UI."""

from app.settings import Settings, get_settings

__all__ = ["Answer", "Assistant", "Settings", "answerer_for", "build", "get_settings"]


def __getattr__(name: str):  # heavy imports (torch, chromadb) only when asked for
    if name in ("Assistant", "Answer"):
        from app.services import answering

        return getattr(answering, name)
    if name == "build":
        from app.container import build

        return build
    if name == "answerer_for":
        from app.services.generation import answerer_for

        return answerer_for
    raise AttributeError(name)
