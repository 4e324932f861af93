"""Fitting the sentence ranking and the answer-or-refuse decision on the dev split
(`compliance calibrate`).

The evidence of every dev question is collected through the real pipeline (screen, condense,
retrieve, score). First the sentence ranking: which scored sentences hold a covered question's
key facts. Then, with that ranking in place (the evidence signals read the best sentences), the
refusal model. Each is a logistic regression (scikit-learn, a dev dependency) chosen by 5-fold
cross-validation, the refusal model's averaged with boosted trees chosen the same way; the
refusal threshold is set on out-of-fold probabilities, so neither is judged on the very
questions it was fitted to. The test split is never read.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from app.components.refusal import FEATURES, RefusalModel, floored_length
from app.components.retrieval import statement
from app.components.sentence_ranker import SENTENCE_FEATURES, SentenceRanker
from app.services.answering import Answer, Assistant, Evidence
from app.services.evaluation import EvalItem

MIN_GROUP = 30  # covered questions a group needs for a threshold of its own
# English question lengths (in terms) the signal may be read as at least, chosen with the
# regularisation by cross-validation; 0 reads every length as it is.
LENGTH_FLOORS = (0, 6, 8, 10)


# The target for false refusals, used as the cap out of fold. Round 13 set 7.5%, when
# a 5% cap held the refusal recall near 0.44; with round 21's dev split (2,450 questions) a 5%
# cap keeps 0.84 out of fold, and on 115 questions no build had seen (R23-R25) the refit at 5%
# refused 0.85 of the uncovered ones (the round-18 model: 0.73) with fewer false refusals.
MAX_FALSE_REFUSALS = 0.05


def floored_lengths(x: Any, floor: int = 0) -> Any:
    """The signals with an English question's length read as at least `floor` terms."""
    import numpy as np

    return np.array([floored_length(list(row), floor) for row in x], dtype=float)


@dataclass
class CalibrationReport:
    model: RefusalModel
    questions: int
    answerable: int
    cv_false_refusals: float  # out-of-fold, at the chosen threshold
    cv_refusal_recall: float
    cv_auc: float


def collect(
    assistant: Assistant, items: list[EvalItem]
) -> tuple[list[list[float]], list[int], list[bool]]:
    """Signals, labels (1 = the rulebook answers it) and `held_from_glossary` of questions
    that reach scoring; questions ended before retrieval (declined, empty) are not the
    model's to decide."""
    rows: list[list[float]] = []
    labels: list[int] = []
    held: list[bool] = []
    for item in items:
        evidence = _evidence(assistant, item)
        if evidence is None:
            continue
        rows.append(evidence.signals.as_vector())
        labels.append(0 if item.expect.refuse else 1)
        held.append(item.held_from_glossary)
    return rows, labels, held


def _evidence(assistant: Assistant, item: EvalItem) -> Evidence | None:
    """The evidence the pipeline scores for a question (None: it ends before retrieval)."""
    screened = assistant.screen(item.question)
    if isinstance(screened, Answer):
        return None
    translation = assistant.translation(screened.text, item.history)
    if translation is None:
        evidence, _ = assistant.english_evidence(screened, item.history)
    else:  # another language: the rule terms it was bridged to, as the pipeline searches
        evidence = assistant.foreign_evidence(screened, translation)
    return None if isinstance(evidence, Answer) else evidence


@dataclass
class SentenceRows:
    """The scored sentences of covered dev questions: their measures, which key facts each
    holds (a bit per fact), the question each belongs to and its fact count."""

    rows: list[tuple[float, ...]] = field(default_factory=list)
    facts: list[int] = field(default_factory=list)
    question: list[int] = field(default_factory=list)
    fact_count: list[int] = field(default_factory=list)
    hand_score: list[float] = field(default_factory=list)


def collect_sentences(assistant: Assistant, items: list[EvalItem]) -> SentenceRows:
    """Every scored sentence of each covered question's evidence, labelled by the key facts
    its statement holds (the eval's own patterns)."""
    out = SentenceRows()
    for number, item in enumerate(i for i in items if i.expect.facts and not i.expect.refuse):
        evidence = _evidence(assistant, item)
        if evidence is None:
            continue
        patterns = [re.compile(f, re.I) for f in item.expect.facts]
        for s in evidence.scored:
            said = statement(s.passage, s.sentence)
            out.rows.append(s.features)
            out.facts.append(sum(1 << n for n, p in enumerate(patterns) if p.search(said)))
            out.question.append(number)
            out.fact_count.append(len(patterns))
            out.hand_score.append(s.weighed)
    return out


