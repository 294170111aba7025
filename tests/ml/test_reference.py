"""The reference: percentiles of the training rows, and a value's standing read from them."""

import numpy as np
import polars as pl
import pytest

from app.ml.features import FEATURE_NAMES
from app.ml.reference import PERCENTILES, FeatureReference, Reference, build_reference, percentiles
from app.ml.training import TrainingResult, split_by_time


def _brute_force(values: np.ndarray, k: int) -> float:
    """Smallest value with at least k% of the values at or below it."""
    v = np.sort(values)
    n = len(v)
    return float(next(x for x in v if np.count_nonzero(v <= x) * 100 >= k * n))


def test_percentiles_by_hand() -> None:
    q = percentiles(np.arange(1.0, 101.0))  # 1..100
    assert len(q) == PERCENTILES
    assert q[0] == 1.0 and q[1] == 1.0 and q[50] == 50.0 and q[100] == 100.0
    assert percentiles(np.array([3.0, np.nan, 1.0, 2.0])) == [1.0] * 34 + [2.0] * 33 + [3.0] * 34
    assert percentiles(np.array([np.nan, np.nan])) is None
    assert percentiles(np.array([7.5])) == [7.5] * 101


@pytest.mark.parametrize("n", [1, 7, 100, 333, 1_000, 4_099])
def test_percentiles_are_the_inverted_cdf(n: int) -> None:
    values = np.round(np.random.default_rng(n).lognormal(size=n), 1)  # ties included
    q = percentiles(values)
    assert q == [_brute_force(values, k) for k in range(101)]


def test_standing_by_hand() -> None:
    # 90 zeros and 10 ones: percentiles 0..90 are 0, 91..100 are 1
    ref = FeatureReference(tuple(percentiles(np.r_[np.zeros(90), np.ones(10)])), missing=0.0)
    zero = ref.standing(0.0)
    assert (zero.below, zero.above, zero.equal) == (0, 9, 90)  # true shares: 0, 10, 90
    one = ref.standing(1.0)
    assert (one.below, one.above, one.equal) == (90, 0, 9)  # true: 90, 0, 10
    high = ref.standing(5.0)
    assert (high.below, high.above, high.equal) == (100, 0, 0)
    low = ref.standing(-1.0)
    assert (low.below, low.above, low.equal) == (0, 100, 0)
    middle = FeatureReference(tuple(percentiles(np.arange(100.0))), 0.0).standing(49.5)
    assert (middle.below, middle.above, middle.equal) == (50, 49, 0)  # true: 50, 50
    assert FeatureReference(None, 1.0).standing(3.0) is None


def test_standing_never_overstates_a_share() -> None:
    rng = np.random.default_rng(9)
    values = np.round(rng.exponential(3.0, 5_000))
    ref = FeatureReference(tuple(percentiles(values)), 0.0)
    for v in np.r_[np.unique(values), rng.uniform(-1, 40, 200)]:
        s = ref.standing(float(v))
        assert s.below <= 100 * np.mean(values < v) + 1e-9
        assert s.above <= 100 * np.mean(values > v) + 1e-9
        assert s.equal <= 100 * np.mean(values == v) + 1e-9
        assert s.below + s.above + s.equal <= 100


def test_training_stores_the_reference_of_its_training_rows(trained: TrainingResult, features) -> None:
    reference = trained.reference
    assert set(reference["features"]) == set(FEATURE_NAMES)
    train_rows = split_by_time(features).train
    for name in ("amount", "serasa_score", "past_block_rate"):
        entry = reference["features"][name]
        column = train_rows[name].to_numpy()
        assert entry["n"] == train_rows.height
        assert entry["missing"] == pytest.approx(np.mean(np.isnan(column)))
        assert entry["quantiles"] == percentiles(column)
    score = reference["score"]
    assert score["n"] == train_rows.height and len(score["quantiles"]) == 101
    quantiles = score["quantiles"]
    assert quantiles == sorted(quantiles) and 0 <= quantiles[0] <= quantiles[-1] <= 1


def test_a_feature_never_known_has_no_percentiles() -> None:
    rows = pl.DataFrame({"a": [1.0, 2.0], "b": [None, None]}, schema={"a": pl.Float64, "b": pl.Float64})
    reference = build_reference(rows, ["a", "b"], np.array([0.1, 0.2]))
    assert reference["features"]["b"] == {"quantiles": None, "missing": 1.0, "n": 2}
    loaded = Reference.from_json(reference)
    assert loaded.get("b").quantiles is None and loaded.get("a").standing(2.0).below == 50
    assert Reference.from_json(None) is None and loaded.get("nope") is None
