from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from app.domain.states import JobStatus, ModelStatus
from app.schemas.common import Page, ReadModel, RequestModel


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


class ConfusionMatrix(BaseModel):
    """Order counts at the threshold: `matrix[actual][predicted]`, both in `labels` order
    ([[billed as billed, billed as blocked], [blocked as billed, blocked as blocked]])."""

    labels: list[str] = Field(examples=[["billed", "blocked"]])
    matrix: list[list[int]] = Field(examples=[[[812, 64], [51, 273]]])
    rows: str = Field(default="actual", description="what the rows count")
    columns: str = Field(default="predicted", description="what the columns count")


class Support(BaseModel):
    """How many hold-out orders each outcome had."""

    billed: int
    blocked: int
    total: int


class ModelMetrics(BaseModel):
    """Metrics of a version on held-out (or evaluation) orders; the positive class is `blocked`.
    Keys added later arrive as extra properties (older versions lack them)."""

    model_config = ConfigDict(extra="allow")

    accuracy: float
    precision: float
    recall: float
    f1: float
    roc_auc: float | None = Field(description="null when the orders had one outcome only")
    pr_auc: float | None = Field(default=None, description="average precision; null without blocked orders")
    log_loss: float | None = None
    brier: float | None = Field(default=None, description="mean squared error of the block probability")
    confusion_matrix: ConfusionMatrix
    support: Support | None = None
    threshold: float = Field(description="block when probability_block >= threshold")


class ModelSummary(ReadModel):
    version: int
    dataset_id: str
    status: ModelStatus
    active: bool
    threshold: float
    metrics: ModelMetrics
    training_seconds: float
    created_at: datetime
    activated_at: datetime | None


class ModelRead(ModelSummary):
    feature_names: list[str]
    feature_importance: dict[str, float]
    params: dict[str, Any] = Field(description="the XGBoost parameters it was trained with")
    details: dict[str, Any] = Field(description="row counts, best iteration and timings of the training")
    booster_format: str
    calibration: dict[str, Any] | None = Field(
        default=None, description='how the booster\'s probability is calibrated: {"method": "platt", "a", "b"} or '
        '{"method": "isotonic", "x", "y"}; null for versions trained before calibration (uncalibrated)')


class TrainingRequest(RequestModel):
    """Options of one training; no body means every default."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"monotone_constraints": True}]})

    monotone_constraints: StrictBool = Field(
        default=True,
        description="train monotone where credit people agree on a direction (README, 'Reasons'); false when "
        "the company's data says otherwise. Recorded in the version's params.")


class EvaluationCreate(RequestModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"dataset_id": "6f1c2b1e-3a4d-4c8e-9f10-2b3c4d5e6f70"}]})

    dataset_id: str = Field(pattern=r"^[A-Za-z0-9-]{1,64}$", description="a valid dataset of the company")


class EvaluationRead(ReadModel):
    id: str
    model_version: int
    dataset_id: str
    status: JobStatus
    metrics: ModelMetrics | None = Field(description="hold-out style metrics, once the evaluation succeeded")
    error: str | None = None
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None


class MetricComparison(BaseModel):
    """One metric of the compared versions (keys are version numbers)."""

    values: dict[str, float | None] = Field(examples=[{"1": 0.861, "2": 0.874}])
    deltas: dict[str, float | None] = Field(description="each other version minus the baseline",
                                            examples=[{"2": 0.013}])


class PairValues(BaseModel):
    """One figure of the champion and of its challenger."""

    champion: float | None
    challenger: float | None


class PairConfusion(BaseModel):
    """Each one's confusion matrix against the outcomes (its own threshold)."""

    champion: ConfusionMatrix | None
    challenger: ConfusionMatrix | None


class ShadowComparison(BaseModel):
    """A champion and its challenger on the same live decisions: those the champion made that
    the challenger scored in shadow, within the period asked."""

    champion: int = Field(description="the version that made the decisions", examples=[1])
    challenger: int = Field(description="the version that scored them in shadow", examples=[2])
    decisions: int = Field(description="decisions of the champion with a shadow score of the challenger",
                           examples=[1200])
    disagreement: float | None = Field(description="share of those decisions where the challenger's decision "
                                                   "(bill or block) differs from the champion's", examples=[0.045])
    block_rate: PairValues = Field(description="each one's share of block decisions over them")
    outcomes: int = Field(description="those decisions whose outcome arrived (the latest one of each)",
                          examples=[310])
    roc_auc: PairValues = Field(description="each one's ROC AUC against the outcomes (blocked = positive); "
                                            "null without both outcomes")
    confusion: PairConfusion = Field(description="each one's confusion matrix against the outcomes; null "
                                                 "without outcomes")


class ModelComparison(ReadModel):
    versions: list[int]
    baseline: int = Field(description="the first version named; deltas are against it")
    metrics: dict[str, MetricComparison] = Field(
        description="accuracy, precision, recall, f1, roc_auc, pr_auc, log_loss, brier and threshold")
    shadow: ShadowComparison | None = Field(
        default=None, description="champion against challenger on live traffic: the pair of named versions where "
                                  "one scored the most of the other's decisions in shadow (`since`/`until`); "
                                  "null when none did")


class TrainingJobPage(Page[TrainingJobRead]):
    """A page of the company's training jobs."""


class ModelPage(Page[ModelSummary]):
    """A page of the company's model versions."""


class EvaluationPage(Page[EvaluationRead]):
    """A page of a version's evaluations."""
