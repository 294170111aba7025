"""Two ways to score a booster with exact TreeSHAP contributions, behind one small contract:
`feature_names`, and `score(X) -> (block probabilities, contributions)` with contributions in
log-odds, n x (features + 1), the last column the bias.

- `TreeShapScorer`: the NumPy per-leaf tables of app/ml/treeshap.py, ~8x cheaper than XGBoost
  for one row; its float32 margin gives XGBoost's probability bit for bit.
- `XGBoostScorer`: XGBoost's own `predict` and `pred_contribs` over one DMatrix.

`load_scorer` checks the NumPy scorer against the booster on probe rows that sit on every side of
its splits (probabilities bit for bit, contributions to float32 precision) and falls back to
XGBoost when it disagrees or does not support the model. The decision service sees only the
contract (its `Scorer` port).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import xgboost as xgb

from app.ml import libm
from app.ml.errors import ModelError
from app.ml.treeshap import TreeShap

PROBE_ROWS = 256
logger = logging.getLogger("app.ml")


class XGBoostScorer:
    name = "xgboost"

    def __init__(self, booster: xgb.Booster, feature_names: Sequence[str], nthread: int = 1) -> None:
        self.booster = booster
        self.feature_names = list(feature_names)
        self.nthread = nthread

    def score(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # One unnamed DMatrix for both (a third of one row's cost; columns are checked by the caller).
        matrix = xgb.DMatrix(X, nthread=self.nthread)
        proba = self.booster.predict(matrix, validate_features=False)
        contributions = self.booster.predict(matrix, pred_contribs=True, validate_features=False)
        return np.asarray(proba, dtype=np.float64).ravel(), np.asarray(contributions, dtype=np.float64)

    def probability(self, X: np.ndarray) -> np.ndarray:
        return probability(self.booster, X)


class TreeShapScorer:
    name = "treeshap"

    def __init__(self, booster: xgb.Booster, feature_names: Sequence[str], explainer: TreeShap,
                 exact_probability: bool) -> None:
        self.booster = booster
        self.feature_names = list(feature_names)
        self.explainer = explainer
        self.exact_probability = exact_probability

    def score(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        contributions, margin = self.explainer.explain(X)
        if self.exact_probability:
            return logistic32(margin).astype(np.float64), contributions
        proba = self.booster.inplace_predict(X, validate_features=False)
        return np.asarray(proba, dtype=np.float64).ravel(), contributions

    def probability(self, X: np.ndarray) -> np.ndarray:
        return probability(self.booster, X)


def probability(booster: xgb.Booster, X: np.ndarray) -> np.ndarray:
    """XGBoost's own block probabilities of many rows without contributions (a challenger's score,
    a backtest): `score`'s probabilities bit for bit, ~40x cheaper per row in a batch."""
    return np.asarray(booster.inplace_predict(X, validate_features=False), dtype=np.float64).ravel()


def load_scorer(booster: xgb.Booster, feature_names: Sequence[str], nthread: int = 1) -> TreeShapScorer | XGBoostScorer:
    """The NumPy scorer when it agrees with the booster on probe rows, else XGBoost's."""
    try:
        explainer = TreeShap.from_booster(booster)
    except ModelError as exc:
        logger.info("TreeSHAP by XGBoost for this model", extra={"reason": str(exc)})
        return XGBoostScorer(booster, feature_names, nthread)
    X = explainer.probe_rows(PROBE_ROWS)
    contributions, margin = explainer.explain(X)
    expected = booster.predict(xgb.DMatrix(X), pred_contribs=True, validate_features=False)
    if not np.allclose(contributions, expected, rtol=1e-5, atol=1e-5):
        logger.warning("fast TreeSHAP disagrees with XGBoost on this model; XGBoost explains it")
        return XGBoostScorer(booster, feature_names, nthread)
    try:
        exact = bool((logistic32(margin) == booster.inplace_predict(X, validate_features=False)).all())
    except ModelError:
        exact = False
    if not exact:
        logger.warning("probabilities not reproduced bit for bit; XGBoost predicts them")
    return TreeShapScorer(booster, feature_names, explainer, exact)


def logistic32(margin: np.ndarray | None) -> np.ndarray:
    """XGBoost's float32 logistic of float32 margins, 1 / (1 + expf(-x)) with the C library's
    expf (NumPy's float32 exp differs from it in the last bit for a quarter of the values)."""
    if libm.expf is None or margin is None:
        raise ModelError("no float32 margin or no C library expf")
    expf = libm.expf
    e = np.fromiter((expf(-float(m)) for m in margin), dtype=np.float32, count=len(margin))
    return np.float32(1) / (np.float32(1) + e)
