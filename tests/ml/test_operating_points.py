"""Each operating-point strategy gives the threshold computed by hand on a small fixture."""

from __future__ import annotations

import numpy as np
import pytest

from app.ml.operating_points import OperatingPointError, ValidationScores, threshold_for

# Ten validation orders, probabilities descending; the company blocked the starred ones.
#   p:      .95* .90* .80  .70* .60  .50* .40  .30  .20* .10
#   amount: 100  200  300  400  500  600  700  800  900  1000
P = np.array([0.95, 0.90, 0.80, 0.70, 0.60, 0.50, 0.40, 0.30, 0.20, 0.10])
Y = np.array([1, 1, 0, 1, 0, 1, 0, 0, 1, 0], dtype=np.int8)
AMOUNT = np.arange(1, 11) * 100.0
SCORES = ValidationScores(P, Y, AMOUNT)


@pytest.mark.parametrize(("recall", "threshold"), [
    (0.2, 0.95),  # 1 of 5 blocked caught at >= .95
    (0.4, 0.90),
    (0.5, 0.70),  # 3 of 5 = .6 >= .5 first at .70 (.80 catches only 2)
    (0.6, 0.70),
    (0.8, 0.50),
    (1.0, 0.20),
])
def test_target_recall(recall, threshold):
    assert threshold_for(SCORES, "target_recall", {"value": recall}) == threshold


def test_max_false_bill_rate_is_recall_of_one_minus_the_rate():
    # at most 20 % of the blocked orders billed: recall >= 0.8 -> .50 (billed only the .20 one)
    assert threshold_for(SCORES, "max_false_bill_rate", {"value": 0.2}) == 0.50
    assert threshold_for(SCORES, "max_false_bill_rate", {"value": 0.5}) == 0.70


def test_max_f1():
    # at .70: tp 3, fp 1, fn 2 -> F1 6/9 = .667; at .50: tp 4 fp 2 fn 1 -> 8/11 = .727;
    # at .20: tp 5 fp 4 -> 10/14 = .714; .50 is the best
    assert threshold_for(SCORES, "max_f1", {}) == 0.50


def test_costs_weighted_by_amount():
    # cost(t) = 1.0 x amounts of blocked orders billed + 0.1 x amounts of billed orders blocked:
    #   t=.95: billed blocked 200+400+600+900 = 2100                                  -> 2100
    #   t=.70: blocked billed 600+900 = 1500; wrongly blocked 300 x .1 = 30           -> 1530
    #   t=.50: blocked billed 900; wrongly blocked (300+500) x .1 = 80                -> 980
    #   t=.20: 0; wrongly blocked (300+500+700+800) x .1 = 230                        -> 230
    #   t=.10: 0; + 1000 x .1                                                        -> 330
    assert threshold_for(SCORES, "costs", {"cost_wrong_bill": 1.0, "cost_wrong_block": 0.1}) == 0.20
    # blocking a good order costs as much as billing a bad one: .50 (900+80*10=1700)? compute:
    #   t=.70: 1500 + 300 = 1800; t=.50: 900 + 800 = 1700; t=.20: 0 + 2300; t=.95: 2100; t=.90 1900
    assert threshold_for(SCORES, "costs", {"cost_wrong_bill": 1.0, "cost_wrong_block": 1.0}) == 0.50


def test_costs_may_block_nothing():
    # the most likely order was billed: blocking anything costs 100, billing everything costs 10
    scores = ValidationScores(np.array([0.9, 0.8]), np.array([0, 1], dtype=np.int8), np.array([100.0, 100.0]))
    threshold = threshold_for(scores, "costs", {"cost_wrong_bill": 0.1, "cost_wrong_block": 1.0})
    assert threshold > 0.9 and threshold == np.nextafter(0.9, 1.0)


def test_unknown_strategy_and_no_blocked_orders_are_refused():
    with pytest.raises(OperatingPointError):
        threshold_for(SCORES, "magic", {})
    with pytest.raises(OperatingPointError):
        threshold_for(ValidationScores(P, np.zeros(10, dtype=np.int8), AMOUNT), "target_recall", {"value": 0.5})
