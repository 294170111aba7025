"""Score samples: plain arrays in an .npz, read back exactly, never unpickled."""

import io

import numpy as np
import pytest

from app.ml.artifacts import ScoreSample
from app.ml.errors import ModelError
from app.ml.features import feature_matrix
from app.ml.training import TrainingResult, split_by_time


def _sample(n: int = 5) -> ScoreSample:
    rng = np.random.default_rng(2)
    return ScoreSample(margin=rng.normal(size=n).astype(np.float32), probability=rng.random(n),
                       label=rng.random(n) < 0.3, amount=rng.random(n) * 1e5)


def test_round_trip_is_exact() -> None:
    sample = _sample()
    again = ScoreSample.from_bytes(sample.to_bytes())
    assert len(again) == 5
    for name, dtype in (("margin", np.float32), ("probability", np.float64), ("label", np.int8),
                        ("amount", np.float64)):
        assert getattr(again, name).dtype == dtype
        assert getattr(again, name).tobytes() == getattr(sample, name).tobytes()
    assert ScoreSample.from_bytes(_sample(0).to_bytes()).label.shape == (0,)


def test_bad_input_is_refused() -> None:
    with pytest.raises(ModelError, match="length"):
        ScoreSample(margin=[0.0], probability=[0.1, 0.2], label=[1], amount=[2.0])
    with pytest.raises(ModelError):
        ScoreSample.from_bytes(b"not an npz")
    pickled = io.BytesIO()
    np.savez(pickled, margin=np.array([object()]), probability=np.zeros(1), label=np.zeros(1, np.int8),
             amount=np.zeros(1))
    with pytest.raises(ModelError):  # an object array would need pickle: refused
        ScoreSample.from_bytes(pickled.getvalue())
    wrong = io.BytesIO()
    np.savez(wrong, margin=np.zeros(1), probability=np.zeros(1), label=np.zeros(1, np.int8), amount=np.zeros(1))
    with pytest.raises(ModelError, match="margin"):
        ScoreSample.from_bytes(wrong.getvalue())


def test_training_keeps_its_validation_and_holdout_slices(trained: TrainingResult, features) -> None:
    split = split_by_time(features)
    model, calibrator = trained.model(), trained.calibrator()
    for raw, part in ((trained.validation, split.validation), (trained.holdout, split.holdout)):
        sample = ScoreSample.from_bytes(raw)
        assert len(sample) == part.height
        assert (sample.label == part["label"].to_numpy()).all()
        assert (sample.amount == part["amount"].to_numpy()).all()
        X = feature_matrix(part)
        assert (sample.margin == model.booster.inplace_predict(X, predict_type="margin")).all()
        assert (sample.probability == calibrator(model.predict_proba(X))).all()
