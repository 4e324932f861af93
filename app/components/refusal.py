"""The answer-or-refuse decision as a calibrated probability, not a hand-set sum.

A logistic regression over the evidence signals (`Signals`), averaged with boosted shallow
trees over the same signals (they see a signal that counts only together with another), both
fitted on the dev split with cross-validation by `compliance calibrate`, gives p(the rulebook
answers this question). Coefficients and trees live as data in `eval/refusal-model.json`, so
the decision is reproducible and reviewable and answering needs no scikit-learn; without that
file the hand-weighted evidence score and REFUSAL_THRESHOLD decide.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.components.fitted import load_fitted, save_fitted
from app.components.retrieval import Signals, length_signal

FEATURES = list(vars(Signals()).keys())
# a tree's node columns: feature (-2 at a leaf), threshold, left and right child (-1 at a
# leaf), value; feature and children are whole numbers
Tree = list[list[float]]


class RefusalModelError(ValueError):
    """The refusal model file is unreadable or was fitted on other signals."""


@dataclass
class RefusalModel:
    features: list[str]
    mean: list[float]
    scale: list[float]
    coef: list[float]
    intercept: float
    threshold: float  # answer at or above this probability
    caution_below: float  # answers below this carry a "closest rule, check it" line
    fitted_on: str = ""
    # ...for a question bridged from another language: its signals come from a bag of rule
    # terms, so the same false-refusal cap is met at its own threshold (None: `threshold`)
    translated_threshold: float | None = None
    # each signal's range on the dev split (0.5th to 99.5th percentile): a value past it counts
    # as the edge, so a linear model never extrapolates from a handful of extreme questions
    low: list[float] | None = None
    high: list[float] | None = None
    # the least similar the closest section ever was for a covered dev question: a question
    # further than that from every section ("which film tonight?") is about something else,
    # however its clipped signals add up (None: no floor)
    nearest_floor: float | None = None
    # the largest share of a bridged question's letters no glossary reached among the covered
    # dev questions answered: past it, the few rule terms found are not what it asks (None: none)
    unbridged_ceiling: float | None = None
    # an English question shorter than this many terms counts as this long (see calibration)
    english_length_floor: int = 0
    # boosted trees whose probability is averaged with the regression's (None: the regression
    # alone): each tree as its nodes' [feature, threshold, left, right, value] columns over the
    # clipped and floored signals, unscaled (a leaf has left -1; its value is already scaled
    # by the learning rate); their log-odds are `trees_intercept` plus one leaf of each
    trees: list[Tree] | None = None
    trees_intercept: float = 0.0

    def __post_init__(self) -> None:
        # node indices as whole numbers, however they were given (scikit-learn's arrays, or
        # a file written before they were stored so)
        if self.trees:
            self.trees = [
                [
                    [int(v) for v in feature],
                    threshold,
                    [int(v) for v in left],
                    [int(v) for v in right],
                    value,
                ]
                for feature, threshold, left, right, value in self.trees
            ]

    def threshold_for(self, signals: Signals) -> float:
        if signals.translated and self.translated_threshold is not None:
            return self.translated_threshold
        return self.threshold

    def probability(self, signals: Signals) -> float:
        if self.nearest_floor is not None and signals.best_ask < self.nearest_floor:
            return 0.0
        if (
            self.unbridged_ceiling is not None
            and signals.translated
            and signals.unbridged > self.unbridged_ceiling
        ):
            return 0.0
        values = signals.as_vector()
        if self.low is not None and self.high is not None:
            values = [
                min(max(v, lo), hi) for v, lo, hi in zip(values, self.low, self.high, strict=True)
            ]
        floored = floored_length(values, self.english_length_floor)
        z = self.intercept + sum(
            c * (v - m) / (s or 1.0)
            for c, v, m, s in zip(self.coef, floored, self.mean, self.scale, strict=True)
        )
        if not self.trees:
            return _logistic(z)
        # the trees split the signals as scikit-learn saw them, in single precision
        single = [float(v) for v in np.asarray(floored, dtype=np.float32)]
        forest = self.trees_intercept + sum(_leaf(tree, single) for tree in self.trees)
        return (_logistic(z) + _logistic(forest)) / 2.0

    def save(self, path: Path) -> None:
        save_fitted(self, path)


def _logistic(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(min(z, 60.0), -60.0)))


def _leaf(tree: Tree, values: list[float]) -> float:
    """The value of the leaf `values` fall into (left when at or below the threshold)."""
    feature, threshold, left, right, value = tree
    node = 0
    while left[node] >= 0:
        node = left[node] if values[feature[node]] <= threshold[node] else right[node]
    return value[node]


def floored_length(values: list[float], floor: int) -> list[float]:
    """A signal vector with an English question's length read as at least `floor` terms (the
    same rule calibration fits with and answering applies)."""
    if not floor or values[FEATURES.index("translated")] > 0:
        return values
    column = FEATURES.index("length")
    return [*values[:column], max(values[column], length_signal(floor)), *values[column + 1 :]]


def load_refusal_model(path: Path | None) -> RefusalModel | None:
    return load_fitted(path, RefusalModel, FEATURES, RefusalModelError, "refusal model")
