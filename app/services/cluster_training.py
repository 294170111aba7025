"""Training on a Dask cluster (CREDITGATE_DASK_SCHEDULER): the training strategy app/runtime.py
picks instead of `training_worker.train_dataset` when a scheduler is configured. It runs where
every training runs (a `Compute` worker, off the event loop), reads the dataset as the local path
does, and drives the cluster as a Dask client: features per customer partition on the workers,
`xgboost.dask` across them (app/ml/distributed.py). It returns what the local path returns, so the
version is stored, explained and scored like any other."""

from __future__ import annotations

import time
from dataclasses import asdict
from typing import Any

from app.ml.distributed import train_on_cluster
from app.ml.training import TrainConfig
from app.services.training_worker import dataset_history

CONNECT_TIMEOUT = "30s"


def train_dataset_on_cluster(scheduler: str, partitions: int, database_url: str, dataset_id: str,
                             config: dict[str, Any]) -> dict[str, Any]:
    from distributed import Client

    started = time.perf_counter()
    history = dataset_history(database_url, dataset_id)
    loaded = time.perf_counter() - started
    with Client(scheduler, timeout=CONNECT_TIMEOUT, set_as_default=False) as client:
        workers = len(client.scheduler_info().get("workers", {})) or 1
        result = train_on_cluster(client, history, TrainConfig(**config), partitions or 2 * workers)
    out = asdict(result)
    out["timings"] = {"load_s": loaded, **result.timings}
    return out
