"""Models in memory: loaded once per version, found again by id (so activations in another
replica are noticed through the company row every request already reads). A miss reads the
database in a short session of its own, so a decision served from memory opens none."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db import models as models_db
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
        self._version_ids: dict[tuple[str, int], str] = {}  # a version number never changes its id
        self._lock = asyncio.Lock()

    async def version_id(self, sessions: async_sessionmaker[AsyncSession], company_id: str,
                         version: int) -> str | None:
        """The id of a company's model version, or None when it does not exist (not cached)."""
        key = (company_id, version)
        if (model_id := self._version_ids.get(key)) is None:
            async with sessions() as session:
                model_id = await models_db.get_version_id(session, company_id, version)
            if model_id is not None:
                self._version_ids[key] = model_id
        return model_id

    async def get(self, sessions: async_sessionmaker[AsyncSession], model_id: str) -> LoadedModel:
        loaded = self._models.get(model_id)
        if loaded is not None:
            self._models.move_to_end(model_id)
            return loaded
        async with self._lock:
            if model_id in self._models:
                return self._models[model_id]
            async with sessions() as session:
                row = await session.get(ModelVersion, model_id)
            # Tens of milliseconds (the booster, the TreeSHAP tables and their check): not on the event loop.
            scoring = await asyncio.to_thread(ScoringModel.from_ubjson, row.booster, row.feature_names["names"],
                                              row.threshold, nthread=1)
            loaded = LoadedModel(row.id, row.version, scoring)
            self._models[model_id] = loaded
            while len(self._models) > self.capacity:
                self._models.popitem(last=False)
            return loaded
