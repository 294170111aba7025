"""Challenger versions in shadow: every decision of the company is also scored by each challenger,
off the request path and off the decision log's commit - the log hands each commit's decisions
over, and a background task scores what accumulated about once a second, from the features stored
with each decision, in one transaction of its own - and the score is kept beside the decision
(never answered, never acted on). A challenger equal to the active version is refused (409).

Nothing is lost when the process dies before scoring what it was handed: at start, the task first
scores every decision made since a challenger was added that has no score from it. A score is
stored once per (decision, challenger): what is already stored is skipped (a replica catching up
on decisions another one is scoring)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db import shadow as shadow_db
from app.db.base import utcnow
from app.db.companies import Company
from app.db.engine import transaction
from app.db.model_versions import ModelVersion
from app.db.shadow import ShadowScore, ShadowVersion
from app.domain.principal import Principal
from app.errors import Conflict
from app.kit import tasks
from app.ml.drift import confusion
from app.ml.metrics import roc_auc
from app.ml.model import BILL, BLOCK
from app.schemas.models import PairConfusion, PairValues, ShadowComparison
from app.services import audit
from app.services.scoring import ModelCache

__all__ = ["ShadowScore", "ShadowScorer"]
logger = logging.getLogger("app.shadow")
INTERVAL_SECONDS = 1.0
"""How long committed decisions wait to be scored: one larger scoring a second rather than one per
commit (every ~20 ms under load) keeps the challenger's work out of all but a few requests' way."""
MAX_PER_PASS = 5_000
RETRY_SECONDS = 2.0


class ShadowScorer:
    """A decision log follower: scores the committed decisions it is handed with their company's
    challengers. Who the challengers are is re-read at most every `ttl` seconds (and at once in the
    process that changed them)."""

    def __init__(self, models: ModelCache, sessions: async_sessionmaker[AsyncSession], ttl: float = 2.0,
                 interval: float = INTERVAL_SECONDS) -> None:
        self.models = models
        self.sessions = sessions
        self.ttl = ttl
        self.interval = interval
        self._known: dict[str, tuple[float, list[str]]] = {}
        self._pending: list[Mapping[str, Any]] = []
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self._task: asyncio.Task | None = None

    def forget(self, company_id: str) -> None:
        self._known.pop(company_id, None)

    def committed(self, decisions: list[dict[str, Any]]) -> None:
        self._pending.extend(decisions)
        self._wake.set()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="shadow-scorer")

    async def stop(self) -> None:
        await tasks.cancel(self._task)
        self._task = None

    async def flush(self) -> None:
        """Score what was handed over so far (read-your-writes for the decisions' shadow scores); a
        failure is logged and left to the background task, never raised to a reader."""
        try:
            while self._pending:
                await self._pass()
        except Exception:
            logger.exception("shadow scores not written yet, the scorer retries")

    async def _run(self) -> None:
        while True:
            try:
                await self.catch_up()
                break
            except Exception:
                logger.exception("challengers could not catch up yet, retrying")
                await asyncio.sleep(RETRY_SECONDS)
        while True:
            await self._wake.wait()
            if len(self._pending) < MAX_PER_PASS:
                await asyncio.sleep(self.interval)
            self._wake.clear()
            try:
                await self._pass()
            except Exception:
                logger.exception("shadow scores not written yet, retrying")
                await asyncio.sleep(RETRY_SECONDS)
            if self._pending:
                self._wake.set()

    async def _pass(self) -> None:
        async with self._lock:
            batch, self._pending = self._pending[:MAX_PER_PASS], self._pending[MAX_PER_PASS:]
            try:
                async with transaction(self.sessions) as session:
                    await self._score_with_challengers(session, batch)
            except BaseException:
                self._pending[:0] = batch
                raise

    async def catch_up(self) -> int:
        """Score the decisions made since each challenger was added that it has not scored (handed
        to a process that died before scoring them). Returns how many decisions were scored."""
        done = 0
        while True:
            async with self.sessions() as session:
                missed = await shadow_db.unscored(session, MAX_PER_PASS)
            if not missed:
                return done
            async with self._lock, transaction(self.sessions) as session:
                stored = await self._insert(session, missed)
            if not stored:  # a challenger that cannot score: logged by _score, not retried forever
                return done
            done += stored

    async def _challengers(self, session: AsyncSession, company_ids: set[str]) -> dict[str, list[str]]:
        now = time.monotonic()
        stale = {c for c in company_ids if c not in self._known or self._known[c][0] < now}
        if stale:
            found = await shadow_db.challengers(session, sorted(stale))
            for company_id in stale:
                self._known[company_id] = (now + self.ttl, found.get(company_id, []))
        return {c: self._known[c][1] for c in company_ids if self._known[c][1]}

    async def _score_with_challengers(self, session: AsyncSession, decisions: Iterable[Mapping[str, Any]]) -> None:
        """Score `decisions` with their companies' challengers and store the scores in `session`."""
        decisions = list(decisions)
        wanted: list[tuple[str, Mapping[str, Any]]] = []
        challengers = await self._challengers(session, {d["company_id"] for d in decisions})
        for company_id, model_ids in challengers.items():
            for model_id in model_ids:
                wanted += [(model_id, d) for d in decisions
                           if d["company_id"] == company_id and d["model_id"] != model_id]
        await self._insert(session, wanted)

    async def _insert(self, session: AsyncSession, wanted: Sequence[tuple[str, Mapping[str, Any]]]) -> int:
        """Score each (challenger, decision) not scored yet and store the scores; returns how many."""
        by_model: dict[str, list[Mapping[str, Any]]] = {}
        for model_id, decision in wanted:
            by_model.setdefault(model_id, []).append(decision)
        rows: list[dict] = []
        for model_id, group in by_model.items():
            scored = await shadow_db.scored(session, model_id, [d["id"] for d in group])
            group = [d for d in group if d["id"] not in scored]
            if group:
                rows += await self._score(model_id, group)
        if rows:
            await session.execute(insert(ShadowScore.__table__), rows)
        return len(rows)

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
