"""The vector store: Chroma (embedded on disk, or a `chroma run` server) plus LangChain's
SQL record manager that makes ingestion incremental.

The collection's metadata records which embedding model wrote its vectors; opening it with
another model is refused rather than silently mixing vector spaces.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import sqlite3
import time
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

import chromadb
from chromadb.config import Settings as ChromaSettings
from langchain_core.embeddings import Embeddings

from app.components.embeddings import same_model
from app.components.errors import ModelMismatchError, StoreUnavailableError
from app.settings import Settings

if TYPE_CHECKING:
    from langchain_chroma import Chroma
    from langchain_classic.indexes import SQLRecordManager

MODEL_KEY = "embedding_model"
INDEXED_AT_KEY = "indexed_at"
# What chunk vectors are computed from; an index built another way is re-embedded once by the
# next ingest (its chunks' text is unchanged, so the record manager would keep them as they are).
RECIPE_KEY = "chunk_vectors"
CHUNK_RECIPE = "token-weighted mean of heading (x3) and sentence vectors"
SHADOW_SUFFIX = "--rebuild"  # a rebuild fills this collection, then it replaces the live one
_SEGMENT_DIR = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


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
        hint = (
            "; its folder must be writable (fix the permissions or set DATA_DIR)"
            if "readonly" in str(exc) or "read-only" in str(exc)
            else ""
        )
        raise StoreUnavailableError(f"Cannot open the {where}: {exc}{hint}") from exc


@dataclass
class Store:
    """The collection, the model that embeds for it, and, opened when first used, its
    LangChain wrapper and record manager: answering needs neither, and importing them
    (LangChain's vector-store and tracing modules, SQLAlchemy) costs a cold `ask` about a
    second."""

    settings: Settings
    client: chromadb.ClientAPI
    collection: chromadb.Collection
    embeddings: Embeddings
    fingerprint: str

    @cached_property
    def records(self) -> SQLRecordManager:
        return open_records(self.settings)

    @cached_property
    def vectorstore(self) -> Chroma:
        """LangChain's view of the same collection (deletes and `index()` go through it)."""
        return self.writer(self.embeddings)

    def recorded_model(self) -> str | None:
        return (self.collection.metadata or {}).get(MODEL_KEY)

    def check_model(self) -> None:
        recorded = self.recorded_model()
        if recorded and not same_model(recorded, self.fingerprint):
            raise ModelMismatchError(
                f"The index was built with embedding model {recorded}, but the configured model "
                f"is {self.fingerprint}. Vectors from two models cannot be mixed: run "
                "`compliance ingest --rebuild` to re-embed everything with the current model."
            )

    def stamp(self) -> None:
        """Record the model and a change time so open readers know to refresh."""
        metadata = dict(self.collection.metadata or {})
        metadata[MODEL_KEY] = self.fingerprint
        metadata[RECIPE_KEY] = CHUNK_RECIPE
        metadata[INDEXED_AT_KEY] = time.time()
        self.collection.modify(metadata=metadata)

    def older_recipe(self) -> bool:
        """True when the chunks were embedded from other text than CHUNK_RECIPE says."""
        recorded = (self.collection.metadata or {}).get(RECIPE_KEY)
        return recorded != CHUNK_RECIPE and self.collection.count() > 0

    def version(self) -> tuple[int, float]:
        """Cheap change marker: chunk count and last ingest time."""
        fresh = self.client.get_collection(self.settings.collection_name, embedding_function=None)
        return fresh.count(), float((fresh.metadata or {}).get(INDEXED_AT_KEY, 0.0))

    def all_chunks(self) -> dict[str, Any]:
        return self.collection.get(include=["documents", "metadatas", "embeddings"])

    def writer(self, embeddings: Embeddings) -> Chroma:
        """The same collection, written through other embeddings (ingest's batching)."""
        from langchain_chroma import Chroma

        try:
            return Chroma(
                collection_name=self.settings.collection_name,
                embedding_function=embeddings,
                client=self.client,
                collection_metadata={MODEL_KEY: self.fingerprint},
                collection_configuration=COLLECTION_CONFIGURATION,
            )
        except Exception as exc:
            raise StoreUnavailableError(
                f"Cannot open collection {self.settings.collection_name}: {exc}"
            ) from exc

    def reopen(self) -> None:
        """Point at the live collection again (after a rebuild replaced it)."""
        self.collection = _collection(self.settings, self.client, self.fingerprint)
        self.__dict__.pop("vectorstore", None)


# Cosine distance, given alike whether the collection is opened directly or by LangChain.
COLLECTION_CONFIGURATION = {"hnsw": {"space": "cosine"}}


def _collection(
    settings: Settings, client: chromadb.ClientAPI, fingerprint: str
) -> chromadb.Collection:
    """The collection, created when absent, never with Chroma's default embedding function
    (vectors always come from our model)."""
    try:
        return client.get_or_create_collection(
            name=settings.collection_name,
            embedding_function=None,
            metadata={MODEL_KEY: fingerprint},
            configuration=COLLECTION_CONFIGURATION,
        )
    except Exception as exc:
        raise StoreUnavailableError(
            f"Cannot open collection {settings.collection_name}: {exc}"
        ) from exc


def open_store(settings: Settings, embeddings: Embeddings, fingerprint: str) -> Store:
    client = make_client(settings)
    return Store(
        settings, client, _collection(settings, client, fingerprint), embeddings, fingerprint
    )


def open_records(settings: Settings) -> SQLRecordManager:
    """LangChain's record of which chunk of which file is indexed."""
    from langchain_classic.indexes import SQLRecordManager

    try:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        records = SQLRecordManager(_namespace(settings), db_url=settings.record_db_url)
        records.create_schema()
    except Exception as exc:  # sqlalchemy wraps sqlite's errors; the user needs the file
        raise StoreUnavailableError(
            f"Cannot open the ingest records {settings.records_path}: "
            f"{getattr(exc, 'orig', None) or exc}"
        ) from exc
    return records


def shadow_settings(settings: Settings) -> Settings:
    """Where a rebuild writes, so the live index answers until the new one is complete."""
    return settings.updated(collection_name=settings.collection_name + SHADOW_SUFFIX)


def promote(shadow: Store, live: Settings) -> None:
    """Make a completed rebuild the live index: the shadow collection takes the live name and
    its ingest records take the live namespace; the old collection is then dropped."""
    from langchain_classic.indexes._sql_record_manager import UpsertionRecord
    from sqlalchemy import delete, update

    client = shadow.client
    retired = live.collection_name + "--old"
    with contextlib.suppress(Exception):
        client.delete_collection(retired)
    had_live = True
    try:
        client.get_collection(live.collection_name).modify(name=retired)
    except Exception:  # no live collection yet
        had_live = False
    shadow.collection.modify(name=live.collection_name)
    with shadow.records._make_session() as session:
        session.execute(
            delete(UpsertionRecord).where(UpsertionRecord.namespace == _namespace(live))
        )
        session.execute(
            update(UpsertionRecord)
            .where(UpsertionRecord.namespace == shadow.records.namespace)
            .values(namespace=_namespace(live))
        )
        session.commit()
    if had_live:
        with contextlib.suppress(Exception):
            client.delete_collection(retired)
    prune_segment_folders(live)


def drop_collection(settings: Settings) -> None:
    """Forget a collection and its records (a rebuild's leftovers)."""
    client = make_client(settings)
    with contextlib.suppress(Exception):  # absent already: nothing to drop
        client.delete_collection(settings.collection_name)
    if settings.records_path.exists():
        records = open_records(settings)
        keys = records.list_keys()
        if keys:
            records.delete_keys(keys)
    prune_segment_folders(settings)


def prune_segment_folders(settings: Settings) -> list[str]:
    """Remove the vector-index folders embedded Chroma leaves on disk for dropped collections
    (one per rebuild otherwise): folders named like a segment id that no segment uses."""
    database = settings.chroma_dir / "chroma.sqlite3"
    if settings.chroma_host or not database.is_file():
        return []
    try:
        with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as db:
            used = {row[0] for row in db.execute("SELECT id FROM segments")}
    except sqlite3.Error:
        return []  # an unknown layout: leave everything as it is
    removed = []
    for folder in settings.chroma_dir.iterdir():
        if folder.is_dir() and _SEGMENT_DIR.match(folder.name) and folder.name not in used:
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder.name)
    return removed


def _namespace(settings: Settings) -> str:
    where = f"{settings.chroma_host}:{settings.chroma_port}" if settings.chroma_host else "local"
    return f"chroma/{where}/{settings.collection_name}"
