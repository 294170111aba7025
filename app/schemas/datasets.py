"""Dataset and batch schemas. Field names follow shared/DESIGN.md, "The data"."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.domain.states import DatasetStatus, Kind, Purpose
from app.schemas.common import ReadModel, RequestModel
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
    status: Literal["billed", "blocked"] | None = None


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
    name: Annotated[str, StringConstraints(max_length=200, pattern=NO_CONTROL_CHARACTERS)] | None = None
    purpose: Purpose = Purpose.training


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


class DatasetRead(DatasetSummary):
    kinds: dict[Kind, KindProgress] = {}
    dead_letters: list[DeadLetter] = []
    report: dict[str, Any] | None = None
