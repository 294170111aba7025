"""Training: train a dataset on request, and the training jobs."""

from __future__ import annotations

from fastapi import APIRouter, status

from app.api.deps import CurrentPrincipal, PageParams, SessionDep, TrainingDep
from app.api.resources import OwnedDataset, OwnedTrainingJob
from app.schemas.common import Page, problem_responses
from app.schemas.models import TrainingJobRead, TrainingRequest
from app.services import training as service

router = APIRouter(tags=["training"])


@router.post("/v1/datasets/{dataset_id}/train", status_code=status.HTTP_202_ACCEPTED, response_model=TrainingJobRead,
             tags=["datasets"], responses=problem_responses(401, 404, 409, 422))
async def train_dataset(dataset: OwnedDataset, principal: CurrentPrincipal, session: SessionDep,
                        training: TrainingDep, body: TrainingRequest | None = None) -> TrainingJobRead:
    options = (body or TrainingRequest()).model_dump()
    return TrainingJobRead.model_validate(await training.request(session, principal, dataset, options))


@router.get("/v1/training-jobs", response_model=Page[TrainingJobRead], responses=problem_responses(401, 422))
async def list_jobs(principal: CurrentPrincipal, session: SessionDep, page: PageParams) -> Page[TrainingJobRead]:
    jobs, next_cursor = await service.list_jobs(session, principal, page)
    return Page(items=[TrainingJobRead.model_validate(j) for j in jobs], next_cursor=next_cursor)


@router.get("/v1/training-jobs/{job_id}", response_model=TrainingJobRead, responses=problem_responses(401, 404, 422))
async def read_job(job: OwnedTrainingJob) -> TrainingJobRead:
    return TrainingJobRead.model_validate(job)
