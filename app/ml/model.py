"""The scoring model: an XGBoost booster, its feature list and its decision threshold.

Models are stored as XGBoost UBJSON bytes plus metadata, never pickled. Serving defaults to one
thread: a single-row prediction is cheaper than the thread hand-off.

Decisions are scored by `TreeShap` (app/ml/treeshap.py): exact TreeSHAP and XGBoost's own float32
margin from one pass over the splits, about 8x cheaper than XGBoost for one row, and the
probability from that margin with XGBoost's float32 logistic. When the model is loaded, both are
checked against the booster on probe rows that sit on every side of its splits: probabilities
bit for bit, contributions to float32 precision. A model (or platform) that fails the check, or
that `TreeShap` does not support, is scored by XGBoost itself.
"""

from collections.abc import Sequence

import numpy as np
import xgboost as xgb

from app.ml.errors import ModelError
from app.ml.scoring import TreeShapScorer, XGBoostScorer, load_scorer, logistic32

__all__ = ["BILL", "BLOCK", "ScoringModel", "logistic32"]
BILL = "bill"
BLOCK = "block"


class ScoringModel:
    """Predicts the block probability of feature rows and explains it with TreeSHAP."""

    def __init__(
        self, booster: xgb.Booster, feature_names: Sequence[str], threshold: float, nthread: int = 1
    ):
        names = list(feature_names)
        if booster.feature_names is not None and list(booster.feature_names) != names:
            raise ModelError("booster feature names differ from the model's feature list")
        if booster.num_features() != len(names):
            raise ModelError(f"booster expects {booster.num_features()} features, got {len(names)}")
        if not 0.0 <= threshold <= 1.0:
            raise ModelError(f"threshold must be within [0, 1], got {threshold}")
        booster.set_param({"nthread": nthread})
        self.booster = booster
        self.feature_names = names
        self.threshold = float(threshold)
        self.nthread = nthread
        self.scorer: TreeShapScorer | XGBoostScorer = load_scorer(booster, names, nthread)

    @property
    def explainer(self):
        """The NumPy TreeSHAP tables, or None when XGBoost scores this model."""
        return getattr(self.scorer, "explainer", None)

    @property
    def exact_probability(self) -> bool:
        return bool(getattr(self.scorer, "exact_probability", False))

    @classmethod
    def from_ubjson(
        cls, raw: bytes, feature_names: Sequence[str], threshold: float, nthread: int = 1
    ) -> "ScoringModel":
        """Load a booster saved with `Booster.save_raw("ubj")`."""
        booster = xgb.Booster()
        try:
            booster.load_model(bytearray(raw))
        except xgb.core.XGBoostError as exc:
            raise ModelError(f"cannot load the booster: {exc}") from exc
        return cls(booster, feature_names, threshold, nthread)

    def to_ubjson(self) -> bytes:
        """The booster in XGBoost's UBJSON format."""
        return bytes(self.booster.save_raw("ubj"))

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Block probability per row (float64 1-D)."""
        return self._inplace(X, "value")

    def margin(self, X: np.ndarray) -> np.ndarray:
        """Raw log-odds per row, the scale the contributions add up to."""
        return self._inplace(X, "margin")

    def decide(self, proba: np.ndarray) -> list[str]:
        """`block` where proba >= threshold, else `bill`."""
        return [BLOCK if p >= self.threshold else BILL for p in np.asarray(proba).ravel()]

    def contributions(self, X: np.ndarray) -> np.ndarray:
        """Exact TreeSHAP contributions in log-odds, n x (n_features + 1); last column is bias."""
        if self.explainer is not None:
            return self.explainer.contributions(self._check(X))
        return self.scorer.score(self._check(X))[1]

    def score(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Block probabilities (equal to `predict_proba`) and their contributions: what a
        decision needs, from one pass when the NumPy scorer serves this model."""
        return self.scorer.score(self._check(X))

    def _inplace(self, X: np.ndarray, kind: str) -> np.ndarray:
        raw = self.booster.inplace_predict(
            self._check(X), predict_type=kind, validate_features=False
        )
        return np.asarray(raw, dtype=np.float64).ravel()

    def _check(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=np.float32)
        if X.ndim == 1:
            X = X.reshape(1, -1)
        if X.ndim != 2 or X.shape[1] != len(self.feature_names):
            raise ModelError(f"expected rows of {len(self.feature_names)} features, got {X.shape}")
        return np.ascontiguousarray(X)
