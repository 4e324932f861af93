"""The failures every interface turns into one clear line, importable without loading Chroma,
LangChain or a model runtime (so `compliance --help` starts at once)."""


class ModelNotFoundError(RuntimeError):
    """The configured embedding model folder is missing, incomplete or cannot be loaded."""


class StoreUnavailableError(RuntimeError):
    """Chroma could not be opened or reached."""


class ModelMismatchError(RuntimeError):
    """The collection was built with a different embedding model."""
