"""One factory for the optional chat model, whatever the provider, plus a connection check.

Providers are LangChain chat models, so the services stream, time out and fail the same way
for all of them. The API key lives only in the settings object (a `SecretStr`) and in the
client; nothing here puts it in a message, a label or a log line.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, get_args

from app.settings import Provider, Settings

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

PROVIDERS: tuple[str, ...] = get_args(Provider)
DEFAULT_BASE_URLS = {"openai": "https://api.openai.com/v1", "ollama": "http://localhost:11434"}


class ProviderError(RuntimeError):
    """The provider is misconfigured, unreachable, slow or returned something unusable; the
    message is one line a seller can act on and never contains the key."""


class ProviderTimeout(ProviderError):
    """The reply did not finish within LLM_TIMEOUT."""


@dataclass(frozen=True)
class ConnectionCheck:
    ok: bool
    message: str
    seconds: float


def provider_label(settings: Settings) -> str:
    """What the UI and answers may say about the provider: kind, model and where, no key."""
    provider = settings.llm_provider
    if provider == "extractive":
        return "extractive (no LLM)"
    if provider == "llamacpp":
        return f"llamacpp · {settings.llm_model_path.name if settings.llm_model_path else '?'}"
    where = settings.llm_base_url or DEFAULT_BASE_URLS[provider]
    return f"{provider} · {settings.llm_model or '?'} @ {where}"


def chat_model(settings: Settings) -> BaseChatModel | None:
    """The configured chat model, or None for the extractive engine."""
    provider = settings.llm_provider
    if provider == "extractive":
        return None
    timeout = settings.llm_timeout
    if provider == "openai":
        if not settings.llm_model:
            raise ProviderError("LLM_MODEL is not set: name the model the endpoint serves.")
        from langchain_openai import ChatOpenAI

        key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else "not-needed"
        base_url = settings.llm_base_url or DEFAULT_BASE_URLS["openai"]
        # OpenAI itself takes `max_completion_tokens` (what the client sends for max_tokens);
        # llama.cpp, vLLM and LM Studio servers honour the older `max_tokens` field.
        limit = (
            {"max_tokens": settings.llm_max_tokens}
            if base_url == DEFAULT_BASE_URLS["openai"]
            else {"extra_body": {"max_tokens": settings.llm_max_tokens}}
        )
        return ChatOpenAI(
            model=settings.llm_model,
            base_url=base_url,
            api_key=key,  # local servers ignore it; the client insists on one
            timeout=timeout,
            max_retries=0,  # a retry would double the wait before the extractive fallback
            temperature=settings.llm_temperature,
            **limit,
        )
    if provider == "ollama":
        if not settings.llm_model:
            raise ProviderError("LLM_MODEL is not set: name an Ollama model, e.g. llama3.2.")
        from langchain_ollama import ChatOllama

        return ChatOllama(
            model=settings.llm_model,
            base_url=settings.llm_base_url or DEFAULT_BASE_URLS["ollama"],
            temperature=settings.llm_temperature,
            num_predict=settings.llm_max_tokens,
            client_kwargs={"timeout": timeout},
        )
    return _llamacpp(settings)


def _llamacpp(settings: Settings) -> BaseChatModel:
    path = settings.llm_model_path
    if path is None or not Path(path).is_file():
        raise ProviderError(
            f"LLM_MODEL_PATH must name a GGUF file for the llamacpp provider (got {path})."
        )
    try:
        from langchain_community.chat_models import ChatLlamaCpp
    except ImportError as exc:
        raise ProviderError(
            "The llamacpp provider needs the optional extra: pip install -e '.[llamacpp]'."
        ) from exc
    try:
        return ChatLlamaCpp(
            model_path=str(path),
            n_ctx=settings.llm_context_size,
            max_tokens=settings.llm_max_tokens,
            temperature=settings.llm_temperature,
            streaming=True,
            verbose=False,
        )
    except ImportError as exc:
        raise ProviderError(
            "The llamacpp provider needs llama-cpp-python: pip install -e '.[llamacpp]'."
        ) from exc
    except Exception as exc:  # llama.cpp reports a bad file as a bare ValueError
        raise ProviderError(f"Could not load the GGUF model {path.name}: {exc}") from exc


def describe_failure(exc: BaseException, settings: Settings) -> str:
    """One plain line for a provider failure, naming the provider but never the key."""
    label = provider_label(settings)
    name = type(exc).__name__
    if isinstance(exc, ProviderError) and not isinstance(exc, ProviderTimeout):
        return str(exc)
    text = str(exc)
    if settings.llm_api_key:
        text = text.replace(settings.llm_api_key.get_secret_value(), "***")
    status = getattr(exc, "status_code", None)
    if isinstance(exc, TimeoutError | ProviderTimeout) or _is_timeout(exc):
        return f"The LLM provider ({label}) did not answer within {settings.llm_timeout:g} s."
    if status in (401, 403):
        return f"The LLM provider ({label}) rejected the API key (HTTP {status})."
    if status == 404:
        return f"The LLM provider ({label}) does not know that model or address (HTTP 404)."
    if isinstance(exc, ConnectionError) or _is_connect_error(exc):
        return f"The LLM provider ({label}) could not be reached; is it running?"
    if status:
        return f"The LLM provider ({label}) failed with HTTP {status}."
    short = text.splitlines()[0][:160] if text else name
    return f"The LLM provider ({label}) failed: {short}"


def check_connection(settings: Settings) -> ConnectionCheck:
    """Ask the model for a one-word reply: proves address, key and model name together."""
    started = time.perf_counter()
    try:
        model = chat_model(settings)
        if model is None:
            return ConnectionCheck(True, "The extractive engine needs no connection.", 0.0)
        reply = model.invoke([("human", "Reply with the single word: ready")])
        text = str(reply.content).strip()
    except Exception as exc:
        return ConnectionCheck(
            False, describe_failure(exc, settings), time.perf_counter() - started
        )
    seconds = time.perf_counter() - started
    if not text:
        return ConnectionCheck(False, "The model answered with an empty reply.", seconds)
    return ConnectionCheck(
        True, f"Connected to {provider_label(settings)}; it replied in {seconds:.1f} s.", seconds
    )


def _client_errors(httpx_kind: str, openai_kind: str) -> tuple[type[BaseException], ...]:
    import httpx

    kinds: list[type[BaseException]] = [getattr(httpx, httpx_kind)]
    try:
        import openai

        kinds.append(getattr(openai, openai_kind))
    except ImportError:  # openai comes with langchain-openai
        pass
    return tuple(kinds)


def _is_timeout(exc: BaseException) -> bool:
    """The HTTP clients' own timeout types (httpx, openai), checked by type, not by name."""
    return isinstance(exc, _client_errors("TimeoutException", "APITimeoutError"))


def _is_connect_error(exc: BaseException) -> bool:
    return isinstance(exc, _client_errors("ConnectError", "APIConnectionError"))
