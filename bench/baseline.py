"""The naive baseline the benchmark compares against: how typical chat-with-docs apps start.

Raw files split by RecursiveCharacterTextSplitter (1000/200), LangChain `Chroma.from_documents`
with the same embedding model, dense-only `similarity_search(k=4)`, and the answer is the top
chunk. It exposes `ask` and `retrieve` like `Assistant`, so the same evaluation code scores it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import chromadb
from chromadb.config import Settings as ChromaSettings
from langchain_chroma import Chroma
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_text_splitters import RecursiveCharacterTextSplitter

from app.components.retriever import Passage
from app.services.answering import Answer
from app.settings import Settings


class NaiveBaseline:
    def __init__(self, knowledge_dir: Path, data_dir: Path, embeddings: Embeddings) -> None:
        splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
        docs = [
            Document(
                page_content=text, metadata={"source": path.relative_to(knowledge_dir).as_posix()}
            )
            for path in sorted(knowledge_dir.rglob("*.md"))
            for text in splitter.split_text(path.read_text(encoding="utf-8"))
        ]
        client = chromadb.PersistentClient(
            path=str(data_dir), settings=ChromaSettings(anonymized_telemetry=False)
        )
        self.store = Chroma.from_documents(
            docs,
            embeddings,
            client=client,
            collection_name="baseline",
            collection_configuration={"hnsw": {"space": "cosine"}},
        )
        self.chunks = len(docs)
        self.settings = Settings(_env_file=None, knowledge_dir=knowledge_dir)

    def retrieve(self, question: str, history: Sequence[dict] | None = None, k: int = 4):
        return [
            Passage(
                id=doc.id or "",
                text=doc.page_content,
                source=doc.metadata["source"],
                title="",
                section="",
                page=None,
                url="",
                score=1 - distance,
                dense=1 - distance,
                lexical=0.0,
            )
            for doc, distance in self.store.similarity_search_with_score(question, k=k)
        ]

    def ask(self, question: str, history: Sequence[dict] | None = None) -> Answer:
        passages = self.retrieve(question, history, k=4)
        return Answer(
            question, passages[0].text if passages else "", refused=False, passages=passages
        )
