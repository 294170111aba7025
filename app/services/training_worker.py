"""Entry points that run inside the training process pool: CPU-heavy, fed with ids and a URL.

Each call opens its own database engine (nothing is shared with the parent's event loop), reads
the dataset, builds point-in-time features and trains or evaluates; the parent process writes the
results in its own transaction.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import asdict
from typing import Any

import polars as pl
from sqlalchemy.engine import make_url

from app.db.engine import make_engine, make_sessionmaker
from app.db.history import Rows, dataset_rows, dataset_rows_sqlite
from app.ml import calibration as calibrations
from app.ml.features import build_features
from app.ml.history import History
from app.ml.model import ScoringModel
from app.ml.schema import conform
from app.ml.training import TrainConfig, evaluate_scored, train


def to_frame(kind: str, rows: Rows) -> pl.DataFrame:
    frame = pl.DataFrame(rows.rows, schema=rows.columns, orient="row", infer_schema_length=None)
    return conform(kind, frame)


def frames_from_rows(rows: dict[str, Rows]) -> dict[str, pl.DataFrame]:
    return {kind: to_frame(kind, value) for kind, value in rows.items()}


async def _load(database_url: str, dataset_id: str) -> dict[str, Rows]:
    engine = make_engine(database_url)
    try:
        async with make_sessionmaker(engine)() as session:
            return await dataset_rows(session, dataset_id)
    finally:
        await engine.dispose()


def _read(database_url: str, dataset_id: str) -> dict[str, Rows]:
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        return dataset_rows_sqlite(url.database, dataset_id)
    return asyncio.run(_load(database_url, dataset_id))


def dataset_history(database_url: str, dataset_id: str) -> History:
    """Everything uploaded in the dataset, conformed."""
    return History(frames_from_rows(_read(database_url, dataset_id)))


def dataset_features(database_url: str, dataset_id: str) -> tuple[pl.DataFrame, dict[str, float]]:
    started = time.perf_counter()
    history = dataset_history(database_url, dataset_id)
    loaded = time.perf_counter()
    features = build_features(history["orders"], history)
    timings = {"load_s": loaded - started, "features_s": time.perf_counter() - loaded}
    return features, timings


def train_dataset(database_url: str, dataset_id: str, config: dict[str, Any]) -> dict[str, Any]:
    features, timings = dataset_features(database_url, dataset_id)
    result = train(features, TrainConfig(**config))
    out = asdict(result)
    out["timings"] = {**timings, **result.timings}
    return out


def evaluate_dataset(
    database_url: str, dataset_id: str, booster: bytes, feature_names: list[str], threshold: float,
    calibration: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Metrics of a version on a labelled dataset, with the version's calibration (its threshold is
    on the calibrated scale; a version stored without one scores uncalibrated), and the scored
    orders (`ScoreSample.to_bytes()`) the evaluation's report draws its curves from:
    `{"metrics": {...}, "scores": bytes}`."""
    features, _ = dataset_features(database_url, dataset_id)
    model = ScoringModel.from_ubjson(booster, feature_names, threshold, nthread=2)
    metrics, scored = evaluate_scored(model, features, calibrations.from_json(calibration))
    return {"metrics": metrics, "scores": scored.to_bytes()}
