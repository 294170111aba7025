"""Decision requests and results."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.domain.states import BillingDecision
from app.schemas.common import Page, ReadModel, RequestModel
from app.schemas.datasets import CreditLimitIn, CustomerIn, SerasaReportIn
from app.schemas.outcomes import OutcomeRead, ReviewRead
from app.schemas.types import Code, Document, LaxIsoDate, LaxIsoDateTime, Money, Name

MAX_DECISIONS_PER_BATCH = 500

# Runnable as they are for a company trained on `creditgate demo-data` (customer C000001 exists
# with any seed); the second order of the batch is a customer never uploaded, sent with its data.
EXAMPLE_DECISION = {"order": {"order_id": "PED-2026-000123", "customer_id": "C000001", "amount": 18500.0,
                              "payment_terms_days": 28}}
EXAMPLE_NEW_CUSTOMER = {
    "order": {"order_id": "PED-2026-000124", "customer_id": "NOVO-0001", "amount": 7200.0, "payment_terms_days": 21},
    "context": {
        "customer": {"simples_nacional": True, "mei": False, "final_consumer": False, "state": "SP",
                     "customer_since": "2025-03-10"},
        "credit_limit": {"limit_amount": 20000.0},
        "serasa_report": {
            "paid_on_time": 91.5, "paid_cash": 6.0, "paid_8_15_days_late": 2.0, "paid_16_30_days_late": 0.5,
            "paid_31_60_days_late": 0.0, "paid_over_60_days_late": 0.0, "inquiries_count": 2,
            "suppliers_0_6_months": 20.0, "suppliers_6_12_months": 15.0, "suppliers_1_3_years": 40.0,
            "suppliers_3_5_years": 15.0, "suppliers_5_10_years": 10.0, "suppliers_over_10_years": 0.0,
            "suppliers_inactive": 0.0, "pefin_count": 0, "pefin_amount": 0.0, "refin_count": 0, "refin_amount": 0.0,
            "overdue_debts_count": 0, "overdue_debts_amount": 0.0, "bankruptcy_count": 0,
            "bounced_checks_count": 0, "recheque_count": 0, "bankruptcy_participation_count": 0, "score": 780.0,
        },
    },
}


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
    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLE_DECISION]})

    order: OrderToDecide
    model_version: Annotated[int, Field(ge=1, le=2**31 - 1, strict=True)] | None = Field(
        default=None, description="default: the active version"
    )
    context: DecisionContext | None = None


class DecisionBatchRequest(RequestModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"orders": [EXAMPLE_DECISION, EXAMPLE_NEW_CUSTOMER]}]})

    orders: Annotated[list[DecisionRequest], Field(min_length=1, max_length=MAX_DECISIONS_PER_BATCH)]


class ReasonRead(BaseModel):
    """A feature that pushed the decision towards its verdict (docs/reasons.md lists every sentence)."""

    feature: str
    value: float | None
    contribution: float = Field(description="exact TreeSHAP contribution in log-odds: towards block (+) or bill (-)")
    share: float | None = Field(
        default=None, description="this feature's percentage (0-100) of the total push towards the decision: its "
        "contribution over the sum of the contributions of every feature that pushed the same way, shown or not. "
        "Null on decisions stored before shares existed")
    direction: Literal["block", "bill"] | None = Field(default=None, description="which way the value pushed")
    percentile: int | None = Field(
        default=None, description="percentage of the company's training orders with a lower value (a lower bound); "
        "null for an unknown value or a version without reference percentiles")
    text: str = Field(description="the fact, and where it stands among the company's training orders")


class RuleHit(BaseModel):
    """A rule of the company's credit policy that matched the order."""

    id: str
    label: str = Field(description="in the request's language")
    action: Literal["block", "bill", "review"]


class DecisionRead(BaseModel):
    decision_id: str
    order_id: str
    customer_id: str
    decision: BillingDecision
    probability_block: float = Field(
        description="calibrated probability of block: the version's calibration of the booster's probability "
        "sigmoid(margin); block when it is at least `threshold`")
    threshold: float
    model_version: int
    base_value: float | None = Field(
        default=None, description="the model's expected log-odds (TreeSHAP bias), where every contribution starts")
    margin: float | None = Field(
        default=None, description="the booster's log-odds for this order: base_value + the contributions of every "
        "feature = base_value + the reasons' contributions + other_contributions")
    other_contributions: float | None = Field(
        default=None, description="the sum of the contributions not shown as reasons (smaller pushes, pushes the "
        "other way, facts never cited alone)")
    reasons: list[ReasonRead]
    missing_features: list[str]
    created_at: datetime
    decided_by: Literal["rule", "model"] = Field(
        default="model", description="a rule of the company's credit policy, or the model against the threshold")
    rules: list[RuleHit] = Field(default_factory=list, description="the policy's rules that matched, in order")
    policy_version: int | None = Field(default=None, description="the credit policy in force; null: none")
    supersedes: str | None = Field(
        default=None, description="the earlier decision of the same order_id this one replaces (the request changed)")


class ShadowScoreRead(ReadModel):
    """A challenger's score of the decision (never answered, never acted on)."""

    model_version: int
    probability_block: float
    threshold: float
    decision: Literal["bill", "block"] = Field(description="what the challenger would have decided by its threshold")


class ShadowVersionRead(BaseModel):
    model_version: int
    since: datetime = Field(description="when it became a challenger")


class DecisionDetail(DecisionRead):
    request: dict[str, Any]
    features: dict[str, Any]
    outcome: OutcomeRead | None = Field(default=None, description="the order's final fate (POST /v1/outcomes); "
                                                                  "null until it arrives")
    reviews: list[ReviewRead] = Field(default_factory=list, description="analysts' reviews, oldest first")
    shadow: list[ShadowScoreRead] = Field(
        default_factory=list, description="challenger versions' scores of the same features (POST "
        "/v1/models/{version}/shadow)")


class DecisionBatchRead(BaseModel):
    results: list[DecisionRead]


class DecisionPage(Page[DecisionRead]):
    """A page of the company's decisions."""
