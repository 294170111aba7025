"""Models in memory: loaded once per version, found again by id (so activations in another
replica are noticed through the company row every request already reads)."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import ModelVersion
from app.ml.model import ScoringModel


@dataclass(frozen=True)
class LoadedModel:
    model_id: str
    version: int
    scoring: ScoringModel


class ModelCache:
    def __init__(self, capacity: int = 64) -> None:
        self.capacity = capacity
        self._models: OrderedDict[str, LoadedModel] = OrderedDict()
        self._lock = asyncio.Lock()

    async def get(self, session: AsyncSession, model: ModelVersion | str) -> LoadedModel:
        model_id = model if isinstance(model, str) else model.id
        loaded = self._models.get(model_id)
        if loaded is not None:
            self._models.move_to_end(model_id)
            return loaded
        async with self._lock:
            if model_id in self._models:
                return self._models[model_id]
            row = model if isinstance(model, ModelVersion) else await session.get(ModelVersion, model_id)
            scoring = ScoringModel.from_ubjson(row.booster, row.feature_names["names"], row.threshold, nthread=1)
            loaded = LoadedModel(row.id, row.version, scoring)
            self._models[model_id] = loaded
            while len(self._models) > self.capacity:
                self._models.popitem(last=False)
            return loaded
