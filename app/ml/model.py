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

import logging
from collections.abc import Sequence

import numpy as np
import xgboost as xgb

from app.ml import libm
from app.ml.errors import ModelError
from app.ml.treeshap import TreeShap

BILL = "bill"
BLOCK = "block"
PROBE_ROWS = 256
logger = logging.getLogger("app.ml")


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
        self.explainer, self.exact_probability = _checked_explainer(booster)

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
        return self._contributions(self._matrix(X))

    def score(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Block probabilities (equal to `predict_proba`) and their contributions: what a
        decision needs, from one pass when the explainer serves this model."""
        X = self._check(X)
        if self.explainer is None:
            matrix = self._matrix(X)  # one DMatrix for both saves about a third of one row's cost
            proba = self.booster.predict(matrix, validate_features=False)
            return np.asarray(proba, dtype=np.float64).ravel(), self._contributions(matrix)
        contributions, margin = self.explainer.explain(X)
        if self.exact_probability:
            return logistic32(margin).astype(np.float64), contributions
        return self.predict_proba(X), contributions

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


def logistic32(margin: np.ndarray | None) -> np.ndarray:
    """XGBoost's float32 logistic of float32 margins, 1 / (1 + expf(-x)) with the C library's
    expf (NumPy's float32 exp differs from it in the last bit for a quarter of the values)."""
    if libm.expf is None or margin is None:
        raise ModelError("no float32 margin or no C library expf")
    expf = libm.expf
    e = np.fromiter((expf(-float(m)) for m in margin), dtype=np.float32, count=len(margin))
    return np.float32(1) / (np.float32(1) + e)


def _checked_explainer(booster: xgb.Booster) -> tuple[TreeShap | None, bool]:
    """The fast explainer if it agrees with the booster on probe rows, and whether its
    probabilities are XGBoost's bit for bit."""
    try:
        explainer = TreeShap.from_booster(booster)
    except ModelError as exc:
        logger.info("TreeSHAP by XGBoost for this model", extra={"reason": str(exc)})
        return None, False
    X = explainer.probe_rows(PROBE_ROWS)
    contributions, margin = explainer.explain(X)
    expected = booster.predict(xgb.DMatrix(X), pred_contribs=True, validate_features=False)
    if not np.allclose(contributions, expected, rtol=1e-5, atol=1e-5):
        logger.warning("fast TreeSHAP disagrees with XGBoost on this model; XGBoost explains it")
        return None, False
    try:
        exact = bool((logistic32(margin) == booster.inplace_predict(X, validate_features=False)).all())
    except ModelError:
        exact = False
    if not exact:
        logger.warning("probabilities not reproduced bit for bit; XGBoost predicts them")
    return explainer, exact
