"""Curves of a scored slice against a fixture small enough to compute by hand (and scikit-learn on
a larger one)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm

from app.ml.curves import MAX_POINTS, curves, pr_points, roc_points, score_histograms, threshold_row
from app.ml.errors import ModelError

# Four orders: billed at 0.1 and 0.4, blocked at 0.35 and 0.8 (scikit-learn's roc_curve example).
Y = np.array([0, 0, 1, 1])
P = np.array([0.1, 0.4, 0.35, 0.8])


def test_roc_points_step_through_every_distinct_score():
    points = roc_points(Y.astype(float), P)
    assert [(fpr, tpr) for fpr, tpr, _ in points] == [(0, 0), (0, 0.5), (0.5, 0.5), (0.5, 1), (1, 1)]
    assert [t for _, _, t in points][1:] == [0.8, 0.4, 0.35, 0.1]
    assert points[0][2] > 0.8  # nothing is blocked above the top score


def test_precision_recall_points():
    points = pr_points(Y.astype(float), P)
    assert [(r, pytest.approx(p)) for r, p, _ in points] == [(0.5, 1.0), (0.5, 0.5), (1.0, 2 / 3), (1.0, 0.5)]


def test_the_areas_the_calibration_bins_and_the_confusion_matrix():
    c = curves(Y, P, threshold=0.4)
    assert c.roc_auc == pytest.approx(0.75)
    assert c.pr_auc == pytest.approx(0.5 * 1 + 0.5 * 2 / 3)  # average precision
    assert (c.orders, c.blocked, c.billed) == (4, 2, 2)
    # at 0.4: 0.4 and 0.8 blocked; the billed 0.4 is a wrong block, the blocked 0.35 a wrong bill
    assert c.confusion == [[1, 1], [1, 1]]
    bins = {b["lower"]: b for b in c.calibration if b["count"]}
    assert sorted(bins) == [0.1, 0.3, 0.4, 0.8]
    assert bins[0.3] == {"lower": 0.3, "upper": 0.4, "predicted": 0.35, "observed": 1.0, "count": 1}
    assert c.ece == pytest.approx((0.1 + 0.65 + 0.4 + 0.2) / 4)


def test_score_histograms_split_billed_and_blocked():
    edges, billed, blocked = score_histograms(Y.astype(float), P, bins=5)
    assert edges == [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert billed == [1, 0, 1, 0, 0]  # 0.1 | 0.4 (a score on an edge goes to the bin above)
    assert blocked == [0, 1, 0, 0, 1]  # 0.35 | 0.8
    _, _, top = score_histograms(np.array([1.0]), np.array([1.0]), bins=5)
    assert top == [0, 0, 0, 0, 1]  # the last bin is closed


def test_threshold_table_rows():
    row = threshold_row(Y.astype(float), P, 0.35)
    assert (row.block_rate, row.blocked_caught, row.billed_blocked, row.orders_blocked) == (0.75, 1.0, 0.5, 3)
    assert row.precision == pytest.approx(2 / 3)
    nothing = threshold_row(Y.astype(float), P, 0.9)
    assert (nothing.block_rate, nothing.blocked_caught, nothing.billed_blocked, nothing.precision) == (0, 0, 0, None)
    table = curves(Y, P, threshold=0.37, thresholds=(0.2, 0.5)).table
    assert [r.threshold for r in table] == [0.2, 0.37, 0.5]  # the version's own threshold is a row
    assert [r.blocked_caught for r in table] == [1.0, 0.5, 0.5]
    assert [r.billed_blocked for r in table] == [0.5, 0.5, 0.0]


def test_one_outcome_has_no_roc_and_no_auc():
    c = curves([0, 0, 0], [0.1, 0.2, 0.3], threshold=0.5)
    assert c.roc == [] and c.pr == [] and c.roc_auc is None and c.pr_auc is None
    assert c.table[0].blocked_caught is None
    with pytest.raises(ModelError):
        curves([], [], threshold=0.5)


def test_large_slices_match_scikit_learn_and_are_thinned():
    rng = np.random.default_rng(3)
    y = (rng.random(5000) < 0.3).astype(float)
    p = np.clip(0.35 * y + rng.random(5000) * 0.65, 0, 1)
    c = curves(y, p, threshold=0.5)
    assert c.roc_auc == pytest.approx(skm.roc_auc_score(y, p))
    assert c.pr_auc == pytest.approx(skm.average_precision_score(y, p))
    assert len(c.roc) <= MAX_POINTS and len(c.pr) <= MAX_POINTS
    assert c.roc[0][:2] == (0.0, 0.0) and c.roc[-1][:2] == (1.0, 1.0)
    fpr, tpr, _ = skm.roc_curve(y, p, drop_intermediate=False)
    on_their_curve = set(zip(fpr.tolist(), tpr.tolist(), strict=True))
    assert all((x, t) in on_their_curve for x, t, _ in c.roc)  # every kept point is one of theirs
