"""The naive baseline the benchmark compares against: how typical chat-with-docs apps start.

Raw files split by RecursiveCharacterTextSplitter (1000/200), LangChain `Chroma.from_documents`
with the same model run the usual way (sentence-transformers on torch), dense-only
`similarity_search(k=4)`, and the answer is the top chunk. It exposes `ask` and `retrieve` like
`Assistant`, so the same evaluation code scores it. `python -m bench.baseline ask` is its
command line (index built on first use), timed cold by the benchmark beside ours.
"""

from __future__ import annotations

import argparse
import json
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
    def __init__(
        self, knowledge_dir: Path, data_dir: Path, embeddings: Embeddings, build: bool = True
    ) -> None:
        client = chromadb.PersistentClient(
            path=str(data_dir), settings=ChromaSettings(anonymized_telemetry=False)
        )
        self.settings = Settings(_env_file=None, knowledge_dir=knowledge_dir)
        if not build:  # an index this class built before
            self.store = Chroma(
                collection_name="baseline", embedding_function=embeddings, client=client
            )
            self.chunks = self.store._collection.count()
            return
        splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
        docs = [
            Document(
                page_content=text, metadata={"source": path.relative_to(knowledge_dir).as_posix()}
            )
            for path in sorted(knowledge_dir.rglob("*.md"))
            for text in splitter.split_text(path.read_text(encoding="utf-8"))
        ]
        self.store = Chroma.from_documents(
            docs,
            embeddings,
            client=client,
            collection_name="baseline",
            collection_configuration={"hnsw": {"space": "cosine"}},
        )
        self.chunks = len(docs)

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


def main() -> None:
    """`python -m bench.baseline ask QUESTION --knowledge DIR --data DIR`: the peer's cold ask."""
    from langchain_huggingface import HuggingFaceEmbeddings

    from app.settings import bundled_model_path

    parser = argparse.ArgumentParser(prog="python -m bench.baseline")
    parser.add_argument("command", choices=["ask"])
    parser.add_argument("question")
    parser.add_argument("--knowledge", type=Path, default=Path("knowledge"))
    parser.add_argument("--data", type=Path, required=True)
    args = parser.parse_args()
    embeddings = HuggingFaceEmbeddings(
        model=str(bundled_model_path()),
        model_kwargs={"device": "cpu", "local_files_only": True},
        encode_kwargs={"normalize_embeddings": True},
    )
    built = args.data.is_dir()
    peer = NaiveBaseline(args.knowledge, args.data, embeddings, build=not built)
    answer = peer.ask(args.question)
    print(json.dumps({"text": answer.text, "sources": [p.source for p in answer.passages]}))


if __name__ == "__main__":
    main()
