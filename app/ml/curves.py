"""The curves of a scored slice (a version's hold-out or an evaluation's orders): ROC and
precision-recall points, the calibration bins, the score histograms of billed and blocked orders,
the confusion matrix at the version's threshold and a threshold table.

Plain NumPy on `ScoreSample` arrays (app/ml/artifacts.py), label 1 = blocked, blocking when
probability >= threshold (as decisions do). Curve points are taken at every distinct score
(`metrics.cumulative_counts`), thinned to at most `MAX_POINTS` evenly spaced ones so a page or a
JSON answer stays small on a large slice; the areas are computed on every point
(`metrics.roc_auc`, `metrics.average_precision`), never on the thinned curve.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from app.ml.calibration import reliability
from app.ml.errors import ModelError
from app.ml.metrics import average_precision, cumulative_counts, roc_auc

MAX_POINTS = 400
HISTOGRAM_BINS = 20
TABLE_THRESHOLDS = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


@dataclass(frozen=True)
class ThresholdRow:
    """What blocking from `threshold` up does to the slice's orders."""

    threshold: float
    block_rate: float  # share of every order blocked
    blocked_caught: float | None  # share of the orders the company blocked that are blocked (recall)
    billed_blocked: float | None  # share of the orders the company billed that are blocked (false-positive rate)
    precision: float | None  # share of the blocked orders the company blocked too
    orders_blocked: int


@dataclass(frozen=True)
class Curves:
    orders: int
    blocked: int
    billed: int
    threshold: float
    roc_auc: float | None
    pr_auc: float | None
    roc: list[tuple[float, float, float]]  # (false-positive rate, true-positive rate, threshold)
    pr: list[tuple[float, float, float]]  # (recall, precision, threshold)
    calibration: list[dict[str, Any]]  # calibration.reliability's bins
    ece: float | None
    histogram_edges: list[float]
    histogram_billed: list[int]
    histogram_blocked: list[int]
    confusion: list[list[int]]  # [[billed kept, billed blocked], [blocked billed, blocked caught]]
    table: list[ThresholdRow] = field(default_factory=list)


def curves(label: ArrayLike, probability: ArrayLike, threshold: float,
           thresholds: tuple[float, ...] = TABLE_THRESHOLDS) -> Curves:
    """Every curve and table of a scored slice (both outcomes needed for ROC/PR points)."""
    y = np.asarray(label, dtype=np.float64).ravel()
    p = np.asarray(probability, dtype=np.float64).ravel()
    if len(y) == 0 or len(y) != len(p):
        raise ModelError(f"curves need equal, non-empty label and probability arrays ({len(y)} vs {len(p)})")
    positives, negatives = int(y.sum()), int(len(y) - y.sum())
    roc, pr = roc_points(y, p), pr_points(y, p)
    table_thresholds = sorted({*thresholds, float(threshold)})
    calibration = reliability(p, y)
    edges, billed, blocked = score_histograms(y, p)
    return Curves(
        orders=len(y), blocked=positives, billed=negatives, threshold=float(threshold),
        roc_auc=roc_auc(y, p), pr_auc=average_precision(y, p), roc=roc, pr=pr,
        calibration=calibration["bins"], ece=calibration["ece"],
        histogram_edges=edges, histogram_billed=billed, histogram_blocked=blocked,
        confusion=confusion(y, p, threshold), table=[threshold_row(y, p, t) for t in table_thresholds],
    )


def roc_points(y: np.ndarray, p: np.ndarray) -> list[tuple[float, float, float]]:
    """(fpr, tpr, threshold) from (0, 0) (nothing blocked: threshold just above the top score)
    through every distinct score, descending; empty when one outcome is missing."""
    positives, negatives = y.sum(), len(y) - y.sum()
    if positives == 0 or negatives == 0:
        return []
    tps, fps, scores = cumulative_counts(y, p)
    fpr = np.r_[0.0, fps / negatives]
    tpr = np.r_[0.0, tps / positives]
    at = np.r_[np.nextafter(scores[0], np.inf), scores]
    return _thin(list(zip(fpr.tolist(), tpr.tolist(), at.tolist(), strict=True)))


def pr_points(y: np.ndarray, p: np.ndarray) -> list[tuple[float, float, float]]:
    """(recall, precision, threshold) at every distinct score, descending; empty without blocked orders."""
    positives = y.sum()
    if positives == 0:
        return []
    tps, fps, scores = cumulative_counts(y, p)
    recall, precision = tps / positives, tps / (tps + fps)
    return _thin(list(zip(recall.tolist(), precision.tolist(), scores.tolist(), strict=True)))


def score_histograms(y: np.ndarray, p: np.ndarray,
                     bins: int = HISTOGRAM_BINS) -> tuple[list[float], list[int], list[int]]:
    """Equal-width bins of the probability over [0, 1] (the last one closed): the edges, and the
    count of billed and of blocked orders in each."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    index = np.clip((p * bins).astype(np.int64), 0, bins - 1)
    billed = np.bincount(index[y == 0], minlength=bins)
    blocked = np.bincount(index[y == 1], minlength=bins)
    return [round(float(e), 6) for e in edges], billed.tolist(), blocked.tolist()


def confusion(y: np.ndarray, p: np.ndarray, threshold: float) -> list[list[int]]:
    """Order counts `[actual][predicted]`, billed then blocked."""
    pred = p >= threshold
    actual = y == 1
    return [[int(np.sum(~actual & ~pred)), int(np.sum(~actual & pred))],
            [int(np.sum(actual & ~pred)), int(np.sum(actual & pred))]]


def threshold_row(y: np.ndarray, p: np.ndarray, threshold: float) -> ThresholdRow:
    pred = p >= threshold
    actual = y == 1
    positives, negatives, blocked = int(actual.sum()), int((~actual).sum()), int(pred.sum())
    return ThresholdRow(
        threshold=float(threshold),
        block_rate=blocked / len(y),
        blocked_caught=int(np.sum(pred & actual)) / positives if positives else None,
        billed_blocked=int(np.sum(pred & ~actual)) / negatives if negatives else None,
        precision=int(np.sum(pred & actual)) / blocked if blocked else None,
        orders_blocked=blocked,
    )


def _thin(points: list[tuple[float, float, float]], limit: int = MAX_POINTS) -> list[tuple[float, float, float]]:
    """At most `limit` points, evenly spaced along the list, the first and the last kept."""
    if len(points) <= limit:
        return points
    keep = np.unique(np.round(np.linspace(0, len(points) - 1, limit)).astype(np.int64))
    return [points[i] for i in keep]
