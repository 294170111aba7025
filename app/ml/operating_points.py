"""Operating points: the threshold a company chooses for its model, computed from the version's
validation slice (calibrated block probabilities, the recorded outcome, the order amount).

Each strategy is a named entry of `STRATEGIES` (STYLE.md: a registry of small strategies):

- `max_f1`: the threshold that maximises F1 (the model's own default);
- `target_recall` (value r): the highest threshold that still catches at least r of the orders the
  company blocked;
- `max_false_bill_rate` (value f): at most f of the orders the company blocked may be billed, i.e.
  `target_recall` with r = 1 - f;
- `costs` (cost_wrong_bill, cost_wrong_block): minimise, over the validation orders, cost_wrong_bill x
  amount of each blocked order the model would bill plus cost_wrong_block x amount of each billed
  order it would block (ties: the higher threshold).

Orders are blocked when probability >= threshold. Candidates are the distinct probabilities: any
threshold between two of them decides exactly as the next higher one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from app.ml.errors import MLError
from app.ml.metrics import best_f1_threshold


class OperatingPointError(MLError):
    """The strategy cannot be met on this model's validation slice."""


@dataclass(frozen=True)
class ValidationScores:
    probability: np.ndarray  # calibrated block probabilities
    label: np.ndarray  # 1 = the company blocked the order
    amount: np.ndarray  # BRL


def _candidates(scores: ValidationScores) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Distinct probabilities descending, and at each: blocked orders caught, billed orders blocked
    (counts) and their amounts, when blocking from that probability up."""
    order = np.argsort(-scores.probability, kind="stable")
    p, y, amount = scores.probability[order], scores.label[order] == 1, scores.amount[order]
    last = np.r_[np.flatnonzero(np.diff(p)), len(p) - 1]  # last index of each distinct value
    caught = np.cumsum(y)[last]
    caught_amount = np.cumsum(np.where(y, amount, 0.0))[last]
    wrongly_blocked_amount = np.cumsum(np.where(y, 0.0, amount))[last]
    return p[last], caught, caught_amount, wrongly_blocked_amount


def target_recall(scores: ValidationScores, value: float) -> float:
    """The highest threshold whose recall on the blocked orders is at least `value`."""
    blocked = int((scores.label == 1).sum())
    if blocked == 0:
        raise OperatingPointError("the validation slice has no blocked orders to compute a recall")
    thresholds, caught, _, _ = _candidates(scores)
    reaching = np.flatnonzero(caught / blocked >= value - 1e-12)
    return float(thresholds[reaching[0]])  # thresholds descend: the first reaching one is the highest


def max_false_bill_rate(scores: ValidationScores, value: float) -> float:
    return target_recall(scores, 1.0 - value)


def costs(scores: ValidationScores, cost_wrong_bill: float, cost_wrong_block: float) -> float:
    """The threshold with the least cost weighted by amount (ties: the higher threshold). Blocking
    nothing is a candidate too (a threshold just above every probability)."""
    thresholds, _, caught_amount, wrongly_blocked_amount = _candidates(scores)
    blocked_total = float(np.where(scores.label == 1, scores.amount, 0.0).sum())
    cost = cost_wrong_bill * (blocked_total - caught_amount) + cost_wrong_block * wrongly_blocked_amount
    nothing_blocked = cost_wrong_bill * blocked_total
    best = int(np.argmin(cost))
    if nothing_blocked <= cost[best]:
        return float(np.nextafter(thresholds[0], np.inf))
    return float(thresholds[best])


def max_f1(scores: ValidationScores) -> float:
    return best_f1_threshold(scores.label, scores.probability)


Strategy = Callable[..., float]
STRATEGIES: Mapping[str, Strategy] = {
    "max_f1": lambda scores, params: max_f1(scores),
    "target_recall": lambda scores, params: target_recall(scores, params["value"]),
    "max_false_bill_rate": lambda scores, params: max_false_bill_rate(scores, params["value"]),
    "costs": lambda scores, params: costs(scores, params["cost_wrong_bill"], params["cost_wrong_block"]),
}


def threshold_for(scores: ValidationScores, strategy: str, params: Mapping[str, float]) -> float:
    if strategy not in STRATEGIES:
        raise OperatingPointError(f"unknown operating-point strategy {strategy!r}")
    return STRATEGIES[strategy](scores, params)
