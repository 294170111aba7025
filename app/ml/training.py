"""Training and evaluation of the block/bill XGBoost model on point-in-time features.

The split is by time: sorted by (`ordered_at`, `order_id`), the latest `holdout_fraction` of the
labelled orders is the hold-out, the `validation_fraction` of the remaining orders just before it
drives early stopping, the calibration and the threshold, and the rest trains the booster.

The booster is monotone where credit people agree on a direction (app/ml/monotone.py) unless the
config turns that off. Its probability is calibrated on the validation slice (app/ml/calibration.py);
the threshold, the metrics and every decision use the calibrated probability. A version also keeps
the percentiles of its training rows (app/ml/reference.py) and its scored validation and hold-out
slices (app/ml/artifacts.py).
"""

import math
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import polars as pl
import xgboost as xgb

from app.ml import calibration as calibrations
from app.ml import monotone
from app.ml.artifacts import ScoreSample
from app.ml.calibration import Calibration
from app.ml.errors import EvaluationError, TrainingError
from app.ml.features import FEATURE_NAMES, feature_matrix
from app.ml.metrics import best_f1_threshold, brier, classification_metrics, log_loss, roc_auc
from app.ml.model import ScoringModel
from app.ml.reference import build_reference

MIN_ROWS_PER_SPLIT = 20
MAX_CONTRIBUTION_ROWS = 5_000


@dataclass(frozen=True)
class TrainConfig:
    """Split fractions and XGBoost hyper-parameters (defaults suit a few thousand+ orders)."""

    holdout_fraction: float = 0.2
    validation_fraction: float = 0.15
    seed: int = 42
    nthread: int = 2
    num_boost_round: int = 400
    early_stopping_rounds: int = 30
    max_depth: int = 4  # as accurate as 6 on the demo data, and its TreeSHAP ~3x cheaper (README)
    eta: float = 0.1
    subsample: float = 0.9
    colsample_bytree: float = 0.9
    min_child_weight: float = 1
    monotone_constraints: bool = True  # app/ml/monotone.py; a company may turn it off per training
    calibration: str = "platt"  # or "isotonic": docs/decisions/0007

    def __post_init__(self) -> None:
        for name in ("holdout_fraction", "validation_fraction"):
            if not 0.0 < getattr(self, name) < 1.0:
                raise TrainingError(f"{name} must be between 0 and 1")
        if self.calibration not in calibrations.METHODS:
            raise TrainingError(f"calibration must be one of {calibrations.METHODS}")

    def to_params(self) -> dict[str, Any]:
        """Native `xgb.train` parameters."""
        monotone_constraints = monotone.xgboost_param(FEATURE_NAMES) if self.monotone_constraints else None
        return ({"monotone_constraints": monotone_constraints} if monotone_constraints else {}) | {
            "objective": "binary:logistic",
            "tree_method": "hist",
            "eval_metric": ["logloss", "auc"],
            "seed": self.seed,
            "nthread": self.nthread,
            "max_depth": self.max_depth,
            "eta": self.eta,
            "subsample": self.subsample,
            "colsample_bytree": self.colsample_bytree,
            "min_child_weight": self.min_child_weight,
        }


@dataclass
class TrainingResult:
    """Everything a model version records; `booster_ubjson` is XGBoost's UBJSON."""

    booster_ubjson: bytes
    feature_names: list[str]
    threshold: float
    params: dict[str, Any]
    best_iteration: int
    metrics: dict[str, Any]
    feature_importance: dict[str, float]
    timings: dict[str, float]
    counts: dict[str, int]
    config: dict[str, Any] = field(default_factory=dict)
    calibration: dict[str, Any] | None = None
    """`{"method": "platt"|"isotonic", ...its parameters}` (app/ml/calibration.py)."""
    reference: dict[str, Any] | None = None
    """Percentiles of the training rows per feature and of their score (app/ml/reference.py)."""
    validation: bytes | None = None
    """`ScoreSample.to_bytes()` of the validation slice."""
    holdout: bytes | None = None
    """`ScoreSample.to_bytes()` of the hold-out slice."""

    def model(self, nthread: int = 1) -> ScoringModel:
        """The trained model, ready to score (raw probabilities: see `calibrator`)."""
        return ScoringModel.from_ubjson(
            self.booster_ubjson, self.feature_names, self.threshold, nthread
        )

    def calibrator(self) -> Calibration:
        """Raw probabilities -> calibrated ones, on the threshold's scale."""
        return calibrations.from_json(self.calibration)


