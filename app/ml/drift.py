"""Population stability of live traffic against a version's training reference.

The bins of a feature (or of the score) come from the reference percentiles stored with the
version (app/ml/reference.py): the inner edges are the deciles P10, P20, ..., P90, duplicates
dropped (a feature that is 0 in 60% of the rows has one bin for "<= 0"). A value v falls in
bin `searchsorted(edges, v, side="left")`, i.e. the number of edges strictly below it, so a value
equal to an edge counts with the lower bin; an unknown value falls in `MISSING_BIN`.

The reference share of each bin is read off the same 101 percentiles: percentile k (k = 1..100)
closes the k-th 1% of the known training values, so that 1% belongs to the bin of percentile k.
Without ties this gives exactly 10% per bin; with ties the mass goes where the tied value falls.
Known values share (1 - missing), the missing bin the rest.

PSI = sum over bins of (actual - expected) * ln(actual / expected), with shares floored at
`EPSILON` so an empty bin contributes a large but finite amount.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

MISSING_BIN = -1
DECILES = tuple(range(10, 100, 10))
EPSILON = 1e-4


@dataclass(frozen=True)
class Bins:
    """How one feature (or the score) is binned, and the reference share of each bin."""

    edges: np.ndarray
    expected: dict[int, float]

    def assign(self, values: np.ndarray) -> np.ndarray:
        """The bin of each value (`MISSING_BIN` for NaN)."""
        v = np.asarray(values, dtype=np.float64)
        bins = np.searchsorted(self.edges, v, side="left").astype(np.int64)
        bins[np.isnan(v)] = MISSING_BIN
        return bins


def bins_from_reference(quantiles: Sequence[float] | None, missing: float = 0.0) -> Bins | None:
    """The bins of a feature from its 101 reference percentiles (None: no reference)."""
    if quantiles is None or len(quantiles) != 101:
        return None
    q = np.asarray(quantiles, dtype=np.float64)
    edges = np.unique(q[list(DECILES)])
    chunks = np.searchsorted(edges, q[1:], side="left")  # the bin of each 1% of the known values
    known = 1.0 - float(missing)
    expected = {int(b): known * n / 100 for b, n in zip(*np.unique(chunks, return_counts=True), strict=True)}
    if missing > 0:
        expected[MISSING_BIN] = float(missing)
    return Bins(edges, expected)


def psi(expected: Mapping[int, float], actual: Mapping[int, int]) -> float | None:
    """Population stability index of actual bin counts against expected bin shares; None when
    nothing was counted."""
    total = sum(actual.values())
    if total <= 0:
        return None
    value = 0.0
    for b in set(expected) | set(actual):
        e = max(expected.get(b, 0.0), EPSILON)
        a = max(actual.get(b, 0) / total, EPSILON)
        value += (a - e) * np.log(a / e)
    return float(value)


def confusion(blocked: np.ndarray, probability: np.ndarray, threshold: np.ndarray) -> dict:
    """Actual (rows: billed, blocked) against predicted by each decision's own threshold
    (columns), in the layout of the hold-out metrics."""
    y = np.asarray(blocked, dtype=bool)
    predicted = np.asarray(probability, dtype=np.float64) >= np.asarray(threshold, dtype=np.float64)
    matrix = [[int(np.sum(~y & ~predicted)), int(np.sum(~y & predicted))],
              [int(np.sum(y & ~predicted)), int(np.sum(y & predicted))]]
    return {"labels": ["billed", "blocked"], "matrix": matrix, "rows": "actual", "columns": "predicted"}
