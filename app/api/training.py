"""Training: train a dataset on request, and the training jobs."""

from __future__ import annotations

from fastapi import APIRouter, status

from app.api.deps import CurrentPrincipal, PageParams, SessionDep, TrainingDep
from app.api.resources import OwnedDataset, OwnedTrainingJob
from app.schemas.common import problem_responses
from app.schemas.models import TrainingJobPage, TrainingJobRead, TrainingRequest
from app.services import training as service

router = APIRouter(tags=["training"])


@router.post("/v1/datasets/{dataset_id}/train", status_code=status.HTTP_202_ACCEPTED, response_model=TrainingJobRead,
             tags=["datasets"], responses=problem_responses(401, 404, 409, 422, 429),
             summary="Train a model on a valid dataset again (a queued job)")
async def train_dataset(dataset: OwnedDataset, principal: CurrentPrincipal, session: SessionDep,
                        training: TrainingDep, body: TrainingRequest | None = None) -> TrainingJobRead:
    """A valid training dataset trains by itself once complete; this queues another training of
    it (or returns the job already queued or running for it). Poll `read_training_job`. The
    optional body turns the monotone constraints off for this training."""
    options = (body or TrainingRequest()).model_dump()
    return TrainingJobRead.model_validate(await training.request(session, principal, dataset, options))


@router.post("/v1/models/retrain", status_code=status.HTTP_202_ACCEPTED, response_model=TrainingJobRead,
             tags=["models"], responses=problem_responses(401, 409, 422, 429),
             summary="Train a new version on everything known: every valid dataset plus the outcomes")
async def retrain(principal: CurrentPrincipal, session: SessionDep, training: TrainingDep,
                  body: TrainingRequest | None = None) -> TrainingJobRead:
    """Builds a training set from every valid training dataset of the company and the decided
    orders whose outcome arrived (POST /v1/outcomes), one fact per order id - the latest wins -
    with the same point-in-time features, and trains a new version on it (a queued job filed
    under the latest training dataset; poll `read_training_job`). The version's `details.sources`
    records the datasets and outcomes it learned from. 409 without a valid training dataset."""
    options = (body or TrainingRequest()).model_dump()
    return TrainingJobRead.model_validate(await training.retrain(session, principal, options))


@router.get("/v1/training-jobs", response_model=TrainingJobPage, responses=problem_responses(401, 422),
            summary="List the company's training jobs")
async def list_training_jobs(principal: CurrentPrincipal, session: SessionDep,
                             page: PageParams) -> TrainingJobPage:
    """Newest first: `queued`, `running`, then `succeeded` (with the `model_version` it made) or
    `failed` (with its `error`)."""
    jobs, next_cursor = await service.list_jobs(session, principal, page)
    return TrainingJobPage(items=[TrainingJobRead.model_validate(j) for j in jobs], next_cursor=next_cursor)


@router.get("/v1/training-jobs/{job_id}", response_model=TrainingJobRead, responses=problem_responses(401, 404, 422),
            summary="Read a training job")
async def read_training_job(job: OwnedTrainingJob) -> TrainingJobRead:
    """Its status, attempts, timings, and the model version it made or the error it failed with."""
    return TrainingJobRead.model_validate(job)
