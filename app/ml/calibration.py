"""Calibration: the booster's probability of block turned into one that means what it says.

XGBoost's probability is computed bit for bit (app/ml/scoring.py); calibration is a separate,
monotone step applied after it, fitted on the validation slice (the orders just before the
hold-out) and stored with the version as JSON:

- `platt`: `1 / (1 + exp(-(a * logit(p) + b)))`, Platt scaling of the booster's log-odds with
  Platt's smoothed targets; `a` is kept positive so the order of the probabilities never changes.
- `isotonic`: the pool-adjacent-violators fit, a non-decreasing step function of `p`,
  interpolated linearly between its steps (as scikit-learn's `IsotonicRegression`).

docs/decisions/0007 measures both on the demo data; Platt is the default. Both apply one scalar
function in plain Python to each value, in training and in decisions alike, so a decision and the
version's metrics never differ in the last bit (NumPy's vectorised `pow`/`exp` may use other
code paths than the C library on some CPUs).

`reliability` gives the calibration table a version's metrics report.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from app.ml.errors import ModelError

METHODS = ("platt", "isotonic")
LOWEST = 1e-12
HIGHEST = 1.0 - 1e-12
MIN_SLOPE = 1e-3
"""Platt's slope is kept at least this: the calibrated probability stays increasing."""
RELIABILITY_BINS = 10


class Calibration:
    """A monotone map from the booster's probability to a calibrated one."""

    method = "identity"

    def one(self, p: float) -> float:
        return p

    def __call__(self, raw: ArrayLike) -> np.ndarray:
        """Calibrated probabilities (float64) of raw ones, one scalar function per value."""
        one = self.one
        if isinstance(raw, np.ndarray) and raw.ndim == 1:  # the decision path: no reshaping
            return np.array([one(p) for p in raw.tolist()], dtype=np.float64)
        shape = np.shape(raw)
        return np.array([one(p) for p in np.ravel(raw).tolist()], dtype=np.float64).reshape(shape)

    def vectorised(self, raw: ArrayLike) -> np.ndarray:
        """The same map in NumPy, for statistics over many rows (training's score percentiles):
        equal to `__call__` up to the last bit, which NumPy's vectorised `pow` may round otherwise."""
        return np.asarray(raw, dtype=np.float64)

    def to_json(self) -> dict[str, Any] | None:
        return None


IDENTITY = Calibration()
"""Versions trained before calibration existed score uncalibrated."""


@dataclass(frozen=True, eq=False)
class Platt(Calibration):
    a: float
    b: float
    method = "platt"

    def __post_init__(self) -> None:
        if not (math.isfinite(self.a) and math.isfinite(self.b)) or self.a <= 0:
            raise ModelError(f"invalid Platt calibration a={self.a}, b={self.b}")
        object.__setattr__(self, "_c", math.exp(-self.b))

    def one(self, p: float) -> float:
        # sigmoid(a * logit(p) + b) = 1 / (1 + exp(-b) * ((1 - p) / p) ** a)
        p = LOWEST if p < LOWEST else HIGHEST if p > HIGHEST else p
        return 1.0 / (1.0 + self._c * ((1.0 - p) / p) ** self.a)  # type: ignore[attr-defined]

    def vectorised(self, raw: ArrayLike) -> np.ndarray:
        p = np.clip(np.asarray(raw, dtype=np.float64), LOWEST, HIGHEST)
        return 1.0 / (1.0 + self._c * ((1.0 - p) / p) ** self.a)  # type: ignore[attr-defined]

    def to_json(self) -> dict[str, Any]:
        return {"method": self.method, "a": self.a, "b": self.b}


@dataclass(frozen=True, eq=False)
class Isotonic(Calibration):
    x: tuple[float, ...]
    y: tuple[float, ...]
    method = "isotonic"

    def __post_init__(self) -> None:
        if not self.x or len(self.x) != len(self.y):
            raise ModelError("isotonic calibration needs as many x as y, at least one")
        if any(b <= a for a, b in zip(self.x, self.x[1:], strict=False)) or any(
            b < a for a, b in zip(self.y, self.y[1:], strict=False)
        ):
            raise ModelError("isotonic calibration needs increasing x and non-decreasing y")

    def one(self, p: float) -> float:
        x, y = self.x, self.y
        j = bisect_right(x, p)
        if j == 0:
            return y[0]
        if j == len(x):
            return y[-1]
        x0, y0 = x[j - 1], y[j - 1]
        return y0 + (y[j] - y0) * (p - x0) / (x[j] - x0)

    def vectorised(self, raw: ArrayLike) -> np.ndarray:
        return np.interp(np.asarray(raw, dtype=np.float64), self.x, self.y)

    def to_json(self) -> dict[str, Any]:
        return {"method": self.method, "x": list(self.x), "y": list(self.y)}


def from_json(data: dict[str, Any] | None) -> Calibration:
    """The stored calibration of a version; IDENTITY when it has none."""
    if not data:
        return IDENTITY
    method = data.get("method")
    if method == "platt":
        return Platt(float(data["a"]), float(data["b"]))
    if method == "isotonic":
        return Isotonic(tuple(map(float, data["x"])), tuple(map(float, data["y"])))
    raise ModelError(f"unknown calibration method {method!r}")


