"""Fixtures: a synthetic dataset with a known signal, its features and a trained model.

Session-scoped: built once (about a second), shared read-only by the ML tests.
"""

import polars as pl
import pytest

from app.ml.features import build_features
from app.ml.model import ScoringModel
from app.ml.training import TrainConfig, TrainingResult, train

from .synthetic import Dataset, make_dataset


@pytest.fixture(scope="session")
def dataset() -> Dataset:
    return make_dataset(n_orders=4000, n_customers=300, seed=7)


@pytest.fixture(scope="session")
def features(dataset: Dataset) -> pl.DataFrame:
    return build_features(dataset.orders, dataset.history())


@pytest.fixture(scope="session")
def config() -> TrainConfig:
    return TrainConfig()


@pytest.fixture(scope="session")
def trained(features: pl.DataFrame, config: TrainConfig) -> TrainingResult:
    return train(features, config)


@pytest.fixture(scope="session")
def model(trained: TrainingResult) -> ScoringModel:
    return trained.model(nthread=1)
