"""Training on a Dask cluster (two workers of a LocalCluster): the version it makes is as good as
the local one on the same data, and it is a normal version (stored booster, TreeSHAP scoring)."""

from __future__ import annotations

import asyncio
from dataclasses import asdict

import numpy as np
import pytest

from app.demo import generate
from app.ml.features import FEATURE_NAMES, build_features, feature_matrix
from app.ml.history import History
from app.ml.model import ScoringModel
from app.ml.training import TrainConfig
from app.runtime import build_runtime
from app.services.cluster_training import train_dataset_on_cluster
from app.services.training_worker import train_dataset
from benchmarks.training import store_dataset
from tests.conftest import make_settings

distributed = pytest.importorskip("distributed")
AUC_TOLERANCE = 0.005


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None,
                                  silence_logs=40) as local:
        yield local


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    from app.db.migrations import upgrade

    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('dask') / 'train.db'}"
    upgrade(url)
    data = generate(customers=400, orders=12_000, seed=11)
    return url, asyncio.run(store_dataset(url, data)), data


def test_cluster_version_matches_the_local_one(cluster, stored):
    url, dataset_id, data = stored
    config = asdict(TrainConfig(nthread=1))
    local = train_dataset(url, dataset_id, config)
    remote = train_dataset_on_cluster(cluster.scheduler_address, 4, url, dataset_id, config)
    assert abs(remote["metrics"]["roc_auc"] - local["metrics"]["roc_auc"]) <= AUC_TOLERANCE, (
        remote["metrics"]["roc_auc"], local["metrics"]["roc_auc"])
    assert remote["counts"] == local["counts"]  # the same rows in train, validation and hold-out
    assert remote["feature_names"] == local["feature_names"] and 0 < remote["threshold"] < 1
    # a version like a local one: calibrated, with its reference and scored slices
    assert remote["calibration"]["method"] == local["calibration"]["method"]
    assert set(remote["reference"]["features"]) == set(local["reference"]["features"])
    assert remote["validation"] and remote["holdout"] and "calibration" in remote["metrics"]
    model = ScoringModel.from_ubjson(remote["booster_ubjson"], remote["feature_names"], remote["threshold"])
    assert model.exact_probability  # explained by the NumPy TreeSHAP, checked against XGBoost at load
    rows = feature_matrix(build_features(data.orders.head(50), History(data.frames())), FEATURE_NAMES)
    proba, contributions = model.score(rows)
    assert np.allclose(contributions.sum(axis=1), model.margin(rows), atol=1e-4)
    assert ((proba >= 0) & (proba <= 1)).all()


def test_the_scheduler_setting_picks_the_cluster_strategy(tmp_path):
    plain = build_runtime(make_settings(f"sqlite+aiosqlite:///{tmp_path / 'a.db'}"))
    assert plain.training.trainer is train_dataset
    clustered = build_runtime(make_settings(f"sqlite+aiosqlite:///{tmp_path / 'b.db'}",
                                            dask_scheduler="tcp://127.0.0.1:8786", dask_partitions=6))
    assert clustered.training.trainer.func is train_dataset_on_cluster
    assert clustered.training.trainer.args == ("tcp://127.0.0.1:8786", 6)
