"""Real-time decisions: the engine that runs the pipeline (app/services/decision_pipeline.py) over
what it keeps in memory, and the stored decisions read back."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

from sqlalchemy.ext.asyncio import AsyncSession

from app.db import decisions as decisions_db
from app.db.base import utcnow
from app.db.decisions import Decision
from app.db.pages import fetch_page
from app.domain.principal import Principal
from app.errors import Conflict, not_found
from app.kit.pagination import PageRequest
from app.metrics import count_decisions
from app.schemas.decisions import DecisionRead, DecisionRequest
from app.services import decision_pipeline as stage
from app.services.customer_data import CustomerDataCache
from app.services.decision_log import DecisionLog
from app.services.scoring import LoadedModel, ModelCache

__all__ = ["Decision", "DecisionEngine"]


@dataclass(frozen=True)
class DecisionFilter:
    customer_id: str | None = None
    decision: str | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class DecisionEngine:
    """What the decision path keeps in memory: models, customers' stored history, and the log
    that writes decisions to the database off the request path. A decision served from memory
    opens no database session; a cache miss opens a short one of its own."""

    models: ModelCache
    customers: CustomerDataCache
    log: DecisionLog
    policy: stage.Policy = field(default_factory=stage.ModelThreshold)

    async def decide(self, principal: Principal, requests: Sequence[DecisionRequest], lang: str) -> list[DecisionRead]:
        """Decide every request (one vectorised scoring per model), store and audit them."""
        now = utcnow().replace(tzinfo=None)
        models = await self._models_for(principal, requests)
        stored = await self.customers.get(principal.company.id, principal.company.data_version,
                                          sorted({r.order.customer_id for r in requests}))
        rows = [stage.features(i, r, stored[r.order.customer_id], now) for i, r in enumerate(requests)]
        results: list[DecisionRead | None] = [None] * len(requests)
        for model, indexes in _groups(models):
            group = [rows[i] for i in indexes]
            scores = stage.score(model, group)
            verdicts = self.policy.apply(model, group, scores)
            probabilities = scores.probability.tolist()
            for k, i in enumerate(indexes):
                results[i] = stage.result(requests[i], rows[i], model, probabilities[k], scores.contributions[k],
                                          verdicts[k], lang, now)
        await self.log.write(stage.record(principal, requests, rows, results, models))
        count_decisions(results)  # type: ignore[arg-type]
        return results  # type: ignore[return-value]

    async def _models_for(self, principal: Principal, requests: Sequence[DecisionRequest]) -> list[LoadedModel]:
        by_version: dict[int | None, LoadedModel] = {}
        for request in requests:
            if request.model_version not in by_version:
                by_version[request.model_version] = await self._model(principal, request.model_version)
        return [by_version[r.model_version] for r in requests]

    async def _model(self, principal: Principal, version: int | None) -> LoadedModel:
        if version is None:
            active = principal.company.active_model_id
            if active is None:
                raise Conflict("No model is active yet: upload a training dataset (it trains by itself) or "
                               "activate a version with POST /v1/models/{version}/activate.")
            return await self.models.get(active)
        model_id = await self.models.version_id(principal.company.id, version)
        if model_id is None:
            raise not_found("Model version", version)
        return await self.models.get(model_id)


def _groups(models: list[LoadedModel]) -> list[tuple[LoadedModel, list[int]]]:
    """Indexes of the requests of each model, in first-seen order."""
    groups: dict[str, tuple[LoadedModel, list[int]]] = {}
    for i, model in enumerate(models):
        groups.setdefault(model.model_id, (model, []))[1].append(i)
    return list(groups.values())


LANGUAGES = {"pt": "pt-BR", "en": "en"}  # primary subtag -> the language of the reasons


@lru_cache(maxsize=256)
def language(accept_language: str | None) -> str:
    """The reasons' language: the supported one the Accept-Language header prefers (q-values
    honoured, `pt-PT` counts as Portuguese); English for anything else, no header included."""
    best, best_q = "en", 0.0
    for part in (accept_language or "").split(","):
        tag, _, parameters = part.partition(";")
        quality = 1.0
        for parameter in parameters.split(";"):
            name, _, value = parameter.strip().partition("=")
            if name.lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        supported = LANGUAGES.get(tag.strip().lower().split("-")[0])
        if supported is not None and quality > best_q:
            best, best_q = supported, quality
    return best


async def find(session: AsyncSession, engine: DecisionEngine, company_id: str, decision_id: str) -> Decision | None:
    await engine.log.flush()  # decisions are written off the request path: read your writes
    return await decisions_db.get_decision(session, company_id, decision_id)


async def list_page(session: AsyncSession, engine: DecisionEngine, principal: Principal, filters: DecisionFilter,
                    page: PageRequest) -> tuple[list[Decision], str | None]:
    await engine.log.flush()
    query = decisions_db.company_decisions(principal.company.id, customer_id=filters.customer_id,
                                           decision=filters.decision, since=filters.since, until=filters.until)
    return await fetch_page(session, query, decisions_db.PAGE_KEYS, page)
