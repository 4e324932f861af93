"""Ingestion: guidance files -> chunks -> vectors in Chroma, incrementally."""
