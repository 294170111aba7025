"""The four kinds of uploaded history, one table each (Core tables: written in bulk, read in bulk)."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Table,
)

from app.db.base import Base, BigIntPK
from app.domain.serasa import NEGATIVE_AMOUNT_FIELDS, NEGATIVE_COUNT_FIELDS, PAYMENT_FIELDS, SUPPLIER_FIELDS

MONEY = Numeric(14, 2, asdecimal=False)
PERCENT = Numeric(5, 2, asdecimal=False)

def _owner_columns() -> list[Column]:
    return [
        Column("id", BigIntPK, primary_key=True, autoincrement=True),
        Column("dataset_id", String(36), ForeignKey("datasets.id"), nullable=False),
        Column("company_id", String(36), nullable=False),
        Column("customer_id", String(64), nullable=False),
    ]


def _lookup_indexes(name: str, *extra: str) -> list[Index]:
    return [
        Index(f"ix_{name}_dataset_id_customer_id", "dataset_id", "customer_id"),
        Index(f"ix_{name}_company_id_customer_id", "company_id", "customer_id", *extra),
    ]


customers = Table(
    "customers",
    Base.metadata,
    *_owner_columns(),
    Column("document", String(14), nullable=False),
    Column("name", String(200), nullable=False),
    Column("simples_nacional", Boolean, nullable=False),
    Column("mei", Boolean, nullable=False),
    Column("final_consumer", Boolean, nullable=False),
    Column("state", String(2), nullable=False),
    Column("customer_since", Date, nullable=False),
    *_lookup_indexes("customers"),
)

credit_limits = Table(
    "credit_limits",
    Base.metadata,
    *_owner_columns(),
    Column("limit_amount", MONEY, nullable=False),
    Column("valid_from", Date, nullable=False),
    *_lookup_indexes("credit_limits", "valid_from"),
)

serasa_reports = Table(
    "serasa_reports",
    Base.metadata,
    *_owner_columns(),
    Column("queried_at", Date, nullable=False),
    *[Column(name, PERCENT, nullable=False) for name in PAYMENT_FIELDS],
    Column("inquiries_count", Integer, nullable=False),
    *[Column(name, PERCENT, nullable=False) for name in SUPPLIER_FIELDS],
    *[Column(name, Integer, nullable=False) for name in NEGATIVE_COUNT_FIELDS],
    *[Column(name, MONEY, nullable=False) for name in NEGATIVE_AMOUNT_FIELDS],
    Column("score", Numeric(6, 1, asdecimal=False), nullable=True),
    *_lookup_indexes("serasa_reports", "queried_at"),
)

orders = Table(
    "orders",
    Base.metadata,
    *_owner_columns(),
    Column("order_id", String(64), nullable=False),
    Column("ordered_at", DateTime(timezone=False), nullable=False),
    Column("amount", MONEY, nullable=False),
    Column("payment_terms_days", Integer, nullable=False),
    Column("status", String(8), nullable=True),
    *_lookup_indexes("orders", "ordered_at"),
)

TABLES: dict[str, Table] = {
    "customers": customers,
    "credit_limits": credit_limits,
    "serasa_reports": serasa_reports,
    "orders": orders,
}
ID_COLUMNS: dict[str, str] = {
    "customers": "customer_id",
    "credit_limits": "id",
    "serasa_reports": "id",
    "orders": "order_id",
}


def data_columns(kind: str) -> list[str]:
    """The columns a batch item fills, in table order (excluding id and the owner keys)."""
    skip = {"id", "dataset_id", "company_id"}
    return [c.name for c in TABLES[kind].columns if c.name not in skip]


