"""Resource dependencies: a route names the company's own dataset, model version, training job,
evaluation or decision, and receives it loaded - or the request answers 404, the same way for an
id of another company as for an id that never existed. Ownership is written here once."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Query

from app.api.deps import CurrentPrincipal, DecisionsDep, SessionDep
from app.errors import not_found
from app.services import datasets, decisions, evaluations, model_versions, policies, training
from app.services.datasets import Dataset
from app.services.decisions import Decision
from app.services.evaluations import ModelEvaluation
from app.services.model_versions import ModelVersion
from app.services.policies import Policy
from app.services.training import TrainingJob

MAX_VERSION = 2**31 - 1  # model versions are 32-bit integers in every database
ID_PATTERN = r"^[A-Za-z0-9-]{1,64}$"  # every id we issue is a UUID

DatasetId = Annotated[str, Path(pattern=ID_PATTERN, description="A dataset id", examples=[
    "6f1c2b1e-3a4d-4c8e-9f10-2b3c4d5e6f70"])]
Version = Annotated[int, Path(ge=1, le=MAX_VERSION, description="A model version number", examples=[1])]
JobId = Annotated[str, Path(pattern=ID_PATTERN, description="A training job id", examples=[
    "3c9e8a4f-1b2d-4e6f-8a0b-5c7d9e1f2a3b"])]
EvaluationId = Annotated[str, Path(pattern=ID_PATTERN, description="An evaluation id", examples=[
    "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"])]
DecisionId = Annotated[str, Path(pattern=ID_PATTERN, description="A decision id", examples=[
    "d4e5f6a7-b8c9-4d0e-9f1a-2b3c4d5e6f7a"])]


async def owned_dataset(dataset_id: DatasetId, principal: CurrentPrincipal, session: SessionDep) -> Dataset:
    return await dataset_of(session, principal, dataset_id)


async def dataset_of(session: SessionDep, principal: CurrentPrincipal, dataset_id: str) -> Dataset:
    """The company's dataset named in a path or a body, or 404."""
    dataset = await datasets.find(session, principal.company.id, dataset_id)
    if dataset is None:
        raise not_found("Dataset", dataset_id)
    return dataset


async def owned_model_version(version: Version, principal: CurrentPrincipal, session: SessionDep) -> ModelVersion:
    model = await model_versions.find(session, principal.company.id, version)
    if model is None:
        raise not_found("Model version", version)
    return model


async def owned_model_versions(
    principal: CurrentPrincipal,
    session: SessionDep,
    versions: Annotated[str, Query(max_length=200, pattern=r"^\s*\d{1,10}(\s*,\s*\d{1,10})+\s*$",
                                   description="Two or more comma-separated versions, e.g. 1,2", examples=["1,2"])],
) -> list[ModelVersion]:
    """Two or more of the company's versions named in the query, in the order given."""
    models = []
    for number in model_versions.parse_versions(versions, MAX_VERSION):
        model = await model_versions.find(session, principal.company.id, number)
        if model is None:
            raise not_found("Model version", number)
        models.append(model)
    return models


async def owned_training_job(job_id: JobId, principal: CurrentPrincipal, session: SessionDep) -> TrainingJob:
    job = await training.find_job(session, principal.company.id, job_id)
    if job is None:
        raise not_found("Training job", job_id)
    return job


OwnedDataset = Annotated[Dataset, Depends(owned_dataset)]
OwnedModelVersion = Annotated[ModelVersion, Depends(owned_model_version)]
OwnedTrainingJob = Annotated[TrainingJob, Depends(owned_training_job)]
OwnedModelVersions = Annotated[list[ModelVersion], Depends(owned_model_versions)]


async def owned_evaluation(evaluation_id: EvaluationId, model: OwnedModelVersion,
                           session: SessionDep) -> ModelEvaluation:
    evaluation = await evaluations.find(session, model, evaluation_id)
    if evaluation is None:
        raise not_found("Evaluation", evaluation_id)
    return evaluation


async def owned_decision(decision_id: DecisionId, principal: CurrentPrincipal, engine: DecisionsDep,
                         session: SessionDep) -> Decision:
    decision = await decisions.find(session, engine, principal.company.id, decision_id)
    if decision is None:
        raise not_found("Decision", decision_id)
    return decision


OwnedEvaluation = Annotated[ModelEvaluation, Depends(owned_evaluation)]
OwnedDecision = Annotated[Decision, Depends(owned_decision)]


PolicyVersion = Annotated[int, Path(ge=1, le=MAX_VERSION, description="A policy version number", examples=[1])]


async def owned_policy(version: PolicyVersion, principal: CurrentPrincipal, session: SessionDep) -> Policy:
    policy = await policies.find(session, principal.company.id, version)
    if policy is None:
        raise not_found("Policy version", version)
    return policy


OwnedPolicy = Annotated[Policy, Depends(owned_policy)]
