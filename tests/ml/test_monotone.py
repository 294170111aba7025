"""Monotone constraints: the one table, what training does with it, and what the model obeys."""

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from app.demo import generate
from app.ml import monotone
from app.ml.features import FEATURE_NAMES, build_features, feature_matrix
from app.ml.history import History
from app.ml.model import ScoringModel
from app.ml.training import TrainConfig, TrainingResult, train

CONSTRAINED = [name for name in FEATURE_NAMES if monotone.direction(name)]


def test_the_table_names_known_features_and_the_readme_shows_it() -> None:
    assert set(monotone.MONOTONE) <= set(FEATURE_NAMES)
    assert {"amount", "amount_to_limit", "pefin_count", "past_block_rate"} <= {
        n for n in CONSTRAINED if monotone.direction(n) == monotone.UP}
    assert {"serasa_score", "tenure_days"} <= {n for n in CONSTRAINED if monotone.direction(n) == monotone.DOWN}
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    assert monotone.markdown_table() in readme, "README's monotone table differs from app/ml/monotone.py"


def test_params_carry_the_constraints_and_can_turn_them_off(trained: TrainingResult) -> None:
    param = trained.params["monotone_constraints"]
    assert monotone.parse_param(param, FEATURE_NAMES) == monotone.constraints(FEATURE_NAMES)
    assert trained.config["monotone_constraints"] is True
    off = TrainConfig(monotone_constraints=False).to_params()
    assert "monotone_constraints" not in off
    assert monotone.parse_param(off.get("monotone_constraints"), FEATURE_NAMES) == (0,) * len(FEATURE_NAMES)
    with pytest.raises(ValueError):
        monotone.parse_param("(1,0)", FEATURE_NAMES)


def _sweeps(model: ScoringModel, rows: np.ndarray, feature: str, grid: np.ndarray) -> np.ndarray:
    """Probabilities of each row with `feature` set to each grid value (rows x grid)."""
    j = FEATURE_NAMES.index(feature)
    X = np.repeat(rows, len(grid), axis=0)
    X[:, j] = np.tile(grid, len(rows))
    return model.predict_proba(X).reshape(len(rows), len(grid))


def test_raising_a_constrained_feature_never_moves_the_probability_the_wrong_way(
    trained: TrainingResult, features: pl.DataFrame
) -> None:
    model, calibrator = trained.model(), trained.calibrator()
    rng = np.random.default_rng(17)
    X = feature_matrix(features)
    rows = X[rng.choice(len(X), 400, replace=False)]
    rows[rng.random(rows.shape) < 0.05] = np.nan  # some unknowns, as in real rows
    for feature in CONSTRAINED:
        sign = monotone.direction(feature)
        column = X[:, FEATURE_NAMES.index(feature)]
        known = column[~np.isnan(column)]
        grid = np.unique(np.r_[np.quantile(known, np.linspace(0, 1, 41)) if len(known) else [], 0.0, 1.0,
                               rng.uniform(-10, 1e6, 10), 1e9]).astype(np.float32)
        grid = np.unique(grid)
        proba = _sweeps(model, rows, feature, grid)
        steps = sign * np.diff(proba, axis=1)
        assert (steps >= 0).all(), (feature, float(steps.min()))
        calibrated = calibrator(proba)
        assert (sign * np.diff(calibrated, axis=1) >= 0).all(), feature


@pytest.fixture(scope="module")
def demo_features() -> pl.DataFrame:
    data = generate(customers=400, orders=12_000, seed=21)
    return build_features(data.orders, History(data.frames()))


def test_constrained_auc_is_within_one_percent_of_unconstrained_on_demo_data(demo_features) -> None:
    constrained = train(demo_features, TrainConfig())
    free = train(demo_features, TrainConfig(monotone_constraints=False))
    assert "monotone_constraints" not in free.params
    ratio = constrained.metrics["roc_auc"] / free.metrics["roc_auc"]
    assert ratio >= 0.99, (constrained.metrics["roc_auc"], free.metrics["roc_auc"])
