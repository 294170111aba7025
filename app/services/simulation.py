"""Backtests: what a credit policy would have decided on labelled orders, without storing a
decision - the same features, scores, calibration, rules, threshold and review band as live
decisions, vectorised over the whole sample (app/ml/policy.py)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import numpy as np
import polars as pl
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import model_versions as versions_db
from app.db.datasets import Dataset
from app.db.model_versions import ModelVersion
from app.domain.principal import Principal
from app.errors import Conflict, InvalidInput, not_found
from app.ml.features import feature_matrix
from app.ml.operating_points import OperatingPointError
from app.ml.policy import Rules, first_match, verdicts
from app.ml.training import TrainConfig, split_by_time
from app.schemas.policies import Counts, PolicyCreate, SimulationFigures, SimulationRead, SimulationRequest
from app.services import datasets as datasets_service
from app.services import policies, training_worker
from app.services.jobs import Compute
from app.services.scoring import LoadedModel, ModelCache
from app.settings import Settings

MODEL_ALONE = PolicyCreate(name="the model alone")


@dataclass(frozen=True)
class Sample:
    """Labelled orders with their features, scored by the model (calibrated)."""

    features: pl.DataFrame
    probability: np.ndarray
    label: np.ndarray
    amount: np.ndarray


async def simulate(session: AsyncSession, compute: Compute, settings: Settings, models: ModelCache,
                   principal: Principal, request: SimulationRequest) -> SimulationRead:
    body = await _policy(session, principal, request)
    model_row = await _model(session, principal, request.model_version)
    loaded = await models.get(model_row.id)
    dataset_id, which = await _dataset(session, principal, request.dataset_id, model_row)
    started = time.perf_counter()
    features, _ = await compute.run(training_worker.dataset_features, settings.database_url, dataset_id)
    if which == "holdout":
        features = split_by_time(features, TrainConfig(**_split_config(model_row))).holdout
    features = features.filter(pl.col("label").is_not_null())
    if features.height == 0:
        raise Conflict(f"Dataset {dataset_id} has no orders with a recorded status to compare with.")
    built = time.perf_counter()
    validation = await versions_db.validation_sample(session, model_row.id)
    active = await _active_body(session, principal)
    figures, baseline = await asyncio.to_thread(_both, loaded, features, body, active, validation)
    return SimulationRead(**figures.model_dump(), orders=features.height, model_version=model_row.version,
                          dataset_id=dataset_id, sample=which, active=baseline,
                          seconds={"features": round(built - started, 3),
                                   "scoring_and_rules": round(time.perf_counter() - built, 3)})


def _both(model: LoadedModel, features: pl.DataFrame, body: PolicyCreate, active: PolicyCreate,
          validation: bytes | None) -> tuple[SimulationFigures, SimulationFigures]:
    sample = score(model, features)
    return figures(sample, body, model, validation), figures(sample, active, model, validation)


def score(model: LoadedModel, features: pl.DataFrame) -> Sample:
    """The calibrated probabilities a live decision would give these rows (XGBoost's own float32
    probability, which the decision path reproduces bit for bit, then the version's calibration)."""
    X = feature_matrix(features, model.scorer.feature_names)
    raw = model.scorer.probability(X)
    return Sample(features, model.calibration(raw), features["label"].to_numpy(),
                  features["amount"].to_numpy().astype(np.float64))


def figures(sample: Sample, body: PolicyCreate, model: LoadedModel, validation: bytes | None) -> SimulationFigures:
    try:
        threshold = policies.threshold_on(body, model.threshold, validation)
    except OperatingPointError as exc:
        raise Conflict(f"The policy's operating point cannot be computed on model version {model.version}: "
                       f"{exc}.") from exc
    rules = Rules.compile(body.model_dump(by_alias=True, exclude_none=True)["rules"])
    X = sample.features.select([pl.col(f).cast(pl.Float64) for f in rules.fields]).to_numpy() if rules.fields \
        else np.zeros((sample.features.height, 0))
    matches = rules.matches(X)
    first = first_match(matches)
    band = None if body.review_band is None else (body.review_band.below, body.review_band.above)
    decided = verdicts(first, [r.action for r in rules.rules], sample.probability, threshold, band)
    return SimulationFigures(threshold=threshold, counts=_counts(decided), confusion=_confusion(decided, sample.label),
                             cost=_cost(decided, sample, body), decided_by_rules=int((first >= 0).sum()),
                             rule_hits={rule.id: int(matches[:, j].sum()) for j, rule in enumerate(rules.rules)})


def _counts(decided: np.ndarray) -> Counts:
    return Counts(**{name: int((decided == name).sum()) for name in ("bill", "block", "review")})


def _confusion(decided: np.ndarray, label: np.ndarray) -> dict[str, Counts]:
    return {"billed": _counts(decided[label == 0]), "blocked": _counts(decided[label == 1])}


def _cost(decided: np.ndarray, sample: Sample, body: PolicyCreate) -> float:
    point = body.operating_point
    wrong_bill, wrong_block = (point.cost_wrong_bill, point.cost_wrong_block) if point.strategy == "costs" else (1, 1)
    billed_bad = (decided == "bill") & (sample.label == 1)
    blocked_good = (decided == "block") & (sample.label == 0)
    return round(float(wrong_bill * sample.amount[billed_bad].sum() + wrong_block * sample.amount[blocked_good].sum()),
                 2)


async def _policy(session: AsyncSession, principal: Principal, request: SimulationRequest) -> PolicyCreate:
    if request.policy is not None:
        return request.policy
    row = await policies.find(session, principal.company.id, request.policy_version)
    if row is None:
        raise not_found("Policy version", request.policy_version)
    return policies.body_of(row)


async def _active_body(session: AsyncSession, principal: Principal) -> PolicyCreate:
    from app.db.policies import Policy

    company_policy = principal.company.active_policy_id
    row = None if company_policy is None else await session.get(Policy, company_policy)
    return MODEL_ALONE if row is None else policies.body_of(row)


async def _model(session: AsyncSession, principal: Principal, version: int | None) -> ModelVersion:
    if version is None:
        model = await policies.active_model(session, principal.company.id)
        if model is None:
            raise Conflict("No model is active yet: name a model_version, or train and activate one.")
        return model
    model = await versions_db.get_version(session, principal.company.id, version)
    if model is None:
        raise not_found("Model version", version)
    return model


async def _dataset(session: AsyncSession, principal: Principal, dataset_id: str | None,
                   model: ModelVersion) -> tuple[str, str]:
    if dataset_id is None:
        return model.dataset_id, "holdout"
    dataset: Dataset | None = await datasets_service.find(session, principal.company.id, dataset_id)
    if dataset is None:
        raise not_found("Dataset", dataset_id)
    if not dataset.status.usable:
        raise InvalidInput(f"Dataset {dataset_id} is {dataset.status}; simulate on a valid dataset.",
                           errors=[{"field": "dataset_id", "message": f"the dataset is {dataset.status}"}])
    return dataset.id, "dataset"


def _split_config(model: ModelVersion) -> dict:
    config = (model.params or {}).get("config", {})
    return {key: config[key] for key in ("holdout_fraction", "validation_fraction") if key in config}
