"""Building blocks the services are made of: embeddings, vector store, retriever."""
