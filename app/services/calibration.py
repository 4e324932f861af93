"""Fitting the answer-or-refuse decision on the dev split (`compliance calibrate`).

The evidence signals of every dev question are collected through the real pipeline (screen,
condense, retrieve, score); a logistic regression (scikit-learn, a dev dependency) is chosen by
5-fold cross-validation, and the decision threshold is set on the out-of-fold probabilities,
so it is not fitted to the very questions it is judged on. The test split is never read.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.components.refusal import FEATURES, RefusalModel
from app.services.answering import Answer, Assistant
from app.services.evaluation import EvalItem
from app.services.questions import condense


@dataclass
class CalibrationReport:
    model: RefusalModel
    questions: int
    answerable: int
    cv_false_refusals: float  # out-of-fold, at the chosen threshold
    cv_refusal_recall: float
    cv_auc: float


def collect(assistant: Assistant, items: list[EvalItem]) -> tuple[list[list[float]], list[int]]:
    """Signals and labels (1 = the rulebook answers it) of questions that reach scoring;
    questions ended before retrieval (declined, empty) are not the model's to decide."""
    rows: list[list[float]] = []
    labels: list[int] = []
    for item in items:
        screened = assistant.screen(item.question)
        if isinstance(screened, Answer):
            continue
        translation = assistant.translation(screened.text)
        if translation is None:
            standalone = condense(screened.text, item.history)
            evidence = assistant.gather(screened.text, standalone, screened.notes)
        else:  # another language: the rule terms it was bridged to, as the pipeline searches
            evidence = assistant.foreign_evidence(screened, translation)
        if isinstance(evidence, Answer):
            continue
        rows.append(evidence.signals.as_vector())
        labels.append(0 if item.expect.refuse else 1)
    return rows, labels


def fit(
    rows: list[list[float]],
    labels: list[int],
    max_false_refusals: float = 0.075,
    seed: int = 0,
    repeats: int = 10,
) -> CalibrationReport:
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x, y = np.asarray(rows, dtype=float), np.asarray(labels)
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=seed)
    search = GridSearchCV(
        make_pipeline(StandardScaler(), LogisticRegression(class_weight="balanced")),
        {"logisticregression__C": [0.03, 0.1, 0.3, 1.0, 3.0]},
        cv=folds,
        scoring="roc_auc",
    )
    search.fit(x, y)
    # Out-of-fold probabilities averaged over several shufflings of the folds: a threshold
    # read off one split moves with which questions happened to share a fold.
    p = np.mean(
        [
            cross_val_predict(
                search.best_estimator_,
                x,
                y,
                cv=StratifiedKFold(n_splits=5, shuffle=True, random_state=seed + repeat),
                method="predict_proba",
            )[:, 1]
            for repeat in range(repeats)
        ],
        axis=0,
    )
    # The highest threshold (the most uncovered questions refused) that still refuses at most
    # `max_false_refusals` of the covered ones out of fold: a wrong refusal leaves a seller
    # with nothing, while a weak answer is shown as "the closest rule, check it". The default
    # cap (7.5%) sits between the 5% target and the 10% first used: at 5% out of fold
    # the refusal recall falls to about 0.44, at 10% false refusals double the target.
    best_t = float(p.min())
    for t in np.unique(np.round(p, 3)):
        if float(np.mean(p[y == 1] < t)) <= max_false_refusals:
            best_t = max(best_t, float(t))
    # Answers below the median probability of the uncovered questions that still got an answer
    # carry a "closest rule, check it" line.
    uncovered_answered = p[(y == 0) & (p >= best_t)]
    caution = float(np.median(uncovered_answered)) if len(uncovered_answered) else best_t
    scaler, logistic = search.best_estimator_.named_steps.values()
    model = RefusalModel(
        features=FEATURES,
        mean=[float(v) for v in scaler.mean_],
        scale=[float(v) for v in scaler.scale_],
        coef=[float(v) for v in logistic.coef_[0]],
        intercept=float(logistic.intercept_[0]),
        threshold=round(best_t, 4),
        caution_below=round(max(caution, best_t), 4),
        fitted_on=f"dev split, {len(y)} questions ({int(y.sum())} covered), 5-fold CV, "
        f"C={search.best_params_['logisticregression__C']}, threshold on out-of-fold "
        f"probabilities averaged over {repeats} fold shufflings",
    )
    return CalibrationReport(
        model,
        len(y),
        int(y.sum()),
        cv_false_refusals=float(np.mean(p[y == 1] < best_t)),
        cv_refusal_recall=float(np.mean(p[y == 0] < best_t)),
        cv_auc=float(roc_auc_score(y, p)),
    )
