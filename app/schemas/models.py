from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field, StrictBool

from app.domain.states import JobStatus
from app.schemas.common import ReadModel, RequestModel


class TrainingJobRead(ReadModel):
    id: str
    dataset_id: str
    status: JobStatus
    error: str | None
    attempts: int
    model_version: int | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class ModelSummary(ReadModel):
    version: int
    dataset_id: str
    status: str
    active: bool
    threshold: float
    metrics: dict[str, Any]
    training_seconds: float
    created_at: datetime
    activated_at: datetime | None


class ModelRead(ModelSummary):
    feature_names: list[str]
    feature_importance: dict[str, float]
    params: dict[str, Any]
    details: dict[str, Any]
    booster_format: str
    calibration: dict[str, Any] | None = Field(
        default=None, description='how the booster\'s probability is calibrated: {"method": "platt", "a", "b"} or '
        '{"method": "isotonic", "x", "y"}; null for versions trained before calibration (uncalibrated)')


class TrainingRequest(RequestModel):
    """Options of one training; no body means every default."""

    monotone_constraints: StrictBool = Field(
        default=True,
        description="train monotone where credit people agree on a direction (README, 'Reasons'); false when "
        "the company's data says otherwise. Recorded in the version's params.")


class EvaluationCreate(RequestModel):
    dataset_id: str = Field(pattern=r"^[A-Za-z0-9-]{1,64}$", description="a valid dataset of the company")


class EvaluationRead(ReadModel):
    id: str
    model_version: int
    dataset_id: str
    status: JobStatus
    metrics: dict[str, Any] | None = Field(description="hold-out style metrics, once the evaluation succeeded")
    error: str | None = None
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None


class ModelComparison(ReadModel):
    versions: list[int]
    metrics: dict[str, Any]
