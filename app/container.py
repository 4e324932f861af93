"""The composition root: the one place that builds settings -> components -> services.

The CLI, the Streamlit app (inside `st.cache_resource`), the tests and the benchmark all call
`build()`, so an object is wired one way everywhere. Parts are built on first use: `compliance
draft` never loads a model, and `compliance ingest --rebuild` opens the store without the
model check that answering needs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from app.settings import Settings, get_settings

if TYPE_CHECKING:  # each part's module is imported when the part is first built
    from langchain_core.embeddings import Embeddings

    from app.components.database import Database
    from app.components.glossary import Glossaries
    from app.components.retrieval import Retrieval
    from app.components.store import Store
    from app.services.answering import Answerer, Assistant
    from app.services.checklist import Checklist
    from app.services.drafting import DraftingService, Templates
    from app.services.inspection import InspectionService
    from app.services.knowledge import KnowledgeBase
    from app.services.listing_check import ListingChecker
    from app.services.listing_rules import ListingRules


@dataclass
class Container:
    settings: Settings
    given_embeddings: Embeddings | None = field(default=None, repr=False)

    @cached_property
    def embeddings(self) -> Embeddings:
        from app.components.embeddings import load_embeddings

        return self.given_embeddings or load_embeddings(self.settings)

    @cached_property
    def store(self) -> Store:
        from app.components.embeddings import model_fingerprint
        from app.components.store import open_store

        return open_store(
            self.settings, self.embeddings, model_fingerprint(self.settings.model_path)
        )

    @cached_property
    def glossaries(self) -> Glossaries:
        from app.components.glossary import Glossaries

        return Glossaries(self.settings.glossaries)

    @cached_property
    def retrieval(self) -> Retrieval:
        from app.components.retrieval import Retrieval
        from app.components.sentence_ranker import load_sentence_ranker

        self.store.check_model()
        retrieval = Retrieval(
            self.settings,
            self.store,
            self.glossaries.get("en"),
            load_sentence_ranker(self.settings.sentence_model),
        )
        retrieval.refresh(force=True)
        return retrieval

    @cached_property
    def assistant(self) -> Assistant:
        """The quoted-answer engine (no LLM)."""
        from app.components.refusal import load_refusal_model
        from app.services.answering import Assistant

        refusal = load_refusal_model(self.settings.refusal_model)
        return Assistant(self.settings, self.retrieval, refusal=refusal, glossaries=self.glossaries)

    def engine(self, settings: Settings | None = None) -> Answerer:
        """The engine `settings` ask for (default: these), on the same retrieval room."""
        settings = settings or self.settings
        if settings.llm_provider == "extractive":  # no LLM: LangChain's chat stack not imported
            return self.assistant
        from app.services.generation import answerer_for

        return answerer_for(settings, self.assistant)

    def database(self) -> Database:
        from app.components.database import Database

        return Database(self.settings.app_db_path)

    def knowledge(self, database: Database | None = None) -> KnowledgeBase:
        """The ingest service; the store is opened when it is first needed."""
        from app.services.knowledge import KnowledgeBase

        return KnowledgeBase(
            self.settings, lambda: self.store, database, lambda: self.__dict__.get("retrieval")
        )

    @cached_property
    def checklist(self) -> Checklist:
        from app.services.checklist import load_checklist

        return load_checklist(self.settings.checklist_path)

    @cached_property
    def templates(self) -> Templates:
        from app.services.drafting import load_templates

        return load_templates(self.settings.templates_path)

    def inspections(self, database: Database) -> InspectionService:
        from app.services.inspection import InspectionService

        return InspectionService(self.checklist, database, self.assistant)

    def drafting(self, database: Database | None = None) -> DraftingService:
        from app.services.drafting import DraftingService

        return DraftingService(self.templates, self.assistant, database)

    @cached_property
    def listing_rules(self) -> ListingRules:
        from app.services.listing_rules import load_listing_rules

        return load_listing_rules(self.settings.listing_checks)

    def listings(self, database: Database | None = None) -> ListingChecker:
        """The listing check; with a database it keeps catalogue summaries for inspections."""
        from app.services.listing_check import ListingChecker

        return ListingChecker(
            self.listing_rules,
            self.assistant,
            self.settings.llm_min_support,
            self.settings.catalogue_max_mb,
            database,
        )


def build(settings: Settings | None = None, embeddings: Embeddings | None = None) -> Container:
    """Everything the app needs, built lazily from one settings object."""
    return Container(settings or get_settings(), embeddings)
