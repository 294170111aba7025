"""Training end to end (read the dataset from the database, point-in-time features, XGBoost fit
with early stopping, calibration, hold-out evaluation) for 100k and 1M orders, against a bare
`xgb.train` with the same parameters on the already-built feature matrix.

Also recorded per size: the hold-out ROC AUC of the monotone model against the same training
without constraints (goal: at least 0.99x), and the hold-out Brier score and log loss of the
booster's probability uncalibrated, Platt-calibrated and isotonic-calibrated on the validation
slice (docs/decisions/0007)."""

from __future__ import annotations

import asyncio
import tempfile
import time
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import polars as pl
import xgboost as xgb

from app.db.bulk import bulk_insert
from app.db.companies import Company
from app.db.datasets import Dataset
from app.db.engine import make_engine, make_sessionmaker
from app.db.records import TABLES
from app.demo import generate
from app.ml import calibration
from app.ml.artifacts import ScoreSample
from app.ml.features import FEATURE_NAMES, build_features, feature_matrix
from app.ml.history import History
from app.ml.metrics import brier, log_loss
from app.ml.training import TrainConfig, split_by_time, train
from app.services.training_worker import train_dataset
from benchmarks.common import save, table


async def store_dataset(url: str, data) -> str:
    """Write a generated history as one valid dataset (bulk insert, the ingest sink's own path)."""
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    async with sessions() as session:
        company = Company(name="Bench", email=f"bench-{time.time_ns()}@example.com")
        session.add(company)
        await session.flush()
        dataset = Dataset(company_id=company.id, purpose="training", status="valid")
        session.add(dataset)
        await session.flush()
        sqlite = engine.dialect.name == "sqlite"
        for kind, frame in data.frames().items():
            columns = [c.name for c in TABLES[kind].columns if c.name != "id"]
            frame = frame.select([c for c in columns if c in frame.columns])
            if sqlite:  # the sqlite3 driver takes ISO text, as SQLAlchemy writes it
                frame = frame.with_columns(pl.col(c).cast(pl.String) for c in _temporal(frame))
            rows = [(dataset.id, company.id, *row) for row in frame.iter_rows()]
            await bulk_insert(session, TABLES[kind], ["dataset_id", "company_id", *frame.columns], rows)
        await session.commit()
    await engine.dispose()
    return dataset.id


def _temporal(frame) -> list[str]:
    return [name for name, dtype in frame.schema.items() if dtype.is_temporal()]


def bare_fit(data, config: TrainConfig) -> tuple[float, int]:
    features = build_features(data.orders, History(data.frames()))
    split = split_by_time(features, config)
    dtrain = xgb.QuantileDMatrix(feature_matrix(split.train), split.train["label"].to_numpy(),
                                 feature_names=list(FEATURE_NAMES), nthread=config.nthread)
    dvalid = xgb.QuantileDMatrix(feature_matrix(split.validation), split.validation["label"].to_numpy(),
                                 feature_names=list(FEATURE_NAMES), ref=dtrain, nthread=config.nthread)
    started = time.perf_counter()
    booster = xgb.train(config.to_params(), dtrain, num_boost_round=config.num_boost_round,
                        evals=[(dvalid, "validation")], verbose_eval=False,
                        callbacks=[xgb.callback.EarlyStopping(rounds=config.early_stopping_rounds,
                                                              metric_name="logloss", data_name="validation",
                                                              save_best=True)])
    return time.perf_counter() - started, booster.num_boosted_rounds()


