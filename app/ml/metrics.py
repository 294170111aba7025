"""Binary classification metrics in plain NumPy (label 1 = blocked).

Values are Python floats/ints so they can be stored as JSON. Metrics that need both classes
(ROC AUC, and PR AUC without positives) are `None` on one-class input.
"""

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

LOG_LOSS_EPS = 1e-15


def classification_metrics(y_true: ArrayLike, proba: ArrayLike, threshold: float) -> dict[str, Any]:
    """Metrics of block probabilities `proba` against 0/1 labels; block when proba >= threshold."""
    y, p = _as_arrays(y_true, proba)
    pred = p >= threshold
    tp = int(np.sum(pred & (y == 1)))
    fp = int(np.sum(pred & (y == 0)))
    fn = int(np.sum(~pred & (y == 1)))
    tn = int(np.sum(~pred & (y == 0)))
    return {
        "accuracy": (tp + tn) / len(y),
        "precision": _ratio(tp, tp + fp),
        "recall": _ratio(tp, tp + fn),
        "f1": _ratio(2 * tp, 2 * tp + fp + fn),
        "roc_auc": roc_auc(y, p),
        "pr_auc": average_precision(y, p),
        "log_loss": log_loss(y, p),
        "brier": brier(y, p),
        "confusion_matrix": {
            "labels": ["billed", "blocked"],
            "matrix": [[tn, fp], [fn, tp]],
            "rows": "actual",
            "columns": "predicted",
        },
        "support": {"billed": tn + fp, "blocked": tp + fn, "total": len(y)},
        "threshold": float(threshold),
    }


def log_loss(y_true: ArrayLike, proba: ArrayLike) -> float:
    """Mean negative log-likelihood of the labels (probabilities clipped to [1e-15, 1 - 1e-15])."""
    y, p = _as_arrays(y_true, proba)
    clipped = np.clip(p, LOG_LOSS_EPS, 1 - LOG_LOSS_EPS)
    return float(-np.mean(y * np.log(clipped) + (1 - y) * np.log(1 - clipped)))


def brier(y_true: ArrayLike, proba: ArrayLike) -> float:
    """Mean squared difference between probability and label."""
    y, p = _as_arrays(y_true, proba)
    return float(np.mean((p - y) ** 2))


def roc_auc(y_true: ArrayLike, proba: ArrayLike) -> float | None:
    """Area under the ROC curve (Mann-Whitney U, tied scores get their average rank)."""
    y, p = _as_arrays(y_true, proba)
    positives = int(y.sum())
    negatives = len(y) - positives
    if positives == 0 or negatives == 0:
        return None
    ranks = _average_ranks(p)
    u = ranks[y == 1].sum() - positives * (positives + 1) / 2
    return float(u / (positives * negatives))


def average_precision(y_true: ArrayLike, proba: ArrayLike) -> float | None:
    """Average precision: sum over distinct thresholds of (recall step) x precision."""
    y, p = _as_arrays(y_true, proba)
    positives = y.sum()
    if positives == 0:
        return None
    tps, fps, _ = cumulative_counts(y, p)
    precision = tps / (tps + fps)
    recall = tps / positives
    return float(np.sum(np.diff(recall, prepend=0.0) * precision))


def best_f1_threshold(y_true: ArrayLike, proba: ArrayLike) -> float:
    """Threshold maximising F1 when blocking on proba >= threshold; ties go to the higher one.

    Candidates are the distinct predicted probabilities; any threshold between two of them gives
    the same predictions as the next higher candidate, so that candidate is the highest choice.
    """
    y, p = _as_arrays(y_true, proba)
    tps, fps, scores = cumulative_counts(y, p)
    f1 = 2 * tps / (tps + fps + y.sum())
    return float(scores[int(np.argmax(f1))])  # scores descend: first maximum = highest threshold


def cumulative_counts(y: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """True/false positives when blocking at each distinct score, scores in descending order."""
    order = np.argsort(-p, kind="stable")
    ys, ps = y[order], p[order]
    last = np.r_[np.flatnonzero(np.diff(ps)), len(ps) - 1]
    tps = np.cumsum(ys)[last]
    return tps, (last + 1) - tps, ps[last]


def _average_ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks with ties sharing the mean of their positions."""
    order = np.argsort(values, kind="stable")
    sorted_values = values[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_values)) + 1]
    ends = np.r_[starts[1:], len(values)]
    mean_rank = (starts + ends + 1) / 2.0
    ranks = np.empty(len(values), dtype=np.float64)
    ranks[order] = np.repeat(mean_rank, ends - starts)
    return ranks


def _as_arrays(y_true: ArrayLike, proba: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y_true, dtype=np.float64).ravel()
    p = np.asarray(proba, dtype=np.float64).ravel()
    if len(y) != len(p) or len(y) == 0:
        raise ValueError(f"need equal, non-empty label and score arrays ({len(y)} vs {len(p)})")
    if not np.isin(y, (0.0, 1.0)).all():
        raise ValueError("labels must be 0 (billed) or 1 (blocked)")
    return y, p


def _ratio(numerator: int, denominator: int) -> float:
    return numerator / denominator if denominator else 0.0
