"""Model versions: list, read, activate, compare and evaluate."""

from __future__ import annotations

from fastapi import APIRouter, status

from app.api.deps import CurrentPrincipal, EvaluationsDep, PageParams, SessionDep
from app.api.resources import OwnedEvaluation, OwnedModelVersion, OwnedModelVersions, dataset_of
from app.schemas.common import Page, problem_responses
from app.schemas.models import EvaluationCreate, EvaluationRead, ModelComparison, ModelRead, ModelSummary
from app.services import evaluations
from app.services import model_versions as service
from app.services.evaluations import ModelEvaluation
from app.services.model_versions import ModelVersion

router = APIRouter(prefix="/v1/models", tags=["models"])


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
                     details=model.details, booster_format=model.booster_format, calibration=model.calibration)


def _evaluation(evaluation: ModelEvaluation, version: int) -> EvaluationRead:
    return EvaluationRead(id=evaluation.id, model_version=version, dataset_id=evaluation.dataset_id,
                          status=evaluation.status, metrics=evaluation.metrics, error=evaluation.error,
                          created_at=evaluation.created_at, started_at=evaluation.started_at,
                          finished_at=evaluation.finished_at)


@router.get("", response_model=Page[ModelSummary], responses=problem_responses(401, 422))
async def list_models(principal: CurrentPrincipal, session: SessionDep, page: PageParams) -> Page[ModelSummary]:
    models, next_cursor = await service.list_page(session, principal, page)
    return Page(items=[_summary(m, principal.company.active_model_id) for m in models], next_cursor=next_cursor)


@router.get("/compare", response_model=ModelComparison, responses=problem_responses(401, 404, 422))
async def compare_models(models: OwnedModelVersions) -> ModelComparison:
    return ModelComparison(versions=[m.version for m in models], metrics=service.compare(models))


@router.get("/{version}", response_model=ModelRead, responses=problem_responses(401, 404, 422))
async def read_model(model: OwnedModelVersion, principal: CurrentPrincipal) -> ModelRead:
    return _summary(model, principal.company.active_model_id, full=True)


@router.post("/{version}/activate", response_model=ModelSummary, responses=problem_responses(401, 404, 422))
async def activate_model(model: OwnedModelVersion, principal: CurrentPrincipal, session: SessionDep) -> ModelSummary:
    model = await service.activate_version(session, principal, model)
    return _summary(model, model.id)


@router.post("/{version}/evaluations", status_code=status.HTTP_202_ACCEPTED, response_model=EvaluationRead,
             responses=problem_responses(401, 404, 409, 422),
             summary="Test a version on a labelled dataset (a queued job; poll the evaluation for its metrics)")
async def evaluate_model(model: OwnedModelVersion, body: EvaluationCreate, principal: CurrentPrincipal,
                         session: SessionDep, runner: EvaluationsDep) -> EvaluationRead:
    dataset = await dataset_of(session, principal, body.dataset_id)
    return _evaluation(await runner.request(session, principal, model, dataset), model.version)


@router.get("/{version}/evaluations", response_model=Page[EvaluationRead], responses=problem_responses(401, 404, 422))
async def list_evaluations(model: OwnedModelVersion, session: SessionDep, page: PageParams) -> Page[EvaluationRead]:
    rows, next_cursor = await evaluations.list_page(session, model, page)
    return Page(items=[_evaluation(e, model.version) for e in rows], next_cursor=next_cursor)


@router.get("/{version}/evaluations/{evaluation_id}", response_model=EvaluationRead,
            responses=problem_responses(401, 404, 422))
async def read_evaluation(model: OwnedModelVersion, evaluation: OwnedEvaluation) -> EvaluationRead:
    return _evaluation(evaluation, model.version)