PEAK_SCRIPT = """
import json, resource, sys, time
from app.services.training_worker import train_dataset
started = time.perf_counter()
result = train_dataset(sys.argv[1], sys.argv[2], json.loads(sys.argv[3]))
print(json.dumps({"seconds": time.perf_counter() - started, "roc_auc": result["metrics"]["roc_auc"],
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def peak_memory(orders: int, customers: int) -> dict:
    """The local training path's peak resident memory (read, features, fit, evaluate in one
    process, as a compute worker runs it), in a fresh process."""
    import json
    import subprocess
    import sys

    data = generate(customers=customers, orders=orders, seed=13)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'train.db'}"
        from app.db.migrations import upgrade

        upgrade(url)
        dataset_id = asyncio.run(store_dataset(url, data))
        del data
        run = subprocess.run([sys.executable, "-c", PEAK_SCRIPT, url, dataset_id, json.dumps(asdict(TrainConfig()))],
                             capture_output=True, text=True, check=True)
    return {"orders": orders, "customers": customers, **json.loads(run.stdout.strip().splitlines()[-1])}


def run(quick: bool = False) -> None:
    sizes = [(500, 20_000)] if quick else [(2_000, 100_000), (10_000, 1_000_000)]
    config = TrainConfig()
    results = []
    for customers, orders in sizes:
        data = generate(customers=customers, orders=orders, seed=13)
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite+aiosqlite:///{Path(tmp) / 'train.db'}"
            from app.db.migrations import upgrade

            upgrade(url)
            dataset_id = asyncio.run(store_dataset(url, data))
            started = time.perf_counter()
            result = train_dataset(url, dataset_id, asdict(config))
            end_to_end = time.perf_counter() - started
        baseline, rounds = bare_fit(data, config)
        in_memory = time.perf_counter()
        features = build_features(data.orders, History(data.frames()))
        train(features, config)
        in_memory = time.perf_counter() - in_memory
        free = train(features, replace(config, monotone_constraints=False))
        results.append({
            "orders": orders, "customers": customers, "end_to_end_s": round(end_to_end, 2),
            "stages_s": {k: round(v, 2) for k, v in result["timings"].items()},
            "in_memory_features_and_train_s": round(in_memory, 2),
            "baseline_xgb_train_s": round(baseline, 2), "rounds": rounds,
            "ratio_vs_baseline": round(end_to_end / baseline, 2), "roc_auc": result["metrics"]["roc_auc"],
            "monotone": {"constrained_roc_auc": result["metrics"]["roc_auc"],
                         "unconstrained_roc_auc": free.metrics["roc_auc"],
                         "ratio": round(result["metrics"]["roc_auc"] / free.metrics["roc_auc"], 4),
                         "unconstrained_fit_s": round(free.timings["fit_s"], 2),
                         "unconstrained_rounds": free.best_iteration + 1},
            "calibration": compare_calibrations(result["validation"], result["holdout"]),
            "brier": result["metrics"]["brier"],
        })
    table("training", ["orders", "end-to-end s", "load s", "features s", "fit s", "baseline xgb.train s", "ratio",
                       "ROC AUC"],
          [[r["orders"], r["end_to_end_s"], r["stages_s"]["load_s"], r["stages_s"]["features_s"],
            r["stages_s"]["fit_s"], r["baseline_xgb_train_s"], f"{r['ratio_vs_baseline']}x",
            round(r["roc_auc"], 4)] for r in results])
    print("goal: end to end within 1.5x of the bare xgb.train")
    table("monotone constraints (hold-out ROC AUC)", ["orders", "constrained", "unconstrained", "ratio"],
          [[r["orders"], round(r["monotone"]["constrained_roc_auc"], 4),
            round(r["monotone"]["unconstrained_roc_auc"], 4), r["monotone"]["ratio"]] for r in results])
    print("goal: constrained >= 0.99x unconstrained")
    table("calibration on the hold-out (Brier / log loss)", ["orders", "uncalibrated", "platt", "isotonic"],
          [[r["orders"], *(f"{r['calibration'][m]['brier']:.5f} / {r['calibration'][m]['log_loss']:.5f}"
                           for m in ("uncalibrated", "platt", "isotonic"))] for r in results])
    memory = [] if quick else [peak_memory(1_000_000, 10_000), peak_memory(5_000_000, 50_000)]
    if memory:
        table("local training, peak memory", ["orders", "customers", "seconds", "peak RSS MB", "ROC AUC"],
              [[m["orders"], m["customers"], round(m["seconds"], 1), round(m["peak_rss_mb"]), round(m["roc_auc"], 4)]
               for m in memory])
    print(f"written {save('training', {'config': asdict(config), 'runs': results, 'peak_memory': memory})}")


def compare_calibrations(validation: bytes, holdout: bytes) -> dict[str, dict[str, float]]:
    """Both calibrations fitted on the validation slice's raw probabilities, scored on the hold-out."""
    valid, hold = ScoreSample.from_bytes(validation), ScoreSample.from_bytes(holdout)
    valid_raw = 1.0 / (1.0 + np.exp(-valid.margin.astype(np.float64)))
    hold_raw = 1.0 / (1.0 + np.exp(-hold.margin.astype(np.float64)))
    out = {"uncalibrated": {"brier": brier(hold.label, hold_raw), "log_loss": log_loss(hold.label, hold_raw)}}
    for method in calibration.METHODS:
        calibrated = calibration.fit(method, valid_raw, valid.label)(hold_raw)
        out[method] = {"brier": brier(hold.label, calibrated), "log_loss": log_loss(hold.label, calibrated)}
    return out
