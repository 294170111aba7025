"""What a company's usual looks like: per feature, the percentiles of its training rows.

Stored with each model version (`reference` JSON) and used twice: each decision's reasons say where
a value stands against it ("higher than in 96% of this company's orders"), and monitoring compares
live traffic with it (population stability). Shape:

    {"features": {"<feature>": {"quantiles": [101 floats] | null, "missing": <share null>, "n": <rows>}},
     "score": {"quantiles": [101 calibrated-probability percentiles], "n": <rows>}}

Percentile k (0..100) is the inverted empirical CDF: the smallest training value with at least k%
of the known values at or below it (percentile 0 is the minimum), always a value that occurred.
From these 101 numbers a value's standing is two bisections (`Reference.standing`), read as lower
bounds of the shares of training rows below, above and equal to it.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import polars as pl

PERCENTILES = 101


def percentiles(values: np.ndarray) -> list[float] | None:
    """Percentiles 0..100 (inverted CDF) of the finite values; None when there are none."""
    v = np.asarray(values, dtype=np.float64)
    v = np.sort(v[~np.isnan(v)])
    n = len(v)
    if n == 0:
        return None
    k = np.arange(PERCENTILES, dtype=np.int64)
    index = np.maximum((k * n + 99) // 100 - 1, 0)  # ceil(k n / 100) - 1, in integers
    return v[index].tolist()


def build_reference(rows: pl.DataFrame, feature_names: Sequence[str], score: np.ndarray) -> dict[str, Any]:
    """The reference of training rows `rows` (one per order) and their calibrated scores."""
    n = rows.height
    features: dict[str, Any] = {}
    for name in feature_names:
        column = rows[name].cast(pl.Float64).to_numpy()
        known = int(np.count_nonzero(~np.isnan(column)))
        features[name] = {"quantiles": percentiles(column), "missing": (n - known) / n if n else 0.0, "n": n}
    return {"features": features, "score": {"quantiles": percentiles(score), "n": int(len(score))}}


class Standing(NamedTuple):
    """Where a value stands among the training rows, in whole percent (each a lower bound).

    A named tuple, cheap to build; a decision's reasons compute the same three numbers inline
    (app/ml/explain.py, tested against `standing`)."""

    below: int
    above: int
    equal: int


@dataclass(frozen=True, slots=True)
class FeatureReference:
    quantiles: tuple[float, ...] | None
    missing: float

    def standing(self, value: float) -> Standing | None:
        q = self.quantiles
        if q is None:
            return None
        lo, hi = bisect_left(q, value), bisect_right(q, value)
        # below: lo - 1 (percentile 0 is the minimum itself); above: 100 - hi; equal: hi - lo - 1
        return Standing(lo - 1 if lo else 0, 100 - hi if hi < 101 else 0, hi - lo - 1 if hi > lo else 0)


class Reference:
    """A version's reference prepared for decisions: per feature, a tuple to bisect."""

    __slots__ = ("features", "said")

    def __init__(self, features: Mapping[str, FeatureReference]) -> None:
        self.features = dict(features)
        self.said: dict = {}
        """What app/ml/explain.py compiled to word this reference's comparisons (it never changes)."""

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> Reference | None:
        if not data or "features" not in data:
            return None
        features = {}
        for name, entry in data["features"].items():
            quantiles = entry.get("quantiles")
            features[name] = FeatureReference(
                None if quantiles is None else tuple(float(q) for q in quantiles), float(entry.get("missing") or 0.0)
            )
        return cls(features)

    def get(self, feature: str) -> FeatureReference | None:
        return self.features.get(feature)
