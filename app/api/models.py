"""Model versions: list, read, activate, compare and evaluate; training jobs."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, status

from app.api.deps import CurrentPrincipal, SessionDep, forget_company
from app.db import models as models_db
from app.db.models import ModelEvaluation, ModelVersion
from app.schemas.common import problem_responses
from app.schemas.models import (
    EvaluationCreate,
    EvaluationRead,
    ModelComparison,
    ModelRead,
    ModelSummary,
    TrainingJobRead,
)
from app.services import datasets as datasets_service
from app.services import models as service
from app.services import training

router = APIRouter(tags=["models"])


def _summary(model: ModelVersion, active_id: str | None, full: bool = False) -> ModelSummary:
    values = {
        "version": model.version, "dataset_id": model.dataset_id, "status": model.status,
        "active": model.id == active_id, "threshold": model.threshold, "metrics": model.metrics,
        "training_seconds": model.training_seconds, "created_at": model.created_at,
        "activated_at": model.activated_at,
    }
    if not full:
        return ModelSummary(**values)
    return ModelRead(**values, feature_names=model.feature_names["names"],
                     feature_importance=model.feature_importance, params=model.params,
                     details=model.details, booster_format=model.booster_format)


def _evaluation(evaluation: ModelEvaluation, version: int) -> EvaluationRead:
    return EvaluationRead(id=evaluation.id, model_version=version, dataset_id=evaluation.dataset_id,
                          metrics=evaluation.metrics, created_at=evaluation.created_at)


@router.post("/v1/datasets/{dataset_id}/train", status_code=status.HTTP_202_ACCEPTED,
             response_model=TrainingJobRead, tags=["datasets"], responses=problem_responses(401, 404, 409))
async def train_dataset(dataset_id: str, request: Request, principal: CurrentPrincipal,
                        session: SessionDep) -> TrainingJobRead:
    dataset = await datasets_service.get_owned(session, principal, dataset_id)
    job = await training.request_training(session, request.app.state.training, principal, dataset)
    return TrainingJobRead.model_validate(job)


@router.get("/v1/training-jobs", response_model=list[TrainingJobRead], responses=problem_responses(401))
async def list_jobs(principal: CurrentPrincipal, session: SessionDep) -> list[TrainingJobRead]:
    return [TrainingJobRead.model_validate(j) for j in await models_db.list_jobs(session, principal.company.id)]


@router.get("/v1/training-jobs/{job_id}", response_model=TrainingJobRead, responses=problem_responses(401, 404))
async def read_job(job_id: str, principal: CurrentPrincipal, session: SessionDep) -> TrainingJobRead:
    return TrainingJobRead.model_validate(await training.get_job(session, principal, job_id))


@router.get("/v1/models", response_model=list[ModelSummary], responses=problem_responses(401))
async def list_models(principal: CurrentPrincipal, session: SessionDep) -> list[ModelSummary]:
    models = await models_db.list_versions(session, principal.company.id)
    return [_summary(m, principal.company.active_model_id) for m in models]


@router.get("/v1/models/compare", response_model=ModelComparison, responses=problem_responses(401, 404, 422))
async def compare_models(
    principal: CurrentPrincipal,
    session: SessionDep,
    versions: Annotated[str, Query(description="Comma-separated versions, e.g. 1,2", examples=["1,2"])],
) -> ModelComparison:
    numbers = service.parse_versions(versions)
    models = [await service.get_owned(session, principal, n) for n in numbers]
    return ModelComparison(versions=numbers, metrics=service.compare(models))


@router.get("/v1/models/{version}", response_model=ModelRead, responses=problem_responses(401, 404))
async def read_model(version: int, principal: CurrentPrincipal, session: SessionDep) -> ModelRead:
    model = await service.get_owned(session, principal, version)
    return _summary(model, principal.company.active_model_id, full=True)


@router.post("/v1/models/{version}/activate", response_model=ModelSummary, responses=problem_responses(401, 404))
async def activate_model(version: int, request: Request, principal: CurrentPrincipal,
                         session: SessionDep) -> ModelSummary:
    model = await service.activate_version(session, principal, version)
    forget_company(request, session, principal.company.id)
    return _summary(model, model.id)


@router.post("/v1/models/{version}/evaluations", status_code=status.HTTP_201_CREATED,
             response_model=EvaluationRead, responses=problem_responses(401, 404, 409, 422))
async def evaluate_model(version: int, body: EvaluationCreate, request: Request, principal: CurrentPrincipal,
                         session: SessionDep) -> EvaluationRead:
    model = await service.get_owned(session, principal, version)
    evaluation = await service.evaluate(session, request.app.state.training, principal, model, body.dataset_id)
    return _evaluation(evaluation, model.version)


@router.get("/v1/models/{version}/evaluations", response_model=list[EvaluationRead],
            responses=problem_responses(401, 404))
async def list_evaluations(version: int, principal: CurrentPrincipal, session: SessionDep) -> list[EvaluationRead]:
    model = await service.get_owned(session, principal, version)
    return [_evaluation(e, version) for e in await models_db.list_evaluations(session, model.id)]
