"""`History`: one conformed frame per kind, conformed once, every kind present, no unknown kind."""

from datetime import date

import polars as pl
import pytest

from app.ml import schema
from app.ml.errors import SchemaError
from app.ml.features import build_features
from app.ml.history import KINDS, History
from app.ml.live import prepare_snapshot

from .factories import frame, make_customer, make_limit, make_order, make_report

ROWS = {
    "customers": [make_customer(), make_customer(customer_id="B")],
    "credit_limits": [make_limit()],
    "serasa_reports": [make_report()],
    "orders": [make_order(), make_order(order_id="O2", customer_id="B")],
}


def _as_text(kind: str) -> pl.DataFrame:
    """Rows of `kind` as a CSV reader gives them: every column text, in reverse, one extra."""
    df = frame(kind, ROWS[kind]).with_columns(pl.all().cast(pl.String), extra=pl.lit("x"))
    return df.select(reversed(df.columns))


@pytest.fixture
def conform_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    real = schema.conform

    def counting(kind: str, df: pl.DataFrame) -> pl.DataFrame:
        calls.append(kind)
        return real(kind, df)

    monkeypatch.setattr(schema, "conform", counting)
    return calls


def test_every_frame_is_conformed_to_the_canonical_schema() -> None:
    history = History({kind: _as_text(kind) for kind in KINDS})
    assert tuple(history) == KINDS == tuple(schema.SCHEMAS) and len(history) == 4
    for kind in KINDS:
        assert history[kind].schema == pl.Schema(schema.SCHEMAS[kind]), kind
        assert history[kind].equals(frame(kind, ROWS[kind])), kind


def test_frames_are_conformed_once_and_never_again_downstream(conform_calls: list[str]) -> None:
    history = History.of(**{kind: _as_text(kind) for kind in KINDS})
    assert sorted(conform_calls) == sorted(KINDS)
    conform_calls.clear()
    assert History(history)["orders"] is history["orders"]  # a History is taken as it is
    prepare_snapshot("A", history)
    prepare_snapshot("B", history.where(pl.col("customer_id") == "B"))
    build_features(frame("orders", [make_order(order_id="T")]), history)
    assert conform_calls == ["orders"]  # the targets only


def test_a_missing_kind_is_an_empty_frame_of_its_schema(conform_calls: list[str]) -> None:
    history = History.of(orders=frame("orders", ROWS["orders"]))
    assert conform_calls == ["orders"]
    for kind in ("customers", "credit_limits", "serasa_reports"):
        assert history[kind].height == 0 and history[kind].schema == pl.Schema(schema.SCHEMAS[kind])
    assert all(History()[kind].is_empty() for kind in KINDS)


@pytest.mark.parametrize("build", [
    lambda df: History({"receivables": df}),
    lambda df: History.of(customer=df),  # a misspelt kind is not silently empty
    lambda df: History().replace(order=df),
])
def test_an_unknown_kind_is_refused(build) -> None:
    with pytest.raises(SchemaError, match="unknown kind"):
        build(frame("customers", ROWS["customers"]))


def test_a_frame_that_cannot_conform_is_refused() -> None:
    with pytest.raises(SchemaError, match="valid_from"):
        History.of(credit_limits=pl.DataFrame({"customer_id": ["A"], "limit_amount": [1.0]}))
    with pytest.raises(SchemaError, match="invalid value"):
        History.of(credit_limits=pl.DataFrame({"customer_id": ["A"], "limit_amount": ["1"], "valid_from": ["soon"]}))


def test_is_immutable() -> None:
    history = History.of(customers=frame("customers", ROWS["customers"]))
    with pytest.raises(TypeError):
        history["orders"] = frame("orders", ROWS["orders"])  # type: ignore[index]
    with pytest.raises(AttributeError):
        history._frames = {}  # type: ignore[misc]
    with pytest.raises(TypeError):
        history._frames["orders"] = frame("orders", ROWS["orders"])  # type: ignore[index]
    assert history["orders"].is_empty()


def test_replace_conforms_the_new_kinds_and_reuses_the_others(conform_calls: list[str]) -> None:
    history = History.of(customers=frame("customers", ROWS["customers"]), orders=frame("orders", ROWS["orders"]))
    conform_calls.clear()
    limits = _as_text("credit_limits")
    replaced = history.replace(credit_limits=limits)
    assert conform_calls == ["credit_limits"]
    assert replaced["credit_limits"]["valid_from"].to_list() == [date(2023, 1, 1)]
    assert replaced["customers"] is history["customers"] and replaced["orders"] is history["orders"]
    assert history["credit_limits"].is_empty()  # the original is unchanged


def test_where_filters_every_kind() -> None:
    history = History({kind: frame(kind, rows) for kind, rows in ROWS.items()})
    own = history.where(pl.col("customer_id") == "B")
    assert {kind: own[kind].height for kind in KINDS} == {
        "customers": 1, "credit_limits": 0, "serasa_reports": 0, "orders": 1,
    }
    assert repr(own) == "History(customers=1, credit_limits=0, serasa_reports=0, orders=1)"
