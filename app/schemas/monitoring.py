"""Monitoring of a model version's live traffic, and the alerts it raises."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from app.schemas.common import Page, ReadModel


class Confusion(BaseModel):
    labels: list[str] = Field(description="billed, blocked")
    matrix: list[list[int]] = Field(description="rows: the actual outcome; columns: predicted by the score "
                                                "against the decision's threshold")
    rows: str = "actual"
    columns: str = "predicted"


class MonitoringBucket(BaseModel):
    start: date = Field(description="the first day of the bucket (UTC); a week starts on Monday")
    decisions: int
    block_rate: float | None = Field(description="share of the decisions that were block; null: no decision")
    review_rate: float | None = Field(description="share of the decisions sent to an analyst (review)")
    score_psi: float | None = Field(description="population stability of the calibrated score against the "
                                                "version's training reference; null: nothing to compare")
    feature_psi: dict[str, float | None] = Field(description="population stability of each feature")
    outcomes: int = Field(description="outcomes received for decisions of the bucket")
    live_auc: float | None = Field(description="ROC AUC of the score on those outcomes (blocked = positive); "
                                               "null without both outcomes")
    confusion: Confusion | None = Field(description="null without outcomes")
    overrides: int | None = Field(description="analysts' reviews that overrode a decision of the bucket; null: "
                                              "no review")


class MonitoringReport(BaseModel):
    model_version: int
    since: date
    until: date = Field(description="exclusive")
    bucket: Literal["day", "week"]
    psi_threshold: float = Field(description="a PSI above it raises a drift alert")
    holdout_auc: float | None = Field(description="the version's ROC AUC on its hold-out, for comparison")
    buckets: list[MonitoringBucket] = Field(description="buckets with decisions, oldest first")
    total: MonitoringBucket


class AlertRead(ReadModel):
    id: str
    kind: Literal["drift", "performance"]
    model_version: int
    feature: str | None = Field(description="the drifting feature; null: the score (drift) or the live AUC "
                                            "(performance)")
    value: float = Field(description="the PSI, or the live ROC AUC")
    threshold: float = Field(description="the PSI threshold, or the AUC below which the alert was raised")
    raised_at: datetime
    cleared_at: datetime | None = Field(default=None, description="when the condition ended; null: still open")


class AlertPage(Page[AlertRead]):
    """A page of the company's alerts."""
