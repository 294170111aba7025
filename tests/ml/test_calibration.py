"""Calibration: Platt and isotonic fits on data whose true probabilities are known."""

import math

import numpy as np
import pytest
from sklearn.isotonic import IsotonicRegression

from app.ml import calibration
from app.ml.calibration import IDENTITY, Isotonic, Platt, fit, from_json, reliability
from app.ml.errors import ModelError
from app.ml.metrics import brier, log_loss


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


@pytest.fixture(scope="module")
def known() -> dict[str, np.ndarray]:
    """A booster-like raw probability sigmoid(z) whose true probability is sigmoid(1.7 z - 0.4)."""
    rng = np.random.default_rng(5)
    z = rng.normal(0.0, 1.5, 200_000)
    truth = _sigmoid(1.7 * z - 0.4)
    return {"raw": _sigmoid(z), "truth": truth, "label": (rng.random(len(z)) < truth).astype(np.int8)}


def test_platt_recovers_the_known_slope_and_offset(known) -> None:
    platt = fit("platt", known["raw"], known["label"])
    assert isinstance(platt, Platt)
    assert platt.a == pytest.approx(1.7, abs=0.03)
    assert platt.b == pytest.approx(-0.4, abs=0.03)
    calibrated = platt(known["raw"])
    assert np.abs(calibrated - known["truth"]).max() < 0.02
    assert brier(known["label"], calibrated) == pytest.approx(brier(known["label"], known["truth"]), abs=2e-4)
    assert log_loss(known["label"], calibrated) < log_loss(known["label"], known["raw"])


def test_isotonic_follows_the_known_probabilities_and_scikit_learn(known) -> None:
    raw, label = known["raw"][:20_000], known["label"][:20_000]
    iso = fit("isotonic", raw, label)
    assert isinstance(iso, Isotonic)
    reference = IsotonicRegression(out_of_bounds="clip").fit(raw, label)
    grid = np.r_[0.0, np.linspace(raw.min() - 0.01, raw.max() + 0.01, 5_001), 1.0]
    np.testing.assert_allclose(iso(grid), reference.predict(grid), rtol=0, atol=1e-12)
    table = reliability(iso(known["raw"]), known["label"])
    for row in table["bins"]:
        if row["count"] > 2_000:
            assert row["predicted"] == pytest.approx(row["observed"], abs=0.03), row


@pytest.mark.parametrize("method", ["platt", "isotonic"])
def test_calibration_keeps_the_order_of_the_probabilities(known, method) -> None:
    cal = fit(method, known["raw"][:20_000], known["label"][:20_000])
    grid = np.r_[0.0, 1e-300, np.linspace(0.0, 1.0, 10_001), 1 - 1e-16, 1.0]
    grid.sort()
    values = cal(grid)
    assert np.all(np.diff(values) >= 0) and np.all((values >= 0) & (values <= 1))
    if method == "platt":
        inner = cal(np.linspace(0.01, 0.99, 999))
        assert np.all(np.diff(inner) > 0)  # strictly: the booster's ranking is kept


def test_platt_is_sigmoid_of_scaled_log_odds() -> None:
    platt = Platt(0.8, 0.3)
    for p in (1e-9, 0.01, 0.2, 0.5, 0.77, 0.999999):
        expected = 1 / (1 + math.exp(-(0.8 * math.log(p / (1 - p)) + 0.3)))
        assert platt.one(p) == pytest.approx(expected, rel=1e-12)
    assert platt.one(0.0) == pytest.approx(0.0, abs=1e-8) and platt.one(1.0) == pytest.approx(1.0, abs=1e-8)


def test_a_booster_worse_than_chance_keeps_an_increasing_map() -> None:
    rng = np.random.default_rng(1)
    raw = rng.random(5_000)
    label = (rng.random(5_000) > raw).astype(np.int8)  # anti-correlated
    platt = fit("platt", raw, label)
    assert platt.a == calibration.MIN_SLOPE
    assert np.all(np.diff(platt(np.linspace(0.01, 0.99, 99))) > 0)


def test_one_value_and_arrays_agree_bit_for_bit(known) -> None:
    for cal in (fit("platt", known["raw"], known["label"]), fit("isotonic", known["raw"], known["label"])):
        batch = cal(known["raw"][:5_000])
        singles = np.array([cal(known["raw"][i : i + 1])[0] for i in range(5_000)])
        assert batch.tobytes() == singles.tobytes()
        assert cal(known["raw"][:7].reshape(7, 1)).shape == (7, 1)


def test_the_vectorised_map_agrees(known) -> None:
    for cal in (fit("platt", known["raw"], known["label"]), fit("isotonic", known["raw"], known["label"]), IDENTITY):
        np.testing.assert_allclose(cal.vectorised(known["raw"]), cal(known["raw"]), rtol=1e-13, atol=1e-15)


def test_json_round_trip_and_identity() -> None:
    for cal in (Platt(1.1, -0.2), Isotonic((0.1, 0.4, 0.9), (0.0, 0.3, 0.95))):
        again = from_json(cal.to_json())
        assert again.to_json() == cal.to_json()
        grid = np.linspace(0, 1, 101)
        assert (again(grid) == cal(grid)).all()
    assert from_json(None) is IDENTITY and IDENTITY.to_json() is None
    assert (IDENTITY(np.array([0.25, 0.5])) == [0.25, 0.5]).all()
    with pytest.raises(ModelError):
        from_json({"method": "beta"})
    with pytest.raises(ModelError):
        Platt(-1.0, 0.0)
    with pytest.raises(ModelError):
        Isotonic((0.5, 0.2), (0.1, 0.2))
    with pytest.raises(ModelError):
        fit("temperature", [0.5], [1])


def test_reliability_table_by_hand() -> None:
    p = [0.05, 0.05, 0.15, 0.95, 1.0]
    y = [0, 1, 0, 1, 1]
    table = reliability(p, y)
    bins = table["bins"]
    assert len(bins) == 10
    assert bins[0] == {"lower": 0.0, "upper": 0.1, "predicted": 0.05, "observed": 0.5, "count": 2}
    assert bins[1]["count"] == 1 and bins[1]["observed"] == 0.0
    assert bins[5] == {"lower": 0.5, "upper": 0.6, "predicted": None, "observed": None, "count": 0}
    assert bins[9]["count"] == 2 and bins[9]["predicted"] == pytest.approx(0.975)  # 1.0 falls in the last bin
    assert table["ece"] == pytest.approx((2 * 0.45 + 0.15 + 2 * 0.025) / 5)
