"""Outcomes of decided orders and analysts' reviews of decisions."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.domain.states import OrderStatus
from app.schemas.common import ReadModel
from app.schemas.types import NO_CONTROL_CHARACTERS, Code, LaxIsoDateTime, Name

MAX_OUTCOMES_PER_BATCH = 500

EXAMPLE_OUTCOMES = {"items": [
    {"order_id": "PED-2026-000123", "status": "billed", "recorded_at": "2026-02-10T12:00:00Z", "days_late": 3,
     "defaulted": False},
    {"order_id": "PED-2026-000124", "status": "blocked", "recorded_at": "2026-02-11T09:30:00Z"},
]}
EXAMPLE_REVIEW = {"decision": "bill", "reviewer": "Ana Souza (crédito)",
                  "note": "Cliente apresentou garantia real; limite revisto para este pedido."}


class OutcomeIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    order_id: Code
    status: OrderStatus = Field(description="the order's final fate: billed or blocked")
    recorded_at: LaxIsoDateTime = Field(description="when the fate was known (ISO 8601, UTC if no offset); with "
                                                    "the order id, the idempotency key of the item")
    days_late: Annotated[int, Field(ge=0, le=3650, strict=True)] | None = Field(
        default=None, description="days paid after the due date")
    defaulted: Annotated[bool, Field(strict=True)] | None = Field(default=None, description="never paid")


class OutcomeBatch(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [EXAMPLE_OUTCOMES]})

    items: Annotated[list[OutcomeIn], Field(min_length=1, max_length=MAX_OUTCOMES_PER_BATCH)]


class UnmatchedOutcome(BaseModel):
    index: int = Field(description="the item's position in the batch (0-based)")
    order_id: str


class OutcomeReceipt(BaseModel):
    accepted: int = Field(description="items linked to a decision: stored now, or stored before (`duplicates`)")
    duplicates: int = Field(default=0, description="accepted items already stored (same order id and recorded_at)")
    unmatched: list[UnmatchedOutcome] = Field(description="items whose order id was never decided: not stored")


class OutcomeRead(ReadModel):
    status: OrderStatus
    recorded_at: datetime
    days_late: int | None = None
    defaulted: bool | None = None


Note = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000,
                                        pattern=NO_CONTROL_CHARACTERS)]


class ReviewCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True,
                              json_schema_extra={"examples": [EXAMPLE_REVIEW]})

    decision: Literal["bill", "block"] = Field(description="the analyst's decision: the same confirms, "
                                                           "the other overrides")
    reviewer: Name = Field(description="who reviewed (shown to the customer on request, LGPD art. 20)")
    note: Note = Field(description="the criteria of the review")


class ReviewRead(ReadModel):
    id: str
    decision: Literal["bill", "block"]
    reviewer: str
    note: str
    created_at: datetime
    overrides: bool = Field(description="the analyst changed a bill or block of the model or a rule (a review "
                                        "resolving a `review` decision overrides nothing)")