def fit(method: str, raw: ArrayLike, labels: ArrayLike) -> Calibration:
    """Fit `method` ("platt" or "isotonic") to raw probabilities and 0/1 labels."""
    p = np.asarray(raw, dtype=np.float64).ravel()
    y = np.asarray(labels, dtype=np.float64).ravel()
    if len(p) != len(y) or len(p) == 0:
        raise ModelError("calibration needs equal, non-empty probability and label arrays")
    if method == "platt":
        return fit_platt(p, y)
    if method == "isotonic":
        return fit_isotonic(p, y)
    raise ModelError(f"calibration must be one of {METHODS}, got {method!r}")


def fit_platt(p: np.ndarray, y: np.ndarray, iterations: int = 100) -> Platt:
    """Maximum likelihood of sigmoid(a * logit(p) + b) against Platt's smoothed targets
    ((N+ + 1) / (N+ + 2) for blocked, 1 / (N- + 2) for billed), by Newton's method."""
    clipped = np.clip(p, LOWEST, HIGHEST)
    z = np.log(clipped) - np.log1p(-clipped)
    positives = float(y.sum())
    negatives = len(y) - positives
    t = np.where(y == 1, (positives + 1) / (positives + 2), 1 / (negatives + 2))
    a, b = _newton(z, t, 1.0, 0.0, fit_slope=True, iterations=iterations)
    if a < MIN_SLOPE:  # the booster ranks worse than chance here: keep the order, fit the offset only
        a, b = _newton(z, t, MIN_SLOPE, b, fit_slope=False, iterations=iterations)
    return Platt(float(a), float(b))


def _newton(z: np.ndarray, t: np.ndarray, a: float, b: float, *, fit_slope: bool,
            iterations: int) -> tuple[float, float]:
    loss = _log_loss(z, t, a, b)
    for _ in range(iterations):
        s = _sigmoid(a * z + b)
        residual, weight = s - t, np.maximum(s * (1 - s), 1e-12)
        if fit_slope:
            g = np.array([residual @ z, residual.sum()])
            h = np.array([[weight @ (z * z), weight @ z], [weight @ z, weight.sum()]]) + 1e-9 * np.eye(2)
            step = np.linalg.solve(h, g)
        else:
            step = np.array([0.0, residual.sum() / weight.sum()])
        scale = 1.0
        while scale > 1e-8:
            a_new, b_new = a - scale * step[0], b - scale * step[1]
            new_loss = _log_loss(z, t, a_new, b_new)
            if new_loss <= loss:
                break
            scale /= 2
        else:
            break
        a, b, done = a_new, b_new, loss - new_loss < 1e-13 * max(1.0, loss)
        loss = new_loss
        if done:
            break
    return a, b


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def _log_loss(z: np.ndarray, t: np.ndarray, a: float, b: float) -> float:
    x = a * z + b
    # -(t log s + (1 - t) log(1 - s)) = log(1 + e^x) - t x, stably
    return float(np.mean(np.logaddexp(0.0, x) - t * x))


def fit_isotonic(p: np.ndarray, y: np.ndarray) -> Isotonic:
    """Pool adjacent violators over the distinct raw probabilities (ties pooled first); each
    block keeps its first and last x, so the map is flat within a block and linear between."""
    order = np.argsort(p, kind="stable")
    xs, ys = p[order], y[order]
    unique, start = np.unique(xs, return_index=True)
    sums = np.add.reduceat(ys, start)
    counts = np.diff(np.r_[start, len(xs)]).astype(np.float64)
    blocks = _pav(sums.tolist(), counts.tolist())
    x_out: list[float] = []
    y_out: list[float] = []
    i = 0
    for total, weight, size in blocks:
        value = total / weight
        first, last = float(unique[i]), float(unique[i + size - 1])
        x_out.append(first)
        y_out.append(value)
        if last != first:
            x_out.append(last)
            y_out.append(value)
        i += size
    return Isotonic(tuple(x_out), tuple(y_out))


def _pav(sums: list[float], counts: list[float]) -> list[tuple[float, float, int]]:
    """Blocks (sum, weight, number of distinct x) with non-decreasing means."""
    blocks: list[tuple[float, float, int]] = []
    for total, weight in zip(sums, counts, strict=True):
        blocks.append((total, weight, 1))
        while len(blocks) > 1 and blocks[-2][0] / blocks[-2][1] >= blocks[-1][0] / blocks[-1][1]:
            t2, w2, n2 = blocks.pop()
            t1, w1, n1 = blocks.pop()
            blocks.append((t1 + t2, w1 + w2, n1 + n2))
    return blocks


def reliability(probability: ArrayLike, labels: ArrayLike, bins: int = RELIABILITY_BINS) -> dict[str, Any]:
    """The calibration table: `bins` equal-width bins of the (calibrated) probability, each with
    its mean predicted probability, observed block rate and count (None means for an empty
    bin), and the expected calibration error (count-weighted mean |predicted - observed|)."""
    p = np.asarray(probability, dtype=np.float64).ravel()
    y = np.asarray(labels, dtype=np.float64).ravel()
    index = np.minimum((p * bins).astype(np.int64), bins - 1)
    count = np.bincount(index, minlength=bins)
    predicted = np.bincount(index, weights=p, minlength=bins)
    observed = np.bincount(index, weights=y, minlength=bins)
    rows = []
    ece = 0.0
    for k in range(bins):
        n = int(count[k])
        mean_p = float(predicted[k] / n) if n else None
        rate = float(observed[k] / n) if n else None
        if n:
            ece += n * abs(mean_p - rate)  # type: ignore[operator]
        rows.append({"lower": k / bins, "upper": (k + 1) / bins, "predicted": mean_p, "observed": rate,
                     "count": n})
    return {"bins": rows, "ece": ece / len(p) if len(p) else None}