def facts_in_top(data: SentenceRows, scores: Any, top: int = 4) -> float:
    """Share of the key facts held by each question's `top` best-scored sentences."""
    import numpy as np

    question, facts = np.asarray(data.question), np.asarray(data.facts)
    held = whole = 0
    for number in np.unique(question):
        mine = np.flatnonzero(question == number)
        best = mine[np.argsort(-np.asarray(scores)[mine], kind="stable")[:top]]
        union = 0
        for bits in facts[best]:
            union |= int(bits)
        held += bin(union).count("1")
        whole += data.fact_count[mine[0]]
    return held / max(whole, 1)


@dataclass
class RankerReport:
    model: SentenceRanker
    sentences: int
    questions: int
    cv_facts_in_top: float  # out of fold, the fitted ranking's four best sentences
    hand_facts_in_top: float  # the hand-set weights' four best


def fit_sentences(data: SentenceRows, seed: int = 0) -> RankerReport:
    """A logistic regression of "this sentence holds a key fact", its regularisation chosen by
    5-fold cross-validation grouped by question (a question's sentences never straddle folds)."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV, GroupKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x = np.asarray(data.rows, dtype=float)
    y = (np.asarray(data.facts) > 0).astype(int)
    groups = np.asarray(data.question)
    folds = GroupKFold(n_splits=5)
    search = GridSearchCV(
        make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)),
        {"logisticregression__C": [0.01, 0.1, 1.0, 10.0]},
        cv=folds,
        scoring="neg_log_loss",
    )
    search.fit(x, y, groups=groups)
    oof = cross_val_predict(
        search.best_estimator_, x, y, groups=groups, cv=folds, method="decision_function"
    )
    scaler, logistic = search.best_estimator_.named_steps.values()
    model = SentenceRanker(
        features=list(SENTENCE_FEATURES),
        mean=[float(v) for v in scaler.mean_],
        scale=[float(v) for v in scaler.scale_],
        coef=[float(v) for v in logistic.coef_[0]],
        intercept=float(logistic.intercept_[0]),
        fitted_on=f"dev split, {len(y)} sentences of {len(np.unique(groups))} covered questions "
        f"({int(y.sum())} holding a key fact), 5-fold CV grouped by question, "
        f"C={search.best_params_['logisticregression__C']}",
    )
    return RankerReport(
        model,
        len(y),
        len(np.unique(groups)),
        cv_facts_in_top=facts_in_top(data, oof),
        hand_facts_in_top=facts_in_top(data, data.hand_score),
    )


def _steadiest(results: dict[str, Any]) -> int:
    """The regression's setting: among ties (`_best_auc`), the highest length floor and then
    the strongest regularisation (on dev, floors 6 and 8 tied at 0.954 and the pick flipped
    with each batch of questions; 8 keeps short covered questions answered)."""
    return _best_auc(
        results, lambda p: (p["functiontransformer__kw_args"]["floor"], -p["logisticregression__C"])
    )


def _smallest_forest(results: dict[str, Any]) -> int:
    """The trees' setting: among ties (`_best_auc`), the shallowest and then the fewest."""
    return _best_auc(results, lambda p: (-p["max_depth"], -p["n_estimators"]))


def _best_auc(results: dict[str, Any], simpler: Callable[[dict[str, Any]], tuple]) -> int:
    """The setting to keep: the best mean AUC to three decimals (the folds' spread is about
    0.01, so a smaller difference is noise), and among settings that tie, the one `simpler`
    ranks highest."""
    import numpy as np

    scores = np.round(results["mean_test_score"], 3)
    params = results["params"]
    return max(range(len(scores)), key=lambda i: (scores[i], *simpler(params[i])))


