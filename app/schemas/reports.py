"""The curves of a model version's hold-out or of an evaluation's orders, for programs (the
report page draws the same numbers)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from app.schemas.models import ConfusionMatrix


class RocPoint(BaseModel):
    """Blocking from `threshold` up: the share of billed orders blocked and of blocked orders caught."""

    false_positive_rate: float
    true_positive_rate: float
    threshold: float


class PrPoint(BaseModel):
    """Blocking from `threshold` up: the share of blocked orders caught and of the orders blocked
    that the company blocked too."""

    recall: float
    precision: float
    threshold: float


class CalibrationBin(BaseModel):
    """Orders whose calibrated probability of block is in [lower, upper) (the last bin is closed)."""

    lower: float
    upper: float
    predicted: float | None = Field(description="the bin's mean probability; null for an empty bin")
    observed: float | None = Field(description="the bin's observed block rate; null for an empty bin")
    count: int


class ScoreHistograms(BaseModel):
    """Orders per probability bin (`edges` has one more value than each count list)."""

    edges: list[float] = Field(examples=[[0.0, 0.05, 0.1]])
    billed: list[int] = Field(description="orders the company billed, per bin")
    blocked: list[int] = Field(description="orders the company blocked, per bin")


class ThresholdRow(BaseModel):
    """What blocking from `threshold` up does to the orders."""

    threshold: float
    orders_blocked: int
    block_rate: float = Field(description="share of every order blocked")
    blocked_caught: float | None = Field(description="share of the orders the company blocked that are blocked "
                                                     "(recall); null without blocked orders")
    billed_blocked: float | None = Field(description="share of the orders the company billed that are blocked "
                                                     "(false-positive rate); null without billed orders")
    precision: float | None = Field(description="share of the blocked orders the company blocked too; null when "
                                                "nothing is blocked")


class CurvesRead(BaseModel):
    """The curves of a scored slice: a version's hold-out or the orders of one of its evaluations."""

    model_version: int
    evaluation_id: str | None = Field(description="set for an evaluation's curves")
    sample: Literal["holdout", "evaluation"]
    orders: int
    blocked: int = Field(description="orders the company blocked")
    billed: int = Field(description="orders the company billed")
    threshold: float = Field(description="the version's threshold: block when probability_block >= threshold")
    roc_auc: float | None = Field(description="null when the orders had one outcome only")
    pr_auc: float | None = Field(description="average precision; null without blocked orders")
    ece: float | None = Field(description="expected calibration error of the calibrated probability")
    roc: list[RocPoint] = Field(description="from (0, 0), at most 400 points")
    pr: list[PrPoint] = Field(description="at most 400 points, thresholds descending")
    calibration: list[CalibrationBin]
    histograms: ScoreHistograms
    confusion_matrix: ConfusionMatrix
    thresholds: list[ThresholdRow] = Field(description="round thresholds and the version's own")
    feature_importance: dict[str, float]
    importance_kind: Literal["mean_abs_contribution", "total_gain"] = Field(
        description="mean_abs_contribution: mean absolute TreeSHAP contribution (log-odds) on these orders; "
                    "total_gain: the share of the trees' gain, for versions trained before contributions were kept")
