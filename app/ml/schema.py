"""Canonical Polars schemas of the four entity kinds and a `conform` helper.

Callers may hand the ML layer frames read from a database or a CSV file; `conform` casts them
to the canonical dtypes, creates missing optional columns as nulls and drops unknown columns.
"""

from collections.abc import Mapping

import polars as pl

from app.domain.serasa import NEGATIVE_AMOUNT_FIELDS, NEGATIVE_COUNT_FIELDS, PAYMENT_FIELDS, SUPPLIER_FIELDS
from app.ml.errors import SchemaError

CUSTOMERS: dict[str, pl.DataType] = {
    "customer_id": pl.String(),
    "document": pl.String(),
    "name": pl.String(),
    "simples_nacional": pl.Boolean(),
    "mei": pl.Boolean(),
    "final_consumer": pl.Boolean(),
    "state": pl.String(),
    "customer_since": pl.Date(),
}

CREDIT_LIMITS: dict[str, pl.DataType] = {
    "customer_id": pl.String(),
    "limit_amount": pl.Float64(),
    "valid_from": pl.Date(),
}

SERASA_PERCENT_FIELDS: tuple[str, ...] = (*PAYMENT_FIELDS, *SUPPLIER_FIELDS)
SERASA_COUNT_FIELDS: tuple[str, ...] = ("inquiries_count", *NEGATIVE_COUNT_FIELDS)
SERASA_AMOUNT_FIELDS: tuple[str, ...] = NEGATIVE_AMOUNT_FIELDS

SERASA_REPORTS: dict[str, pl.DataType] = {
    "customer_id": pl.String(),
    "queried_at": pl.Date(),
    **{name: pl.Float64() for name in SERASA_PERCENT_FIELDS[:6]},
    "inquiries_count": pl.Int64(),
    **{name: pl.Float64() for name in SERASA_PERCENT_FIELDS[6:]},
    "pefin_count": pl.Int64(),
    "pefin_amount": pl.Float64(),
    "refin_count": pl.Int64(),
    "refin_amount": pl.Float64(),
    "overdue_debts_count": pl.Int64(),
    "overdue_debts_amount": pl.Float64(),
    "bankruptcy_count": pl.Int64(),
    "bounced_checks_count": pl.Int64(),
    "recheque_count": pl.Int64(),
    "bankruptcy_participation_count": pl.Int64(),
    "score": pl.Float64(),
}

ORDERS: dict[str, pl.DataType] = {
    "order_id": pl.String(),
    "customer_id": pl.String(),
    "ordered_at": pl.Datetime("us"),
    "amount": pl.Float64(),
    "payment_terms_days": pl.Int64(),
    "status": pl.String(),
}

SCHEMAS: dict[str, dict[str, pl.DataType]] = {
    "customers": CUSTOMERS,
    "credit_limits": CREDIT_LIMITS,
    "serasa_reports": SERASA_REPORTS,
    "orders": ORDERS,
}

# Columns the ML layer can live without; created as nulls when absent.
# `document` and `name` are personal data the features never use.
OPTIONAL: dict[str, frozenset[str]] = {
    "customers": frozenset({"document", "name"}),
    "credit_limits": frozenset(),
    "serasa_reports": frozenset({"score"}),
    "orders": frozenset({"status"}),
}

_TRUE = ("true", "t", "1", "yes", "y", "sim", "s")
_FALSE = ("false", "f", "0", "no", "n", "nao", "não")
_DATETIME_FORMATS = (
    "%Y-%m-%d %H:%M:%S%.f%z",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d",
)


def conform(kind: str, df: pl.DataFrame) -> pl.DataFrame:
    """Return `df` with exactly the canonical columns of `kind`, in order, with canonical dtypes.

    Missing optional columns become nulls; a missing required column or a value that cannot be
    converted raises `SchemaError`. Extra columns are dropped. Text dates are ISO 8601; text
    timestamps may carry an offset (converted to UTC) or not (taken as UTC).
    """
    schema = SCHEMAS.get(kind)
    if schema is None:
        raise SchemaError(f"unknown kind {kind!r}; expected one of {sorted(SCHEMAS)}")
    have = df.schema  # built anew on every access: once here (it was 3/4 of a canonical conform)
    missing = [c for c in schema if c not in have and c not in OPTIONAL[kind]]
    if missing:
        raise SchemaError(f"{kind}: missing required column(s) {missing}")
    if all(have.get(name) == dtype for name, dtype in schema.items()):
        return df.select(list(schema))
    exprs = [_column(name, dtype, have) for name, dtype in schema.items()]
    try:
        out = df.select(exprs)
    except pl.exceptions.PolarsError as exc:
        raise SchemaError(f"{kind}: cannot convert to the canonical schema: {exc}") from exc
    _require_no_lost_values(kind, df, out)
    return out


def _require_no_lost_values(kind: str, source: pl.DataFrame, out: pl.DataFrame) -> None:
    """Lenient parsers turn bad text into nulls; a value that became null is an error."""
    for name in out.columns:
        if name in source.columns and out[name].null_count() > source[name].null_count():
            lost = source.filter(out[name].is_null() & source[name].is_not_null())[name]
            raise SchemaError(f"{kind}: column {name!r} has invalid value {lost[0]!r}")


def _column(name: str, dtype: pl.DataType, source: Mapping[str, pl.DataType]) -> pl.Expr:
    """Expression producing column `name` with `dtype` from a frame of schema `source`."""
    if name not in source:
        return pl.lit(None, dtype=dtype).alias(name)
    col, have = pl.col(name), source[name]
    if have == dtype:
        return col
    if isinstance(dtype, pl.Date):
        return _to_date(col, have).alias(name)
    if isinstance(dtype, pl.Datetime):
        return _to_naive_utc(col, have).alias(name)
    if isinstance(dtype, pl.Boolean) and have == pl.String:
        text = col.str.strip_chars().str.to_lowercase()
        parsed = pl.when(text.is_in(_TRUE)).then(True).when(text.is_in(_FALSE)).then(False)
        return parsed.alias(name)
    if have == pl.String:
        return col.str.strip_chars().cast(dtype, strict=False).alias(name)
    return col.cast(dtype).alias(name)


def _to_date(col: pl.Expr, have: pl.DataType) -> pl.Expr:
    if have == pl.String:
        return col.str.strip_chars().str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False)
    if isinstance(have, pl.Datetime):
        return _to_naive_utc(col, have).dt.date()
    return col.cast(pl.Date)


def _to_naive_utc(col: pl.Expr, have: pl.DataType) -> pl.Expr:
    """Datetimes are stored as naive UTC microseconds; aware values are converted to UTC."""
    if have == pl.String:
        text = col.str.strip_chars().str.replace("T", " ").str.replace(r"Z$", "+00:00")
        parsed = [
            text.str.to_datetime(fmt, time_unit="us", time_zone="UTC", strict=False)
            for fmt in _DATETIME_FORMATS
        ]
        return pl.coalesce(parsed).dt.replace_time_zone(None)
    if isinstance(have, pl.Datetime) and have.time_zone is not None:
        col = col.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
    return col.cast(pl.Datetime("us"))
