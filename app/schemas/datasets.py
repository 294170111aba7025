"""Dataset and batch schemas. Field names follow shared/DESIGN.md, "The data"."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.domain.states import DatasetStatus, Kind, OrderStatus, Purpose
from app.schemas.common import Page, ReadModel, RequestModel
from app.schemas.types import (
    NO_CONTROL_CHARACTERS,
    Code,
    Count,
    Document,
    Flag,
    IsoDate,
    IsoDateTime,
    Money,
    Name,
    Percent,
    Uf,
)

MAX_BATCH_ITEMS = 500

# One item of each kind, as `creditgate demo-data` writes them (its customer ids run C000001,
# C000002, ...): the examples of the batch bodies in the OpenAPI document.
EXAMPLE_ITEMS: dict[Kind, dict[str, Any]] = {
    Kind.customers: {
        "customer_id": "C000001", "document": "50705186000152", "name": "Atacadão Silva Ltda",
        "simples_nacional": True, "mei": False, "final_consumer": False, "state": "PR",
        "customer_since": "2022-06-20",
    },
    Kind.credit_limits: {"customer_id": "C000001", "limit_amount": 117800.0, "valid_from": "2023-08-31"},
    Kind.serasa_reports: {
        "customer_id": "C000001", "queried_at": "2023-12-03", "paid_on_time": 87.97, "paid_cash": 11.8,
        "paid_8_15_days_late": 0.23, "paid_16_30_days_late": 0.0, "paid_31_60_days_late": 0.0,
        "paid_over_60_days_late": 0.0, "inquiries_count": 0, "suppliers_0_6_months": 7.72,
        "suppliers_6_12_months": 3.24, "suppliers_1_3_years": 28.95, "suppliers_3_5_years": 19.55,
        "suppliers_5_10_years": 14.27, "suppliers_over_10_years": 0.0, "suppliers_inactive": 26.27,
        "pefin_count": 0, "pefin_amount": 0.0, "refin_count": 0, "refin_amount": 0.0, "overdue_debts_count": 0,
        "overdue_debts_amount": 0.0, "bankruptcy_count": 0, "bounced_checks_count": 0, "recheque_count": 0,
        "bankruptcy_participation_count": 0, "score": 915.0,
    },
    Kind.orders: {
        "order_id": "O0000003", "customer_id": "C000001", "ordered_at": "2024-06-11T08:04:20Z", "amount": 40297.77,
        "payment_terms_days": 21, "status": "billed",
    },
}


def batch_example(kind: Kind) -> dict[str, Any]:
    """A runnable body of a batch of `kind` (one item; the same batch_id again is a duplicate)."""
    return {"batch_id": f"{kind.value}-0001", "items": [EXAMPLE_ITEMS[kind]], "final": False}


class Item(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class CustomerIn(Item):
    customer_id: Code
    document: Document
    name: Name
    simples_nacional: Flag
    mei: Flag
    final_consumer: Flag
    state: Uf
    customer_since: IsoDate


class CreditLimitIn(Item):
    customer_id: Code
    limit_amount: Money
    valid_from: IsoDate


class SerasaReportIn(Item):
    customer_id: Code
    queried_at: IsoDate
    paid_on_time: Percent
    paid_cash: Percent
    paid_8_15_days_late: Percent
    paid_16_30_days_late: Percent
    paid_31_60_days_late: Percent
    paid_over_60_days_late: Percent
    inquiries_count: Count
    suppliers_0_6_months: Percent
    suppliers_6_12_months: Percent
    suppliers_1_3_years: Percent
    suppliers_3_5_years: Percent
    suppliers_5_10_years: Percent
    suppliers_over_10_years: Percent
    suppliers_inactive: Percent
    pefin_count: Count
    pefin_amount: Money
    refin_count: Count
    refin_amount: Money
    overdue_debts_count: Count
    overdue_debts_amount: Money
    bankruptcy_count: Count
    bounced_checks_count: Count
    recheque_count: Count
    bankruptcy_participation_count: Count
    score: Annotated[float, Field(ge=0, le=1000, strict=True)] | None = None


class OrderIn(Item):
    order_id: Code
    customer_id: Code
    ordered_at: IsoDateTime
    amount: Money
    payment_terms_days: Annotated[int, Field(ge=0, le=3650, strict=True)]
    status: OrderStatus | None = Field(default=None, description="the real outcome; required for training")


ITEM_SCHEMAS: dict[Kind, type[Item]] = {
    Kind.customers: CustomerIn,
    Kind.credit_limits: CreditLimitIn,
    Kind.serasa_reports: SerasaReportIn,
    Kind.orders: OrderIn,
}

T = TypeVar("T", bound=Item)


class BatchIn(RequestModel, Generic[T]):
    batch_id: Annotated[
        str,
        StringConstraints(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._:\-]+$"),
        Field(description="Client-chosen idempotency key; the same id again returns the same receipt."),
    ]
    items: Annotated[list[T], Field(min_length=1, max_length=MAX_BATCH_ITEMS)]
    final: Annotated[bool, Field(strict=True)] = False


class BatchReceipt(BaseModel):
    batch_id: str
    kind: Kind
    items: int
    final: bool
    accepted_at: datetime
    duplicate: bool = False


class BatchRead(ReadModel):
    """A batch receipt as the dataset keeps it."""

    batch_id: str
    kind: Kind
    items: int
    final: bool
    accepted_at: datetime
    stored_at: datetime | None = Field(description="when its rows were stored; null while in the queue")
    dead_letter_reason: str | None = Field(
        default=None, description="why the batch could never be stored (a dead letter), if so")


class DatasetCreate(RequestModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"name": "demo history", "purpose": "training"}]})

    name: Annotated[str, StringConstraints(max_length=200, pattern=NO_CONTROL_CHARACTERS)] | None = None
    purpose: Purpose = Field(default=Purpose.training,
                             description="training: trains a model once valid; evaluation: tests a version")


class KindProgress(BaseModel):
    batches_accepted: int = 0
    batches_stored: int = 0
    batches_failed: int = 0
    rows_accepted: int = 0
    rows_stored: int = 0
    final: bool = False


class DeadLetter(BaseModel):
    kind: Kind
    batch_id: str
    reason: str


class DatasetSummary(ReadModel):
    id: str
    name: str | None
    purpose: Purpose
    status: DatasetStatus
    created_at: datetime
    updated_at: datetime


class IntegrityProblem(BaseModel):
    """One integrity check that found rows: what, how many, and up to 20 offending ids."""

    code: str = Field(examples=["unknown_customer_in_orders"])
    message: str
    count: int
    examples: list[str] = Field(description="offending ids (customer@date for dated duplicates)")


class OutcomeCounts(BaseModel):
    billed: int = 0
    blocked: int = 0
    missing: int = Field(default=0, description="orders without a status")


class IntegrityReport(BaseModel):
    """The dataset's integrity check, once all its kinds were complete. Problems refuse the
    dataset (`valid` false); warnings are possible but suspicious values, reported only."""

    valid: bool
    checked_at: datetime
    rows: dict[Kind, int] = Field(description="rows stored, by kind")
    outcomes: OutcomeCounts
    problems: list[IntegrityProblem]
    warnings: list[IntegrityProblem] = []


class DatasetRead(DatasetSummary):
    kinds: dict[Kind, KindProgress] = {}
    dead_letters: list[DeadLetter] = []
    report: IntegrityReport | None = Field(default=None, description="set once the dataset was validated")


class DatasetPage(Page[DatasetSummary]):
    """A page of the company's datasets."""


class BatchPage(Page[BatchRead]):
    """A page of a dataset's batch receipts."""
