"""The vector store: Chroma (embedded on disk, or a `chroma run` server) plus LangChain's
SQL record manager that makes ingestion incremental.

The collection's metadata records which embedding model wrote its vectors; opening it with
another model is refused rather than silently mixing vector spaces.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from typing import Any

import chromadb
from chromadb.config import Settings as ChromaSettings
from langchain_chroma import Chroma
from langchain_classic.indexes import SQLRecordManager
from langchain_core.embeddings import Embeddings

from app.settings import Settings

MODEL_KEY = "embedding_model"
INDEXED_AT_KEY = "indexed_at"


class StoreUnavailableError(RuntimeError):
    """Chroma could not be opened or reached."""


class ModelMismatchError(RuntimeError):
    """The collection was built with a different embedding model."""


def make_client(settings: Settings) -> chromadb.ClientAPI:
    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    try:
        if settings.chroma_host:
            client = chromadb.HttpClient(
                host=settings.chroma_host, port=settings.chroma_port, settings=chroma_settings
            )
            client.heartbeat()
            return client
        settings.chroma_dir.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(settings.chroma_dir), settings=chroma_settings)
    except Exception as exc:  # chromadb raises many types; the user needs one clear line
        where = (
            f"Chroma server at {settings.chroma_host}:{settings.chroma_port}"
            if settings.chroma_host
            else f"Chroma database in {settings.chroma_dir}"
        )
        raise StoreUnavailableError(f"Cannot open the {where}: {exc}") from exc


@dataclass
class Store:
    """The collection, its LangChain wrapper and its record manager, opened together."""

    settings: Settings
    client: chromadb.ClientAPI
    vectorstore: Chroma
    records: SQLRecordManager
    fingerprint: str

    @property
    def collection(self) -> chromadb.Collection:
        return self.vectorstore._collection

    def recorded_model(self) -> str | None:
        return (self.collection.metadata or {}).get(MODEL_KEY)

    def check_model(self) -> None:
        recorded = self.recorded_model()
        if recorded and recorded != self.fingerprint:
            raise ModelMismatchError(
                f"The index was built with embedding model {recorded}, but the configured model "
                f"is {self.fingerprint}. Vectors from two models cannot be mixed: run "
                "`compliance ingest --rebuild` to re-embed everything with the current model."
            )

    def stamp(self) -> None:
        """Record the model and a change time so open readers know to refresh."""
        metadata = dict(self.collection.metadata or {})
        metadata[MODEL_KEY] = self.fingerprint
        metadata[INDEXED_AT_KEY] = time.time()
        self.collection.modify(metadata=metadata)

    def version(self) -> tuple[int, float]:
        """Cheap change marker: chunk count and last ingest time."""
        fresh = self.client.get_collection(self.settings.collection_name, embedding_function=None)
        return fresh.count(), float((fresh.metadata or {}).get(INDEXED_AT_KEY, 0.0))

    def all_chunks(self) -> dict[str, Any]:
        return self.collection.get(include=["documents", "metadatas"])


def open_store(settings: Settings, embeddings: Embeddings, fingerprint: str) -> Store:
    client = make_client(settings)
    try:
        vectorstore = Chroma(
            collection_name=settings.collection_name,
            embedding_function=embeddings,
            client=client,
            collection_metadata={MODEL_KEY: fingerprint},
            collection_configuration={"hnsw": {"space": "cosine"}},
        )
    except Exception as exc:
        raise StoreUnavailableError(
            f"Cannot open collection {settings.collection_name}: {exc}"
        ) from exc
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    namespace = _namespace(settings)
    records = SQLRecordManager(namespace, db_url=settings.record_db_url)
    records.create_schema()
    return Store(settings, client, vectorstore, records, fingerprint)


def drop_collection(settings: Settings) -> None:
    """Forget the collection and its records, for a rebuild."""
    client = make_client(settings)
    with contextlib.suppress(Exception):  # absent already: nothing to drop
        client.delete_collection(settings.collection_name)
    if (settings.data_dir / "records.sqlite").exists():
        records = SQLRecordManager(_namespace(settings), db_url=settings.record_db_url)
        records.create_schema()
        keys = records.list_keys()
        if keys:
            records.delete_keys(keys)


def _namespace(settings: Settings) -> str:
    where = f"{settings.chroma_host}:{settings.chroma_port}" if settings.chroma_host else "local"
    return f"chroma/{where}/{settings.collection_name}"
