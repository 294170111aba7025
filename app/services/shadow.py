"""Challenger versions in shadow: every decision of the company is also scored by each challenger,
off the request path - in the decision log's transaction that writes the decision, from the
features stored with it - and the score is kept beside the decision (never answered, never
acted on). A challenger equal to the active version is refused (409)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
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
from app.ml.drift import confusion
from app.ml.metrics import roc_auc
from app.ml.model import BILL, BLOCK
from app.schemas.models import PairConfusion, PairValues, ShadowComparison
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
            # The matrix is built here (pure Python in a thread would hold the GIL against the event
            # loop for up to a switch interval); XGBoost's prediction, which releases the GIL, and
            # the calibration run off the loop.
            X = _matrix(model.scorer.feature_names, decisions)
            probability = await asyncio.to_thread(_probabilities, model, X)
        except Exception:
            logger.exception("challenger could not score", extra={"model_id": model_id})
            return []
        now = utcnow()
        return [{"decision_id": d["id"], "model_id": model_id, "company_id": d["company_id"],
                 "model_version": model.version, "probability_block": round(p, 6), "threshold": model.threshold,
                 "decision": BLOCK if p >= model.threshold else BILL, "created_at": now}
                for d, p in zip(decisions, probability, strict=True)]


def _matrix(names: Sequence[str], decisions: list[Mapping[str, Any]]) -> np.ndarray:
    return np.array([[np.nan if d["features"].get(n) is None else d["features"][n] for n in names]
                     for d in decisions], dtype=np.float32)


def _probabilities(model, X: np.ndarray) -> list[float]:
    raw = model.scorer.probability(X)  # no contributions: a challenger's reasons are never shown
    return model.calibration(raw).tolist()


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


async def champion_vs_challenger(session: AsyncSession, company_id: str, models: Sequence[ModelVersion],
                                 since: datetime | None = None,
                                 until: datetime | None = None) -> ShadowComparison | None:
    """Of the named versions, the pair where one (the challenger) scored the most decisions of
    the other (the champion) in shadow, decided in [since, until): how often they disagree, each
    one's block rate, and against the outcomes that arrived for those decisions each one's ROC
    AUC and confusion matrix. None when no named version scored another's decisions."""
    by_id = {m.id: m for m in models}
    order = {m.id: i for i, m in enumerate(models)}
    pairs = await shadow_db.pair_counts(session, company_id, list(by_id), since, until)
    if not pairs:
        return None
    champion_id, challenger_id, n, disagree, champion_blocks, challenger_blocks = min(
        pairs, key=lambda p: (-p[2], order[p[0]], order[p[1]]))
    rows = await shadow_db.pair_outcomes(session, company_id, champion_id, challenger_id, since, until)
    values = np.array([r[:4] for r in rows], dtype=np.float64).reshape(-1, 4)
    blocked = np.array([r[4] == "blocked" for r in rows], dtype=bool)
    auc = {side: None for side in ("champion", "challenger")}
    matrix = dict(auc)
    if len(rows):
        for side, (p, t) in {"champion": (0, 1), "challenger": (2, 3)}.items():
            score = roc_auc(blocked.astype(np.int8), values[:, p])
            auc[side] = None if score is None else round(score, 6)
            matrix[side] = confusion(blocked, values[:, p], values[:, t])
    return ShadowComparison(
        champion=by_id[champion_id].version, challenger=by_id[challenger_id].version, decisions=n,
        disagreement=round(disagree / n, 6),
        block_rate=PairValues(champion=round(champion_blocks / n, 6), challenger=round(challenger_blocks / n, 6)),
        outcomes=len(rows), roc_auc=PairValues(**auc), confusion=PairConfusion(**matrix))
