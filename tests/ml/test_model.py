import numpy as np
import polars as pl
import pytest
import xgboost as xgb

from app.ml import scoring as scoring_module
from app.ml.errors import ModelError
from app.ml.features import FEATURE_NAMES, feature_matrix
from app.ml.model import ScoringModel
from app.ml.training import TrainingResult


@pytest.fixture(scope="module")
def X(features: pl.DataFrame) -> np.ndarray:
    return feature_matrix(features.tail(300))


def test_probability_is_the_sigmoid_of_the_margin(model: ScoringModel, X: np.ndarray) -> None:
    proba = model.predict_proba(X)
    assert proba.shape == (len(X),) and ((proba > 0) & (proba < 1)).all()
    assert np.allclose(proba, 1 / (1 + np.exp(-model.margin(X))), atol=1e-6)


def test_contributions_plus_bias_sum_to_the_margin(model: ScoringModel, X: np.ndarray) -> None:
    contrib = model.contributions(X)
    assert contrib.shape == (len(X), len(FEATURE_NAMES) + 1)
    assert np.allclose(contrib.sum(axis=1), model.margin(X), atol=1e-4)


def test_single_row_prediction_matches_the_batch(model: ScoringModel, X: np.ndarray) -> None:
    batch = model.predict_proba(X)
    assert model.predict_proba(X[7]) == pytest.approx(batch[7], abs=1e-7)
    assert np.allclose(model.contributions(X[7:8])[0], model.contributions(X)[7], atol=1e-6)


def test_ubjson_round_trip_gives_identical_predictions(
    trained: TrainingResult, model: ScoringModel, X: np.ndarray
) -> None:
    raw = model.to_ubjson()
    assert raw == trained.booster_ubjson
    for nthread in (1, 2):
        loaded = ScoringModel.from_ubjson(raw, FEATURE_NAMES, model.threshold, nthread=nthread)
        assert np.array_equal(loaded.predict_proba(X), model.predict_proba(X))
        assert np.array_equal(loaded.contributions(X), model.contributions(X))


def test_decide_blocks_at_or_above_the_threshold(model: ScoringModel) -> None:
    t = model.threshold
    assert model.decide(np.array([t, t - 1e-9, 1.0, 0.0])) == ["block", "bill", "block", "bill"]


def test_mismatches_are_refused(trained: TrainingResult, model: ScoringModel) -> None:
    with pytest.raises(ModelError):
        ScoringModel.from_ubjson(trained.booster_ubjson, FEATURE_NAMES[:-1], 0.5)
    with pytest.raises(ModelError):
        ScoringModel.from_ubjson(trained.booster_ubjson, list(reversed(FEATURE_NAMES)), 0.5)
    with pytest.raises(ModelError):
        ScoringModel.from_ubjson(b"not a model", FEATURE_NAMES, 0.5)
    with pytest.raises(ModelError):
        model.predict_proba(np.zeros((1, 3), dtype=np.float32))


def test_score_equals_inplace_prediction_and_contributions(model: ScoringModel, X: np.ndarray) -> None:
    proba, contributions = model.score(X)
    assert np.array_equal(proba, model.predict_proba(X))  # the same probabilities, bit for bit
    assert np.array_equal(contributions, model.contributions(X))
    for row in X[:20]:  # one row at a time, as a live decision does
        single, _ = model.score(row[None, :])
        assert single[0] == model.predict_proba(row[None, :])[0]


def test_decisions_are_scored_by_the_checked_fast_explainer(model: ScoringModel, X: np.ndarray) -> None:
    assert model.explainer is not None and model.exact_probability
    by_xgboost = model.booster.predict(xgb.DMatrix(X), pred_contribs=True, validate_features=False)
    proba, contributions = model.score(X)
    np.testing.assert_allclose(contributions, by_xgboost, rtol=1e-5, atol=1e-5)
    raw = model.booster.predict(xgb.DMatrix(X), validate_features=False)
    assert np.array_equal(proba, raw.astype(np.float64))  # XGBoost's own probability, bit for bit


def test_a_model_the_explainer_cannot_serve_is_scored_by_xgboost(
    trained: TrainingResult, X: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unsupported(booster):
        raise ModelError("not supported")

    monkeypatch.setattr(scoring_module.TreeShap, "from_booster", unsupported)
    fallback = trained.model(nthread=1)
    assert fallback.explainer is None and fallback.scorer.name == "xgboost"
    proba, contributions = fallback.score(X)
    assert np.array_equal(proba, fallback.predict_proba(X))
    by_xgboost = fallback.booster.predict(xgb.DMatrix(X), pred_contribs=True, validate_features=False)
    assert np.array_equal(contributions, by_xgboost.astype(np.float64))


def test_probabilities_not_reproduced_exactly_come_from_xgboost(
    trained: TrainingResult, X: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = scoring_module.logistic32
    monkeypatch.setattr(scoring_module, "logistic32", lambda margin: np.nextafter(real(margin), np.float32(1)))
    model = trained.model(nthread=1)
    assert model.explainer is not None and not model.exact_probability
    proba, _ = model.score(X)
    assert np.array_equal(proba, model.predict_proba(X))
