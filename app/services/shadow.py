"""Challenger versions in shadow: every decision of the company is also scored by each challenger,
off the request path - in the decision log's transaction that writes the decision, from the
features stored with it - and the score is kept beside the decision (never answered, never
acted on). A challenger equal to the active version is refused (409)."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import shadow as shadow_db
from app.db.base import utcnow
from app.db.companies import Company
from app.db.model_versions import ModelVersion
from app.db.shadow import ShadowScore, ShadowVersion
from app.domain.principal import Principal
from app.errors import Conflict
from app.ml.model import BILL, BLOCK
from app.services import audit
from app.services.scoring import ModelCache

__all__ = ["ShadowScore", "ShadowScorer"]
logger = logging.getLogger("app.shadow")


class ShadowScorer:
    """A decision log observer: scores the decisions it is given with their company's challengers.
    Who the challengers are is re-read at most every `ttl` seconds (and at once in the process
    that changed them)."""

    def __init__(self, models: ModelCache, ttl: float = 2.0) -> None:
        self.models = models
        self.ttl = ttl
        self._known: dict[str, tuple[float, list[str]]] = {}

    def forget(self, company_id: str) -> None:
        self._known.pop(company_id, None)

    async def _challengers(self, session: AsyncSession, company_ids: set[str]) -> dict[str, list[str]]:
        now = time.monotonic()
        stale = {c for c in company_ids if c not in self._known or self._known[c][0] < now}
        if stale:
            found = await shadow_db.challengers(session, sorted(stale))
            for company_id in stale:
                self._known[company_id] = (now + self.ttl, found.get(company_id, []))
        return {c: self._known[c][1] for c in company_ids if self._known[c][1]}

    async def observe(self, session: AsyncSession, decisions: Iterable[Mapping[str, Any]]) -> None:
        decisions = list(decisions)
        rows: list[dict] = []
        for company_id, model_ids in (await self._challengers(session, {d["company_id"] for d in decisions})).items():
            for model_id in model_ids:
                group = [d for d in decisions if d["company_id"] == company_id and d["model_id"] != model_id]
                if group:
                    rows += await self._score(model_id, group)
        if rows:
            await session.execute(insert(ShadowScore.__table__), rows)

    async def _score(self, model_id: str, decisions: list[Mapping[str, Any]]) -> list[dict]:
        """One vectorised scoring of the stored features; a challenger that cannot score is logged
        and skipped (shadow scores never hold the decisions back)."""
        try:
            model = await self.models.get(model_id)
            names = model.scorer.feature_names
            X = np.array([[np.nan if d["features"].get(n) is None else d["features"][n] for n in names]
                          for d in decisions], dtype=np.float32)
            raw = model.scorer.probability(X)  # no contributions: a challenger's reasons are never shown
            probability = model.calibration(raw).tolist()
        except Exception:
            logger.exception("challenger could not score", extra={"model_id": model_id})
            return []
        now = utcnow()
        return [{"decision_id": d["id"], "model_id": model_id, "company_id": d["company_id"],
                 "model_version": model.version, "probability_block": round(p, 6), "threshold": model.threshold,
                 "decision": BLOCK if p >= model.threshold else BILL, "created_at": now}
                for d, p in zip(decisions, probability, strict=True)]


async def add_challenger(session: AsyncSession, scorer: ShadowScorer, principal: Principal,
                         model: ModelVersion) -> ShadowVersion:
    company = await session.get(Company, principal.company.id)
    if company.active_model_id == model.id:
        raise Conflict(f"Version {model.version} is the active version; a challenger must be another one.")
    existing = await session.get(ShadowVersion, (company.id, model.id))
    if existing is not None:
        return existing
    challenger = ShadowVersion(company_id=company.id, model_id=model.id, created_by=principal.jti,
                               created_at=utcnow())
    session.add(challenger)
    audit.record(session, company_id=company.id, action="model.shadowed", subject_type="model",
                 subject_id=str(model.version), summary={"model_id": model.id}, actor=principal.jti)
    await session.flush()
    scorer.forget(company.id)
    return challenger


async def remove_challenger(session: AsyncSession, scorer: ShadowScorer, principal: Principal,
                            model: ModelVersion) -> None:
    if await shadow_db.remove(session, principal.company.id, model.id):
        audit.record(session, company_id=principal.company.id, action="model.unshadowed", subject_type="model",
                     subject_id=str(model.version), summary={"model_id": model.id}, actor=principal.jti)
    scorer.forget(principal.company.id)


async def scores_of(session: AsyncSession, decision_id: str) -> list[ShadowScore]:
    return await shadow_db.scores_of(session, decision_id)
