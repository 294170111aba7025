"""The decision path's scoring port and the models it keeps in memory.

`Scorer` is what a decision needs from a model: its feature list and, for rows of features, the
block probabilities with their exact TreeSHAP contributions. app/ml implements it twice (NumPy
TreeSHAP, XGBoost as the fallback) and picks one per model when it loads (`ml.scoring.load_scorer`).
A `LoadedModel` adds what the later stages need: the version's calibration (raw -> calibrated
probability, applied after scoring) and its reference percentiles (the reasons' comparisons).

Models are loaded once per version and found again by id, so an activation in another replica is
noticed through the company row every request already reads. A miss reads the database in a short
session of its own, so a decision served from memory opens none.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db import model_versions as versions_db
from app.db.model_versions import READ_FOR_SCORING, ModelVersion
from app.metrics import MODEL_LOAD
from app.ml import calibration as calibrations
from app.ml.model import ScoringModel
from app.ml.reference import Reference


class Scorer(Protocol):
    feature_names: Sequence[str]

    def score(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Block probabilities (float64, n) and contributions (log-odds, n x (features + 1), bias last)
        of float32 feature rows in `feature_names` order (NaN: unknown)."""
        ...

    def probability(self, X: np.ndarray) -> np.ndarray:
        """`score`'s probabilities alone (no contributions)."""
        ...


@dataclass(frozen=True)
class LoadedModel:
    model_id: str
    version: int
    threshold: float
    """On the calibrated scale (a version stored without a calibration: the raw one)."""
    scorer: Scorer
    calibration: Callable[[np.ndarray], np.ndarray] = calibrations.IDENTITY
    """Raw block probabilities -> calibrated ones (identity for versions stored without one)."""
    reference: Reference | None = None
    """The training rows' percentiles per feature (None for versions stored without them)."""


def load_model(row: ModelVersion) -> LoadedModel:
    """Parse the booster and build (and check) its scorer: tens of milliseconds."""
    started = time.perf_counter()
    model = ScoringModel.from_ubjson(row.booster, row.feature_names["names"], row.threshold, nthread=1)
    loaded = LoadedModel(row.id, row.version, model.threshold, model.scorer,
                         calibrations.from_json(row.calibration), Reference.from_json(row.reference))
    MODEL_LOAD.observe(time.perf_counter() - started)
    return loaded


class ModelCache:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], capacity: int = 64) -> None:
        self.sessions = sessions
        self.capacity = capacity
        self._models: OrderedDict[str, LoadedModel] = OrderedDict()
        self._version_ids: dict[tuple[str, int], str] = {}  # a version number never changes its id
        self._lock = asyncio.Lock()

    async def version_id(self, company_id: str, version: int) -> str | None:
        """The id of a company's model version, or None when it does not exist (not cached)."""
        key = (company_id, version)
        if (model_id := self._version_ids.get(key)) is None:
            async with self.sessions() as session:
                model_id = await versions_db.get_version_id(session, company_id, version)
            if model_id is not None:
                self._version_ids[key] = model_id
        return model_id

    async def get(self, model_id: str) -> LoadedModel:
        loaded = self._models.get(model_id)
        if loaded is not None:
            self._models.move_to_end(model_id)
            return loaded
        async with self._lock:
            if model_id in self._models:
                return self._models[model_id]
            async with self.sessions() as session:
                row = await session.get(ModelVersion, model_id, options=READ_FOR_SCORING)
            # Tens of milliseconds (the booster, the TreeSHAP tables and their check): not on the event loop.
            loaded = await asyncio.to_thread(load_model, row)
            self._models[model_id] = loaded
            while len(self._models) > self.capacity:
                self._models.popitem(last=False)
            return loaded
