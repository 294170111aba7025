"""The scoring model: an XGBoost booster, its feature list and its decision threshold.

Models are stored as XGBoost UBJSON bytes plus metadata, never pickled. Serving defaults to one
thread: a single-row prediction is cheaper than the thread hand-off.
"""

from collections.abc import Sequence

import numpy as np
import xgboost as xgb

from app.ml.errors import ModelError

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
        return self._contributions(self._matrix(X))

    def score(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Block probabilities and their contributions from one DMatrix (a decision needs both;
        building the matrix once saves about a third of the cost of one row)."""
        matrix = self._matrix(X)
        proba = self.booster.predict(matrix, validate_features=False)
        return np.asarray(proba, dtype=np.float64).ravel(), self._contributions(matrix)

    def _matrix(self, X: np.ndarray) -> xgb.DMatrix:
        # Columns are checked by `_check`; an unnamed DMatrix skips XGBoost's name validation,
        # which costs more than the explanation itself for one row.
        return xgb.DMatrix(self._check(X), nthread=self.nthread)

    def _contributions(self, matrix: xgb.DMatrix) -> np.ndarray:
        raw = self.booster.predict(matrix, pred_contribs=True, validate_features=False)
        return np.asarray(raw, dtype=np.float64)

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
