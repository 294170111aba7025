"""The decision path's view of credit policies: the company's active policy, compiled once per
process, and its threshold on each model (from the version's validation slice), computed once.

A policy version never changes, so it is cached by id; an activation changes the company row,
which every request already reads (as model activations do). A cache miss reads the database in
a short session of its own."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db import model_versions as versions_db
from app.db.policies import Policy
from app.domain.principal import Principal
from app.ml.operating_points import OperatingPointError
from app.ml.policy import Rules, first_match, verdicts
from app.schemas.policies import PolicyCreate
from app.services import decision_pipeline as stage
from app.services.policies import threshold_on
from app.services.scoring import LoadedModel

logger = logging.getLogger("app.policies")


@dataclass(frozen=True)
class LoadedPolicy:
    id: str
    version: int
    body: PolicyCreate
    rules: Rules
    band: tuple[float, float] | None

    @classmethod
    def of(cls, row: Policy) -> LoadedPolicy:
        body = PolicyCreate.model_validate(row.body)
        band = None if body.review_band is None else (body.review_band.below, body.review_band.above)
        return cls(row.id, row.version, body, Rules.compile(row.body.get("rules", [])), band)


class RulesPolicy:
    """The `Policy` stage of a company with an active policy: its first matching rule decides,
    else the model's calibrated probability against the operating point's threshold, with the
    review band in between."""

    def __init__(self, policy: LoadedPolicy, thresholds: dict[str, float]) -> None:
        self.policy = policy
        self.thresholds = thresholds
        self.actions = tuple(rule.action for rule in policy.rules.rules)

    def apply(self, model: LoadedModel, rows: Sequence[stage.FeatureRow], scores: stage.Scores) -> list[stage.Verdict]:
        rules, threshold = self.policy.rules, self.thresholds[model.model_id]
        matches = rules.matches(rules.matrix(rows))
        first = first_match(matches)
        decided = verdicts(first, self.actions, scores.probability, threshold, self.policy.band)
        out = []
        for i, decision in enumerate(decided.tolist()):
            hits = tuple(rules.rules[j] for j in np.flatnonzero(matches[i]))
            out.append(stage.Verdict(decision, threshold, "rule" if first[i] >= 0 else "model", hits,
                                     self.policy.version))
        return out


class PolicyBook:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions
        self._policies: dict[str, LoadedPolicy] = {}
        self._thresholds: dict[tuple[str, str], float] = {}

    async def for_company(self, principal: Principal, models: Sequence[LoadedModel]) -> stage.Policy:
        policy_id = principal.company.active_policy_id
        if policy_id is None:
            return stage.MODEL_THRESHOLD
        policy = self._policies.get(policy_id) or await self._load(policy_id)
        thresholds = {}
        for model in models:
            key = (policy_id, model.model_id)
            if (threshold := self._thresholds.get(key)) is None:
                threshold = self._thresholds[key] = await self._threshold(policy, model)
            thresholds[model.model_id] = threshold
        return RulesPolicy(policy, thresholds)

    async def _load(self, policy_id: str) -> LoadedPolicy:
        async with self.sessions() as session:
            row = await session.get(Policy, policy_id)
        self._policies[policy_id] = loaded = LoadedPolicy.of(row)
        return loaded

    async def _threshold(self, policy: LoadedPolicy, model: LoadedModel) -> float:
        validation = None
        if policy.body.operating_point.strategy != "max_f1":
            async with self.sessions() as session:
                validation = await versions_db.validation_sample(session, model.model_id)
        try:
            return threshold_on(policy.body, model.threshold, validation)
        except OperatingPointError as exc:
            logger.warning("operating point not computable for this model; its own threshold decides",
                           extra={"policy_version": policy.version, "model_version": model.version, "reason": str(exc)})
            return model.threshold
