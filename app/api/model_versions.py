"""Model versions: list, read, activate, compare and evaluate."""

from __future__ import annotations

from fastapi import APIRouter, status

from app.api.deps import CurrentPrincipal, DecisionsDep, EvaluationsDep, PageParams, SessionDep, Since, Until
from app.api.resources import OwnedEvaluation, OwnedModelVersion, OwnedModelVersions, dataset_of
from app.errors import InvalidInput
from app.schemas.common import problem_responses
from app.schemas.models import (
    EvaluationCreate,
    EvaluationPage,
    EvaluationRead,
    ModelComparison,
    ModelPage,
    ModelRead,
    ModelSummary,
)
from app.services import evaluations, shadow
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


@router.get("", response_model=ModelPage, responses=problem_responses(401, 422),
            summary="List the company's model versions with their hold-out metrics")
async def list_models(principal: CurrentPrincipal, session: SessionDep, page: PageParams) -> ModelPage:
    """Newest version first; `active` marks the one decisions use by default."""
    models, next_cursor = await service.list_page(session, principal, page)
    return ModelPage(items=[_summary(m, principal.company.active_model_id) for m in models], next_cursor=next_cursor)


@router.get("/compare", response_model=ModelComparison, responses=problem_responses(401, 404, 422),
            summary="Compare versions' hold-out metrics side by side, and a champion with its challenger")
async def compare_models(models: OwnedModelVersions, principal: CurrentPrincipal, session: SessionDep,
                         engine: DecisionsDep, since: Since = None, until: Until = None) -> ModelComparison:
    """Each metric's value per version and its difference from the first version named (the
    baseline). Each version was measured on its own dataset's hold-out; to compare them on the same
    orders, evaluate them on one dataset (`evaluate_model`). `shadow` compares a champion with its
    challenger on live decisions made in [`since`, `until`) (default: all): of the named versions,
    the pair where one scored the most of the other's decisions in shadow - how often they
    disagree, each one's block rate, and on the outcomes that arrived, each one's ROC AUC and
    confusion matrix."""
    if since is not None and until is not None and since >= until:
        raise InvalidInput("since must be before until", errors=[{"field": "since", "message": "not before until"}])
    await engine.log.flush()  # decisions and their shadow scores are written off the request path
    return ModelComparison(versions=[m.version for m in models], baseline=models[0].version,
                           metrics=service.compare(models),
                           shadow=await shadow.champion_vs_challenger(session, principal.company.id, models,
                                                                      since, until))


@router.get("/{version:int}", response_model=ModelRead, responses=problem_responses(401, 404, 422),
            summary="Read a model version")
async def read_model(model: OwnedModelVersion, principal: CurrentPrincipal) -> ModelRead:
    """Its hold-out metrics and threshold, features and their importance, training parameters
    and details."""
    return _summary(model, principal.company.active_model_id, full=True)


@router.post("/{version}/activate", response_model=ModelSummary, responses=problem_responses(401, 404, 422),
             summary="Make a version the one decisions use")
async def activate_model(model: OwnedModelVersion, principal: CurrentPrincipal, session: SessionDep) -> ModelSummary:
    """Decisions without `model_version` use it from the next request on, in every replica."""
    model = await service.activate_version(session, principal, model)
    return _summary(model, model.id)


@router.post("/{version}/evaluations", status_code=status.HTTP_202_ACCEPTED, response_model=EvaluationRead,
             responses=problem_responses(401, 404, 409, 422, 429),
             summary="Test a version on a labelled dataset (a queued job; poll the evaluation for its metrics)")
async def evaluate_model(model: OwnedModelVersion, body: EvaluationCreate, principal: CurrentPrincipal,
                         session: SessionDep, runner: EvaluationsDep) -> EvaluationRead:
    """The dataset (usually one with `purpose` evaluation) must be valid; its labelled orders are
    scored with this version and its threshold. Poll `read_evaluation` until `status` is
    `succeeded` (then `metrics` is set) or `failed`."""
    dataset = await dataset_of(session, principal, body.dataset_id)
    return _evaluation(await runner.request(session, principal, model, dataset), model.version)


@router.get("/{version}/evaluations", response_model=EvaluationPage, responses=problem_responses(401, 404, 422),
            summary="List a version's evaluations")
async def list_evaluations(model: OwnedModelVersion, session: SessionDep, page: PageParams) -> EvaluationPage:
    """Newest first, each with its status and, once succeeded, its metrics."""
    rows, next_cursor = await evaluations.list_page(session, model, page)
    return EvaluationPage(items=[_evaluation(e, model.version) for e in rows], next_cursor=next_cursor)


@router.get("/{version}/evaluations/{evaluation_id}", response_model=EvaluationRead,
            responses=problem_responses(401, 404, 422), summary="Read an evaluation")
async def read_evaluation(model: OwnedModelVersion, evaluation: OwnedEvaluation) -> EvaluationRead:
    """Its status and, once succeeded, the version's metrics on the evaluation dataset."""
    return _evaluation(evaluation, model.version)