@dataclass(frozen=True)
class Split:
    """Labelled feature rows cut by time."""

    train: pl.DataFrame
    validation: pl.DataFrame
    holdout: pl.DataFrame

    def parts(self) -> dict[str, pl.DataFrame]:
        return {"train": self.train, "validation": self.validation, "holdout": self.holdout}


def train(features: pl.DataFrame, config: TrainConfig | None = None) -> TrainingResult:
    """Fit on the oldest orders, early-stop and calibrate on the validation slice, evaluate on
    the hold-out.

    Early stopping watches validation log loss; the returned booster keeps only the trees up to
    the best iteration. The calibration is fitted on the validation slice's raw probabilities;
    the threshold maximises F1 there on the calibrated ones, blocking when probability >=
    threshold; among equally good thresholds the higher one wins. Deterministic for a given input
    and config.
    """
    config = config or TrainConfig()
    split = split_by_time(features, config)
    started = time.perf_counter()
    booster = _fit(split, config)
    return finish(booster, split, config, time.perf_counter() - started, _counts(split))


def finish(booster: xgb.Booster, split: Split, config: TrainConfig, fit_s: float,
           counts: dict[str, int]) -> TrainingResult:
    """Everything a version keeps once its booster is fitted, wherever it was fitted (here or on
    a Dask cluster): calibration and threshold from the validation slice, hold-out metrics, the
    training rows' percentiles (`split.train` may be a sample of them) and the scored slices."""
    started = time.perf_counter()
    raw = bytes(booster.save_raw("ubj"))
    model = ScoringModel.from_ubjson(raw, FEATURE_NAMES, 0.5, config.nthread)
    validation_x = feature_matrix(split.validation)
    validation_raw = model.predict_proba(validation_x)
    calibration = calibrations.fit(config.calibration, validation_raw, _labels(split.validation))
    validation = _sample(model, calibration, split.validation, validation_x, validation_raw)
    threshold = best_f1_threshold(validation.label, validation.probability)
    holdout_x = feature_matrix(split.holdout)
    holdout_raw = model.predict_proba(holdout_x)
    holdout = _sample(model, calibration, split.holdout, holdout_x, holdout_raw)
    metrics = _metrics(holdout.label, holdout_raw, calibration, threshold, holdout.probability)
    metrics["mean_abs_contribution"] = mean_abs_contribution(model, holdout_x)
    # percentiles for monitoring: NumPy's calibration (equal to the decisions' up to the last bit)
    train_score = calibration.vectorised(model.predict_proba(feature_matrix(split.train)))
    return TrainingResult(
        booster_ubjson=raw,
        feature_names=list(FEATURE_NAMES),
        threshold=threshold,
        params=config.to_params(),
        best_iteration=booster.num_boosted_rounds() - 1,
        metrics=metrics,
        feature_importance=_importance(booster),
        timings={"fit_s": fit_s, "evaluate_s": time.perf_counter() - started},
        counts=counts,
        config=asdict(config),
        calibration=calibration.to_json(),
        reference=build_reference(split.train, FEATURE_NAMES, train_score),
        validation=validation.to_bytes(),
        holdout=holdout.to_bytes(),
    )


def evaluate(
    model: ScoringModel, features: pl.DataFrame, calibration: Calibration = calibrations.IDENTITY
) -> dict[str, Any]:
    """The metrics of `model` (with its version's calibration) on the labelled rows of a feature
    frame: `classification_metrics` of the calibrated probability, its calibration table, the
    uncalibrated log loss, Brier score and ROC AUC, and the mean absolute contribution per feature."""
    return evaluate_scored(model, features, calibration)[0]


def evaluate_scored(
    model: ScoringModel, features: pl.DataFrame, calibration: Calibration = calibrations.IDENTITY
) -> tuple[dict[str, Any], ScoreSample]:
    """`evaluate`'s metrics and the scored orders they were computed on (an evaluation keeps them
    for its curves, as a version keeps its hold-out)."""
    labelled = features.filter(pl.col("label").is_not_null())
    if labelled.height == 0:
        raise EvaluationError("no labelled orders to evaluate")
    X = feature_matrix(labelled, model.feature_names)
    raw = model.predict_proba(X)
    scored = _sample(model, calibration, labelled, X, raw)
    metrics = _metrics(scored.label, raw, calibration, model.threshold, scored.probability)
    metrics["mean_abs_contribution"] = mean_abs_contribution(model, X)
    return metrics, scored


