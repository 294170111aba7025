"""PSI and its bins, against hand computations."""

from __future__ import annotations

import math

import numpy as np
import pytest

from app.ml.drift import MISSING_BIN, bins_from_reference, confusion, psi
from app.ml.reference import percentiles


def test_psi_equals_a_hand_computation():
    expected = {0: 0.5, 1: 0.3, 2: 0.2}
    actual = {0: 40, 1: 40, 2: 20}  # shares 0.4, 0.4, 0.2
    hand = (0.4 - 0.5) * math.log(0.4 / 0.5) + (0.4 - 0.3) * math.log(0.4 / 0.3) + 0.0
    assert psi(expected, actual) == pytest.approx(hand, abs=1e-12)
    assert psi(expected, {0: 5, 1: 3, 2: 2}) == pytest.approx(0.0, abs=1e-12)
    assert psi(expected, {}) is None
    # an empty bin counts with the floor share 1e-4, not infinity
    floor = (1e-4 - 0.2) * math.log(1e-4 / 0.2) + (0.5 - 0.5) + (0.5 - 0.3) * math.log(0.5 / 0.3)
    assert psi(expected, {0: 1, 1: 1}) == pytest.approx(floor, abs=1e-12)


def test_bins_of_distinct_values_hold_ten_percent_each():
    values = np.arange(1000, dtype=float)
    bins = bins_from_reference(percentiles(values))
    assert list(bins.edges) == [99.0, 199.0, 299.0, 399.0, 499.0, 599.0, 699.0, 799.0, 899.0]
    assert bins.expected == pytest.approx({b: 0.1 for b in range(10)})
    assigned = bins.assign(values)
    assert np.bincount(assigned).tolist() == [100] * 10  # the training values themselves: 10% each
    assert psi(bins.expected, dict(enumerate(np.bincount(assigned)))) == pytest.approx(0.0, abs=1e-12)
    assert bins.assign(np.array([np.nan, -5.0, 99.0, 99.5, 1e9])).tolist() == [MISSING_BIN, 0, 0, 1, 9]


def test_ties_and_missing_values_keep_their_mass():
    values = np.concatenate([np.zeros(600), np.arange(1, 401, dtype=float), np.full(250, np.nan)])
    known = values[~np.isnan(values)]
    bins = bins_from_reference(percentiles(values), missing=0.2)
    assert bins.edges[0] == 0.0
    assert bins.expected[0] == pytest.approx(0.8 * 0.6)  # "<= 0" holds the 60% of zeros
    assert bins.expected[MISSING_BIN] == pytest.approx(0.2)
    assert sum(bins.expected.values()) == pytest.approx(1.0)
    counts = dict(zip(*np.unique(bins.assign(values), return_counts=True), strict=True))
    shares = {int(b): n / len(values) for b, n in counts.items()}
    assert shares[0] == pytest.approx(600 / 1250)
    assert set(shares) == set(bins.expected)
    assert len(known) == 1000


def test_a_shifted_population_has_a_large_psi_an_unshifted_one_a_small_one():
    rng = np.random.default_rng(1)
    bins = bins_from_reference(percentiles(rng.normal(0, 1, 20_000)))
    same = bins.assign(rng.normal(0, 1, 5_000))
    shifted = bins.assign(rng.normal(1, 1, 5_000))
    count = lambda b: dict(zip(*np.unique(b, return_counts=True), strict=True))  # noqa: E731
    assert psi(bins.expected, count(same)) < 0.02
    assert psi(bins.expected, count(shifted)) > 0.5


def test_confusion_uses_each_decisions_threshold():
    matrix = confusion(np.array([0, 0, 1, 1, 1]), np.array([0.2, 0.6, 0.7, 0.4, 0.4]),
                       np.array([0.5, 0.5, 0.5, 0.5, 0.3]))["matrix"]
    assert matrix == [[1, 1], [1, 2]]
