"""Which retrieved sentence carries the asked fact: a ranking fitted on the dev split.

The hand-set sum (similarity, term share, passage strength) put the fact-bearing sentence
outside the four quoted ones for about one fact in eight. A logistic regression over the same
measures and a few more (does the sentence state the figure asked for, how strong its passage
is lexically, how long it is), fitted by `compliance calibrate` on which dev sentences hold a
question's key facts, ranks them instead. Its coefficients live as data in
`eval/sentence-model.json`; without that file the hand-set weights rank.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.components.fitted import load_fitted, save_fitted

# The measures of one sentence the ranking reads (`Retrieval.score` computes them).
SENTENCE_FEATURES = [
    "semantic",  # similarity of the sentence to the question
    "terms",  # share of the question's weighted terms the sentence holds (bridges included)
    "heading_terms",  # ...its section heading holds
    "passage_dense",  # similarity of its passage to the question
    "passage_lexical",  # its passage's BM25 score, relative to the best scored passage's
    "passage_asked",  # similarity of the passage's "sellers ask" questions to the question
    "passage_rank",  # 0 for the best passage
    "authority",  # the source's authority weight
    "pointer",  # 1 for a pointer to another section ("see ...")
    "states_figure",  # 1 when the question asks for a figure and the sentence states one
    "states_kind",  # 1 when it states the kind asked for (a duration, a share, an amount)
    "length",  # log(1 + characters)
    "semantic_behind",  # its similarity minus the question's closest sentence's
    "terms_behind",  # its term share minus the best share among the question's sentences
]


class SentenceRankerError(ValueError):
    """The sentence model file is unreadable or was fitted on other measures."""


@dataclass
class SentenceRanker:
    features: list[str]
    mean: list[float]
    scale: list[float]
    coef: list[float]
    intercept: float
    fitted_on: str = ""

    def probabilities(self, rows: np.ndarray) -> np.ndarray:
        """p(the sentence holds a key fact) for each row of measures."""
        scale = np.where(np.asarray(self.scale) == 0, 1.0, self.scale)
        z = (rows - np.asarray(self.mean)) / scale @ np.asarray(self.coef) + self.intercept
        return 1.0 / (1.0 + np.exp(-np.clip(z, -60.0, 60.0)))

    def save(self, path: Path) -> None:
        save_fitted(self, path)


def load_sentence_ranker(path: Path | None) -> SentenceRanker | None:
    return load_fitted(
        path, SentenceRanker, SENTENCE_FEATURES, SentenceRankerError, "sentence model"
    )