def mean_abs_contribution(model: ScoringModel, X: np.ndarray,
                          max_rows: int = MAX_CONTRIBUTION_ROWS) -> dict[str, float]:
    """Feature importance as the report shows it: the mean absolute TreeSHAP contribution of each
    feature (log-odds) over the rows, from XGBoost's own `pred_contribs` (one C++ pass; the bias
    column is left out). Beyond `max_rows`, on that many rows evenly spaced in time order: the
    mean is stable long before (benchmarks/reports.py: 3.3 s for 20,000 rows on 2 cores)."""
    if len(X) > max_rows:
        X = X[np.linspace(0, len(X) - 1, max_rows).astype(np.int64)]
    matrix = xgb.DMatrix(np.ascontiguousarray(X, dtype=np.float32), feature_names=model.feature_names,
                         nthread=model.nthread)
    contributions = model.booster.predict(matrix, pred_contribs=True)[:, :-1]
    means = np.abs(contributions).mean(axis=0) if len(contributions) else np.zeros(len(model.feature_names))
    return {name: round(float(v), 6) for name, v in zip(model.feature_names, means, strict=True)}


def _metrics(labels: np.ndarray, raw: np.ndarray, calibration: Calibration, threshold: float,
             calibrated: np.ndarray | None = None) -> dict[str, Any]:
    calibrated = calibration(raw) if calibrated is None else calibrated
    metrics = classification_metrics(labels, calibrated, threshold)
    metrics["calibration"] = {"method": calibration.method, **calibrations.reliability(calibrated, labels)}
    metrics["uncalibrated"] = {"log_loss": log_loss(labels, raw), "brier": brier(labels, raw),
                               "roc_auc": roc_auc(labels, raw)}
    return metrics


def _sample(model: ScoringModel, calibration: Calibration, rows: pl.DataFrame, X: np.ndarray,
            raw: np.ndarray) -> ScoreSample:
    return ScoreSample(
        margin=model.margin(X).astype(np.float32),
        probability=calibration(raw),
        label=rows["label"].to_numpy(),
        amount=rows["amount"].to_numpy(),
    )


def split_by_time(features: pl.DataFrame, config: TrainConfig | None = None) -> Split:
    """Labelled rows sorted by (ordered_at, order_id), cut into train / validation / hold-out."""
    config = config or TrainConfig()
    rows = features.filter(pl.col("label").is_not_null()).sort("ordered_at", "order_id")
    n = rows.height
    n_holdout = math.ceil(n * config.holdout_fraction)
    n_validation = math.ceil((n - n_holdout) * config.validation_fraction)
    n_train = n - n_holdout - n_validation
    split = Split(
        train=rows.slice(0, n_train),
        validation=rows.slice(n_train, n_validation),
        holdout=rows.slice(n_train + n_validation, n_holdout),
    )
    for name, part in split.parts().items():
        _require_trainable(name, part)
    return split


def _require_trainable(name: str, part: pl.DataFrame) -> None:
    if part.height < MIN_ROWS_PER_SPLIT:
        raise TrainingError(
            f"too few labelled orders: the {name} split has {part.height} rows "
            f"(at least {MIN_ROWS_PER_SPLIT} needed)"
        )
    blocked = int(part["label"].sum())
    if blocked == 0 or blocked == part.height:
        raise TrainingError(f"the {name} split needs both billed and blocked orders")


def _fit(split: Split, config: TrainConfig) -> xgb.Booster:
    names = list(FEATURE_NAMES)
    train_x, valid_x = feature_matrix(split.train), feature_matrix(split.validation)
    dtrain = xgb.QuantileDMatrix(
        train_x, _labels(split.train), feature_names=names, nthread=config.nthread
    )
    dvalid = xgb.QuantileDMatrix(
        valid_x, _labels(split.validation), feature_names=names, ref=dtrain, nthread=config.nthread
    )
    stop = xgb.callback.EarlyStopping(
        rounds=config.early_stopping_rounds,
        metric_name="logloss",
        data_name="validation",
        save_best=True,
    )
    return xgb.train(
        config.to_params(),
        dtrain,
        num_boost_round=config.num_boost_round,
        evals=[(dvalid, "validation")],
        callbacks=[stop],
        verbose_eval=False,
    )


def _importance(booster: xgb.Booster) -> dict[str, float]:
    """Total gain per feature normalised to sum 1 (features never split on get 0)."""
    gain = booster.get_score(importance_type="total_gain")
    total = sum(gain.values())
    return {name: (float(gain.get(name, 0.0)) / total if total else 0.0) for name in FEATURE_NAMES}


def _counts(split: Split) -> dict[str, int]:
    counts: dict[str, int] = {}
    for name, part in split.parts().items():
        counts[f"{name}_rows"] = part.height
        counts[f"{name}_blocked"] = int(part["label"].sum())
    return counts


def _labels(part: pl.DataFrame) -> np.ndarray:
    return part["label"].cast(pl.Float32).to_numpy()