def _stored_trees(forest: Any, features: int) -> dict[str, Any]:
    """Boosted trees as data answering applies without scikit-learn: each tree's node columns
    with its leaves scaled by the learning rate (`RefusalModel` keeps the indices as whole
    numbers), and the log-odds the boosting starts from."""
    import numpy as np

    trees = []
    for (estimator,) in forest.estimators_:
        tree = estimator.tree_
        columns = (tree.feature, tree.threshold, tree.children_left, tree.children_right)
        leaves = [float(v) * forest.learning_rate for v in tree.value[:, 0, 0]]
        trees.append([*([float(v) for v in column] for column in columns), leaves])
    origin = np.zeros((1, features))
    summed = sum(float(e.predict(origin)[0]) for (e,) in forest.estimators_)
    start = float(forest.decision_function(origin)[0]) - forest.learning_rate * summed
    return {"trees": trees, "trees_intercept": start}


def _ceiling(values: Any) -> float | None:
    """The largest value, rounded up so that the question holding it stays inside."""
    return math.ceil(float(values.max()) * 1e4) / 1e4 if len(values) else None


def fit(
    rows: list[list[float]],
    labels: list[int],
    max_false_refusals: float = MAX_FALSE_REFUSALS,
    seed: int = 0,
    repeats: int = 10,
    held: list[bool] | None = None,
) -> CalibrationReport:
    import numpy as np
    from sklearn.ensemble import GradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import (
        GridSearchCV,
        RepeatedStratifiedKFold,
        StratifiedKFold,
        cross_val_predict,
    )
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, StandardScaler

    x, y = np.asarray(rows, dtype=float), np.asarray(labels)
    # A signal at a value only a few dev questions reach (figure_elsewhere 1.0: 5 of 1,840)
    # would be extrapolated linearly far past what those questions show: the model sees each
    # signal within its 0.5th-99.5th percentile range, and so does every question it scores.
    nearest = x[:, FEATURES.index("best_ask")].copy()
    unbridged = x[:, FEATURES.index("unbridged")].copy()
    low, high = np.percentile(x, [0.5, 99.5], axis=0)
    x = np.clip(x, low, high)
    # A short English question ("What's the IOSS value cap?") holds all its few terms in a
    # neighbouring rule as easily as in its own, and the length signal was there to say so; read
    # linearly it refused a quarter of the short covered questions out of fold. Below a floor
    # (chosen here) an English question's length stops counting against it. A bridged question's
    # length counts the rule terms its words were mapped to, and stays as it is.
    search = GridSearchCV(
        make_pipeline(
            FunctionTransformer(floored_lengths),
            StandardScaler(),
            LogisticRegression(class_weight="balanced"),
        ),
        {
            "logisticregression__C": [0.03, 0.1, 0.3, 1.0, 3.0],
            "functiontransformer__kw_args": [{"floor": floor} for floor in LENGTH_FLOORS],
        },
        # scored over several shufflings of the folds: on one split the choice flipped
        # between neighbouring settings (floor 8 or 6, C 0.3 or 3) as a few questions joined dev
        cv=RepeatedStratifiedKFold(n_splits=5, n_repeats=5, random_state=seed),
        scoring="roc_auc",
        refit=_steadiest,
    )
    search.fit(x, y)
    # Boosted shallow trees over the same signals see what a weighted sum cannot: a signal that
    # counts only together with another (a figure the best sentences lack matters less when a
    # section was written for the question). The probability is the two models' average: on
    # dev in round 24, out of fold, the trees alone raised AUC 0.954 -> 0.962 and the refusal
    # recall of bridged questions 0.79 -> 0.83 but lost 0.01 of English ones at the same false
    # refusals; the average kept the English figure and most of the bridged gain (0.84). Trees
    # need no scaling, and read lengths floored as the regression does (below the floor, an
    # English question's length says nothing).
    floor = search.best_params_["functiontransformer__kw_args"]["floor"]
    floored = floored_lengths(x, floor=floor)
    trees = GridSearchCV(
        GradientBoostingClassifier(learning_rate=0.05, subsample=0.8, random_state=seed),
        {"max_depth": [2, 3], "n_estimators": [150, 300]},
        cv=RepeatedStratifiedKFold(n_splits=5, n_repeats=5, random_state=seed),
        scoring="roc_auc",
        refit=_smallest_forest,
        n_jobs=-1,
    )
    trees.fit(floored, y)
    # Out-of-fold probabilities averaged over several shufflings of the folds: a threshold
    # read off one split moves with which questions happened to share a fold.
    p = np.mean(
        [
            cross_val_predict(
                estimator,
                signals,
                y,
                cv=StratifiedKFold(n_splits=5, shuffle=True, random_state=seed + repeat),
                method="predict_proba",
            )[:, 1]
            for repeat in range(repeats)
            for estimator, signals in (
                (search.best_estimator_, x),
                (trees.best_estimator_, floored),
            )
        ],
        axis=0,
    )

    # The highest threshold (the most uncovered questions refused) that still refuses at most
    # `max_false_refusals` of the covered ones out of fold: a wrong refusal leaves a seller
    # with nothing, while a weak answer is shown as "the closest rule, check it" (the default
    # is the target, see MAX_FALSE_REFUSALS).
    def highest(group: np.ndarray) -> float:
        best = float(p[group].min())
        for t in np.unique(np.round(p[group], 3)):
            if float(np.mean(p[group & (y == 1)] < t)) <= max_false_refusals:
                best = max(best, float(t))
        return best

    # The cap holds for English questions and for those bridged from another language apart:
    # with one threshold, whichever group the dev split happens to hold more uncovered
    # questions of would take the other's false refusals (on dev: 10% in other languages at
    # 7.5% overall), and a seller's language would decide how often an answer is withheld.
    translated = x[:, FEATURES.index("translated")] > 0
    everyone = np.ones(len(y), dtype=bool)
    best_t = highest(~translated if (~translated & (y == 1)).sum() >= MIN_GROUP else everyone)
    # A glossary widened from the failures of some dev questions makes exactly those look
    # better bridged than a new seller's question will be (round 10: 7% false refusals out
    # of fold, 15-20% on unseen questions in the same languages). Where enough questions were
    # held from that work, the other-language threshold is read off them alone.
    unseen = translated & (np.asarray(held, bool) if held is not None else False)
    group = unseen if (unseen & (y == 1)).sum() >= MIN_GROUP else translated
    translated_t = highest(group) if (group & (y == 1)).sum() >= MIN_GROUP else None
    cut = np.where(translated, translated_t if translated_t is not None else best_t, best_t)
    # Answers below the median probability of the uncovered questions that still got an answer
    # carry a "closest rule, check it" line.
    uncovered_answered = p[(y == 0) & (p >= cut)]
    caution = float(np.median(uncovered_answered)) if len(uncovered_answered) else best_t
    _, scaler, logistic = search.best_estimator_.named_steps.values()
    model = RefusalModel(
        features=FEATURES,
        mean=[float(v) for v in scaler.mean_],
        scale=[float(v) for v in scaler.scale_],
        coef=[float(v) for v in logistic.coef_[0]],
        intercept=float(logistic.intercept_[0]),
        **_stored_trees(trees.best_estimator_, len(FEATURES)),
        threshold=round(best_t, 4),
        translated_threshold=None if translated_t is None else round(translated_t, 4),
        caution_below=round(max(caution, best_t, translated_t or 0.0), 4),
        low=[float(v) for v in low],
        high=[float(v) for v in high],
        # the floor under which a question is never answered: the least similar section any
        # covered dev question answered out of fold had (a covered question refused anyway, a
        # follow-up that is all pronouns, says nothing about where answering stops paying)
        nearest_floor=math.floor(float(nearest[(y == 1) & (p >= cut)].min()) * 1e4) / 1e4,
        # ...and for a question from another language, the largest share of its letters no
        # glossary reached in any covered one answered out of fold ("write me a spring poem"
        # bridges one word: whatever that word finds, the question is about something else)
        unbridged_ceiling=_ceiling(unbridged[(y == 1) & (p >= cut) & translated]),
        english_length_floor=floor,
        fitted_on=f"dev split, {len(y)} questions ({int(y.sum())} covered), 5-fold CV, "
        f"C={search.best_params_['logisticregression__C']}, English length floor {floor} "
        f"terms, averaged with {trees.best_params_['n_estimators']} boosted trees of depth "
        f"{trees.best_params_['max_depth']}, threshold on out-of-fold "
        f"probabilities averaged over {repeats} fold shufflings"
        + (
            f"; other languages' threshold on {int(unseen.sum())} held from the glossaries"
            if group is unseen
            else ""
        ),
    )
    return CalibrationReport(
        model,
        len(y),
        int(y.sum()),
        cv_false_refusals=float(np.mean(p[y == 1] < cut[y == 1])),
        cv_refusal_recall=float(np.mean(p[y == 0] < cut[y == 0])),
        cv_auc=float(roc_auc_score(y, p)),
    )
