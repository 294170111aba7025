from datetime import date, datetime

import polars as pl
import pytest

from app.ml.errors import SchemaError
from app.ml.schema import CUSTOMERS, ORDERS, SCHEMAS, SERASA_REPORTS, conform

from .factories import make_report


def _customers_text() -> pl.DataFrame:
    """Customers as read from a CSV: every column text, one extra column."""
    return pl.DataFrame(
        {
            "customer_id": ["A", "B"],
            "simples_nacional": ["true", "0"],
            "mei": ["False", "sim"],
            "final_consumer": [" yes ", None],
            "state": ["SP", "rj"],
            "customer_since": ["2020-01-31", "2019-12-01T00:00:00"],
            "extra": ["1", "2"],
        }
    )


def test_text_columns_from_a_csv_are_cast() -> None:
    out = conform("customers", _customers_text())
    assert out.schema == pl.Schema(CUSTOMERS)
    assert out["simples_nacional"].to_list() == [True, False]
    assert out["mei"].to_list() == [False, True]
    assert out["final_consumer"].to_list() == [True, None]
    assert out["customer_since"].to_list() == [date(2020, 1, 31), date(2019, 12, 1)]
    assert out["document"].null_count() == 2  # optional, created


def test_orders_timestamps_become_naive_utc_microseconds() -> None:
    raw = pl.DataFrame(
        {
            "order_id": [1, 2],
            "customer_id": ["A", "A"],
            "ordered_at": ["2024-03-01T10:00:00-03:00", "2024-03-01 13:30:00"],
            "amount": ["1500.50", "20"],
            "payment_terms_days": [30.0, 0.0],
        }
    )
    out = conform("orders", raw)
    assert out.schema == pl.Schema(ORDERS)
    assert out["ordered_at"].to_list() == [datetime(2024, 3, 1, 13), datetime(2024, 3, 1, 13, 30)]
    assert out["order_id"].to_list() == ["1", "2"] and out["status"].null_count() == 2
    local = pl.Series("ordered_at", [datetime(2024, 3, 1, 10)] * 2)
    aware = raw.with_columns(local.dt.replace_time_zone("America/Sao_Paulo"))
    assert conform("orders", aware)["ordered_at"].to_list() == [datetime(2024, 3, 1, 13)] * 2


def test_database_integer_types_and_missing_optional_score() -> None:
    report = make_report()
    del report["score"]
    raw = pl.DataFrame([report]).with_columns(
        pl.col("pefin_count").cast(pl.Int32), pl.col("paid_cash").cast(pl.Int16)
    )
    out = conform("serasa_reports", raw)
    assert out.schema == pl.Schema(SERASA_REPORTS) and out["score"].item() is None


def test_conform_is_idempotent_on_canonical_frames() -> None:
    for kind, schema in SCHEMAS.items():
        empty = pl.DataFrame(schema=schema)
        assert conform(kind, empty).schema == pl.Schema(schema)


def test_missing_required_columns_and_bad_values_raise() -> None:
    no_amount = pl.DataFrame({"customer_id": ["A"], "valid_from": [date(2024, 1, 1)]})
    with pytest.raises(SchemaError, match="limit_amount"):
        conform("credit_limits", no_amount)
    bad_amount = no_amount.with_columns(limit_amount=pl.lit("a lot"))
    with pytest.raises(SchemaError, match="'a lot'"):
        conform("credit_limits", bad_amount)
    with pytest.raises(SchemaError, match="'maybe'"):
        conform("customers", _customers_text().with_columns(mei=pl.lit("maybe")))
    with pytest.raises(SchemaError, match="unknown kind"):
        conform("invoices", pl.DataFrame())
