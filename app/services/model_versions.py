"""The model registry: versions, activation and comparison."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.db import changes
from app.db import model_versions as versions_db
from app.db.base import utcnow
from app.db.companies import Company
from app.db.model_versions import ModelVersion
from app.db.numbering import add_next_version
from app.db.pages import fetch_page
from app.db.training_jobs import TrainingJob
from app.domain.principal import Principal
from app.errors import Conflict, InvalidInput
from app.kit.pagination import PageRequest
from app.services import audit

__all__ = ["ModelVersion"]
COMPARED = ("accuracy", "precision", "recall", "f1", "roc_auc", "pr_auc", "log_loss", "brier", "threshold")


async def record_version(session: AsyncSession, job: TrainingJob, result: dict[str, Any]) -> ModelVersion:
    """Store a trained model as the company's next version (and activate it when asked to)."""
    model = await add_next_version(session, ModelVersion, job.company_id,
                                   lambda version: _model_from_result(job, version, result))
    if model is None:
        raise Conflict("Could not allocate a model version number; retry.")
    company = await session.get(Company, job.company_id)
    if company.auto_activate_models:
        activate(session, company, model, actor=audit.SYSTEM_ACTOR)
    return model


def _model_from_result(job: TrainingJob, version: int, result: dict[str, Any]) -> ModelVersion:
    timings = result["timings"]
    return ModelVersion(
        company_id=job.company_id,
        version=version,
        dataset_id=job.dataset_id,
        job_id=job.id,
        feature_names={"names": result["feature_names"]},
        params=result["params"] | {"config": result.get("config", {})},
        threshold=result["threshold"],
        booster=result["booster_ubjson"],
        metrics=result["metrics"],
        feature_importance=result["feature_importance"],
        details={"counts": result["counts"], "best_iteration": result["best_iteration"], "timings": timings}
        | ({"sources": result["sources"]} if result.get("sources") else {}),
        training_seconds=round(sum(timings.values()), 3),
        calibration=result.get("calibration"),
        reference=result.get("reference"),
        validation=result.get("validation"),
        holdout=result.get("holdout"),
    )


def activate(session: AsyncSession, company: Company, model: ModelVersion, actor: str) -> None:
    previous = company.active_model_id
    company.active_model_id = model.id
    model.activated_at = utcnow()
    audit.record(session, company_id=company.id, action="model.activated", subject_type="model",
                 subject_id=str(model.version), summary={"model_id": model.id, "previous_model_id": previous},
                 actor=actor)
    changes.company_changed(session, company.id)


async def find(session: AsyncSession, company_id: str, version: int) -> ModelVersion | None:
    return await versions_db.get_version(session, company_id, version)


async def list_page(session: AsyncSession, principal: Principal,
                    page: PageRequest) -> tuple[list[ModelVersion], str | None]:
    query = versions_db.company_versions(principal.company.id)
    return await fetch_page(session, query, versions_db.VERSION_PAGE_KEYS, page)


async def activate_version(session: AsyncSession, principal: Principal, model: ModelVersion) -> ModelVersion:
    company = await session.get(Company, principal.company.id)
    if company.active_model_id != model.id:
        activate(session, company, model, actor=principal.jti)
    return model


def compare(models: list[ModelVersion]) -> dict[str, Any]:
    """Metrics side by side; deltas are each version minus the first one named (the baseline)."""
    base = models[0]
    rows: dict[str, Any] = {}
    for name in COMPARED:
        values = {str(m.version): _metric(m, name) for m in models}
        first = _metric(base, name)
        deltas = {
            str(m.version): (None if v is None or first is None else round(v - first, 6))
            for m in models[1:] for v in [_metric(m, name)]
        }
        rows[name] = {"values": values, "deltas": deltas}
    return rows


def _metric(model: ModelVersion, name: str) -> float | None:
    return model.threshold if name == "threshold" else model.metrics.get(name)


def parse_versions(raw: str, largest: int) -> list[int]:
    try:
        versions = [int(part) for part in raw.split(",") if part.strip()]
    except ValueError as exc:
        raise InvalidInput("versions must be comma-separated version numbers, e.g. 1,2",
                           errors=[{"field": "versions", "message": "not a list of integers"}]) from exc
    if any(not 1 <= v <= largest for v in versions):
        raise InvalidInput(f"versions must be between 1 and {largest}",
                           errors=[{"field": "versions", "message": f"a version is outside 1..{largest}"}])
    if len(versions) < 2 or len(set(versions)) != len(versions):
        raise InvalidInput("name at least two different versions, e.g. versions=1,2",
                           errors=[{"field": "versions", "message": "need two or more distinct versions"}])
    return versions
