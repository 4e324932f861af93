"""Sentence-level verification of generated text with the real bundled model."""

from __future__ import annotations

import pytest

from app.services.verification import check, split_claims

SOURCES = [
    "A seller has 5 days to accept or reject a refund request after the buyer opens it. "
    "If the seller does nothing within those 5 days, the refund is paid automatically.",
    "Three serious intellectual property infringements close the store. "
    "Each violation stays on the record for 365 days.",
]


@pytest.fixture(scope="module")
def embed(embeddings):
    import numpy as np

    return lambda texts: np.asarray(embeddings.embed_documents(texts), dtype=np.float32)


def run(text: str, embed, min_support: float = 0.6):
    return check(text, SOURCES, min_support, embed, embed)


def test_markers_are_read_wherever_the_model_puts_them():
    claims = split_claims("Refunds are automatic after 5 days. [1] Stores close [2, 9].", 2)
    assert [c.text for c in claims] == ["Refunds are automatic after 5 days.", "Stores close."]
    assert claims[0].cited == [0] and claims[1].cited == [1] and claims[1].invalid == [9]


def test_a_paraphrase_with_the_right_figure_is_supported(embed):
    checked = run("Sellers must accept or reject a refund request within 5 days [1].", embed)
    assert checked.trustworthy and checked.supported[0].source == 0
    assert checked.supported[0].quote.text.startswith("A seller has 5 days")


def test_a_figure_the_source_does_not_give_is_unsupported(embed):
    checked = run("Sellers must accept or reject a refund request within 15 days [1].", embed)
    assert not checked.supported
    assert "15" in checked.unsupported[0].problem


def test_a_wrong_citation_is_re_attributed_not_dropped(embed):
    checked = run("Three serious infringements close the store [1].", embed)
    assert checked.supported and checked.supported[0].source == 1


def test_an_unrelated_claim_is_unsupported(embed):
    checked = run("Refunds are paid in gold bars to loyal buyers [1].", embed)
    assert not checked.trustworthy and checked.unsupported[0].support < 0.6


def test_stricter_threshold_rejects_loose_paraphrase(embed):
    loose = "The refund is paid automatically if the seller does nothing [1]."
    assert run(loose, embed, 0.6).supported
    assert not run(loose, embed, 0.95).supported
