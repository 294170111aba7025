"""Credit policies: versioned per company, validated on creation, one active; the threshold each
operating point gives on a model's validation slice; activation refused when it does not fit.

What the decision path needs of the active policy is `PolicyBook` (app/services/policy_book.py)."""

from __future__ import annotations

from typing import Any

import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import changes
from app.db import model_versions as versions_db
from app.db import policies as policies_db
from app.db.base import utcnow
from app.db.companies import Company
from app.db.model_versions import ModelVersion
from app.db.numbering import add_next_version
from app.db.pages import fetch_page
from app.db.policies import Policy
from app.domain.principal import Principal
from app.errors import Conflict
from app.kit.pagination import PageRequest
from app.ml.artifacts import ScoreSample
from app.ml.operating_points import OperatingPointError, threshold_for
from app.schemas.policies import PolicyCreate
from app.services import audit

__all__ = ["Policy"]


async def create(session: AsyncSession, principal: Principal, body: PolicyCreate) -> Policy:
    stored = body.model_dump(mode="json", by_alias=True, exclude_none=True)
    policy = await add_next_version(session, Policy, principal.company.id, lambda version: Policy(
        company_id=principal.company.id, version=version, name=body.name, body=stored, created_by=principal.jti))
    if policy is None:
        raise Conflict("Could not allocate a policy version number; retry.")
    audit.record(session, company_id=principal.company.id, action="policy.created", subject_type="policy",
                 subject_id=str(policy.version), summary={"name": body.name, "rules": len(body.rules),
                                                          "operating_point": stored["operating_point"]},
                 actor=principal.jti)
    return policy


async def find(session: AsyncSession, company_id: str, version: int) -> Policy | None:
    return await policies_db.get_version(session, company_id, version)


async def list_page(session: AsyncSession, principal: Principal, page: PageRequest) -> tuple[list[Policy], str | None]:
    return await fetch_page(session, policies_db.company_policies(principal.company.id), policies_db.PAGE_KEYS, page)


def body_of(policy: Policy) -> PolicyCreate:
    return PolicyCreate.model_validate(policy.body)


def threshold_on(body: PolicyCreate, model_threshold: float, validation: bytes | None) -> float:
    """The operating point's threshold on a model: its own for max_f1, else computed from the
    version's scored validation slice."""
    point = body.operating_point
    if point.strategy == "max_f1":
        return model_threshold
    if validation is None:
        raise OperatingPointError("this model version keeps no scored validation slice (trained before "
                                  "operating points existed): retrain it, or use max_f1")
    return threshold_for(ScoreSample.from_bytes(validation), point.strategy, point.params())


async def active_model(session: AsyncSession, company_id: str) -> ModelVersion | None:
    company = await session.get(Company, company_id)
    return None if company.active_model_id is None else await session.get(ModelVersion, company.active_model_id)


async def threshold_for_active_model(session: AsyncSession, company_id: str,
                                     body: PolicyCreate) -> tuple[float | None, int | None]:
    """(threshold, model version) for the company's active model; (None, None) without one."""
    model = await active_model(session, company_id)
    if model is None:
        return None, None
    validation = None if body.operating_point.strategy == "max_f1" else \
        await versions_db.validation_sample(session, model.id)
    try:
        return threshold_on(body, model.threshold, validation), model.version
    except OperatingPointError:
        return None, model.version


async def activate(session: AsyncSession, principal: Principal, policy: Policy) -> tuple[Policy, float | None]:
    """Make the policy the company's active one, if its operating point fits the active model."""
    body = body_of(policy)
    model = await active_model(session, principal.company.id)
    threshold = None
    if model is not None:
        threshold = _fitting_threshold(body, model, await versions_db.validation_sample(session, model.id))
    company = await session.get(Company, principal.company.id)
    previous = company.active_policy_id
    company.active_policy_id, policy.activated_at = policy.id, utcnow()
    audit.record(session, company_id=company.id, action="policy.activated", subject_type="policy",
                 subject_id=str(policy.version),
                 summary={"policy_id": policy.id, "previous_policy_id": previous, "threshold": threshold,
                          "model_version": model.version if model else None}, actor=principal.jti)
    changes.company_changed(session, company.id)
    return policy, threshold


async def deactivate(session: AsyncSession, principal: Principal) -> None:
    """Back to the model's own threshold."""
    company = await session.get(Company, principal.company.id)
    if company.active_policy_id is not None:
        audit.record(session, company_id=company.id, action="policy.deactivated", subject_type="policy",
                     subject_id=company.active_policy_id, actor=principal.jti)
        company.active_policy_id = None
        changes.company_changed(session, company.id)


def _fitting_threshold(body: PolicyCreate, model: ModelVersion, validation: bytes | None) -> float:
    """The threshold, if it fits the model's validation scores: some orders on each side of it,
    and a review band that does not swallow every order."""
    try:
        threshold = threshold_on(body, model.threshold, validation)
    except OperatingPointError as exc:
        raise Conflict(f"Policy does not fit model version {model.version}: {exc}.") from exc
    if validation is None:
        return threshold
    scores = ScoreSample.from_bytes(validation).probability
    low, high = float(scores.min()), float(scores.max())
    if not low < threshold <= high:
        raise Conflict(f"Policy threshold {threshold:.4f} is outside model version {model.version}'s validation "
                       f"scores ({low:.4f} to {high:.4f}): every order would get the same verdict.")
    band = body.review_band
    if band is not None and np.all((scores >= threshold - band.below) & (scores < threshold + band.above)):
        raise Conflict(f"The review band [{threshold - band.below:.4f}, {threshold + band.above:.4f}) holds every "
                       f"validation order of model version {model.version}: an analyst would see them all.")
    return threshold


def read_values(policy: Policy, active_id: str | None, threshold: float | None,
                model_version: int | None) -> dict[str, Any]:
    body = policy.body
    return {"version": policy.version, "name": policy.name, "active": policy.id == active_id,
            "rules": body.get("rules", []), "operating_point": body.get("operating_point", {}),
            "review_band": body.get("review_band"), "threshold": threshold, "model_version": model_version,
            "created_at": policy.created_at, "activated_at": policy.activated_at}
