"""Decision requests and results."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from app.schemas.common import RequestModel
from app.schemas.datasets import CreditLimitIn, CustomerIn, SerasaReportIn
from app.schemas.types import Code, Document, LaxIsoDate, LaxIsoDateTime, Money, Name

MAX_DECISIONS_PER_BATCH = 500


class OrderToDecide(RequestModel):
    order_id: Code
    customer_id: Code
    ordered_at: LaxIsoDateTime | None = Field(default=None, description="ISO 8601; default: now (UTC)")
    amount: Money
    payment_terms_days: Annotated[int, Field(ge=0, le=3650, strict=True)]


class CustomerContext(CustomerIn):
    customer_id: Code | None = None
    customer_since: LaxIsoDate
    document: Document | None = None
    name: Name | None = None


class CreditLimitContext(CreditLimitIn):
    customer_id: Code | None = None
    valid_from: LaxIsoDate | None = Field(default=None, description="default: the order's date")


class SerasaReportContext(SerasaReportIn):
    customer_id: Code | None = None
    queried_at: LaxIsoDate | None = Field(default=None, description="default: the order's date")


class DecisionContext(RequestModel):
    """Data sent with the order; each item replaces what is stored for the customer."""

    customer: CustomerContext | None = None
    credit_limit: CreditLimitContext | None = None
    serasa_report: SerasaReportContext | None = None


class DecisionRequest(RequestModel):
    order: OrderToDecide
    model_version: Annotated[int, Field(ge=1, le=2**31 - 1, strict=True)] | None = Field(
        default=None, description="default: the active version"
    )
    context: DecisionContext | None = None


class DecisionBatchRequest(RequestModel):
    orders: Annotated[list[DecisionRequest], Field(min_length=1, max_length=MAX_DECISIONS_PER_BATCH)]


class ReasonRead(BaseModel):
    feature: str
    value: float | None
    contribution: float = Field(description="log-odds pushed towards block (+) or bill (-)")
    text: str


class DecisionRead(BaseModel):
    decision_id: str
    order_id: str
    customer_id: str
    decision: Literal["bill", "block"]
    probability_block: float
    threshold: float
    model_version: int
    reasons: list[ReasonRead]
    missing_features: list[str]
    created_at: datetime


class DecisionDetail(DecisionRead):
    request: dict[str, Any]
    features: dict[str, Any]


class DecisionBatchRead(BaseModel):
    results: list[DecisionRead]
