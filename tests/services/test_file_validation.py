"""The file path and the JSON path reach the same verdict, and store the same value, on the same
edge values: each case is one value as a JSON item carries it and as a CSV cell writes it."""

from __future__ import annotations

import math

import orjson
import polars as pl
import pytest

from app.domain.states import Kind
from app.errors import InvalidInput
from app.services.file_validation import check_chunk
from app.services.ingestion import parse_batch
from tests.factories import make_credit_limit, make_customer, make_order, make_serasa_report

FACTORIES = {Kind.customers: make_customer, Kind.credit_limits: make_credit_limit,
             Kind.serasa_reports: make_serasa_report, Kind.orders: make_order}
TEXT_CODES = [" O1 ", "\u00a0O1", "O1\x1f", "\x1cO1", "   ", "a" * 64, "a" * 65, "é" * 64, "O\u202a1", "\tO1\t",
              "O1\x7f", "O1\u0085", "O1\u2066", "Ordem 1/2; \"x\""]
CASES = [
    *[(Kind.orders, "order_id", value, value) for value in TEXT_CODES],
    *[(Kind.customers, "name", value, value) for value in ("x" * 200, "x" * 201, "Comercial\x00Ltda", " Ltda ")],
    *[(Kind.customers, "document", value, value) for value in (
        "11.222.333/0001-81", "11222333000181", "11 222 333 0001 81", " 529.982.247-25 ", "52998224725",
        "11111111111", "00000000000000", "12ABC34501DE35", "12abc34501de35", "11222333000180", "112223330001811",
        "\u00a011222333000181", "11_222_333_0001_81", "5299822472", "52998224726", "AB.CDE.FGH/IJKL-00")],
    *[(Kind.customers, "state", value, value) for value in (" sp ", "sp", "Rj", "XX", "S P", "")],
    (Kind.customers, "mei", True, "true"), (Kind.customers, "mei", False, "false"),
    (Kind.customers, "mei", True, "TRUE"), (Kind.customers, "mei", "yes", "yes"), (Kind.customers, "mei", 1, "1"),
    (Kind.customers, "mei", None, None),
    *[(Kind.customers, "customer_since", value, value) for value in (
        "2023-02-01", "2023-02-30", "2024-02-29", "0000-01-01", "0001-01-01", "9999-12-31", "2023-2-1",
        " 2023-02-01", "2023-02-01 ", "2023-02-01T00:00:00", "2023/02/01", "01/02/2023")],
    (Kind.customers, "customer_since", 20230201, "20230201"),
    *[(Kind.orders, "ordered_at", value, value) for value in (
        "2023-02-01T10:30:00", "2023-02-01 10:30", "2023-02-01t10:30:00", "2023-02-01_10:30:00",
        "2023-02-01T10:30:00Z", "2023-02-01T10:30:00z", "2023-02-01T10:30:00.123456789", "2023-02-01T10:30:00.5",
        "2023-02-01T10:30:00,5", "2023-02-01T10:30:00+0300", "2023-02-01T10:30:00-03:00", "2023-02-01T10:30Z",
        "2023-02-01T10:30:00+23:59", "2023-02-01T10:30:00+24:00", "2023-02-01T10:30:00+03:60",
        "2023-02-01T10:30:00+03", "2023-02-01T10", "2023-02-01", "2023-02-29T10:30:00", "2024-02-29T23:59:59",
        "2023-02-01T24:00:00", "2023-02-01T10:30:60", "2023-02-01T1:30:00", "2023-02-01T10:30:00.",
        "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "0001-01-01T00:30:00-01:00",
        " 2023-02-01T10:30:00", "2023-02-01T10:30:00 +03:00", "yesterday")],
    *[(Kind.orders, "amount", value, text) for value, text in (
        (1.5, "1.5"), (0.30000000000000004, "0.30000000000000004"), (1234.565, "1234.565"), (99.99, "99.99"),
        (999999999999.99, "999999999999.99"), (1e12, "1e12"), (-1, "-1"), (5, "5"), (10.0, "10.0"),
        (0.01, "1e-2"), (0.001, "0.001"), (-0.0, "-0.0"), (True, "true"), (1234.56, "1234.56"),
        (0.07, "0.07"), (123456789.1, "123456789.1"))],
    *[(Kind.orders, "payment_terms_days", value, text) for value, text in (
        (30, "30"), (30.5, "30.5"), (30.0, "30.0"), (-1, "-1"), (3650, "3650"), (3651, "3651"), (True, "true"),
        (0, "0"))],
    *[(Kind.orders, "status", value, text) for value, text in (
        ("billed", "billed"), ("blocked", "blocked"), (" billed", " billed"), ("Billed", "Billed"), (None, None),
        ("approved", "approved"))],
    *[(Kind.serasa_reports, "paid_on_time", value, text) for value, text in (
        (100, "100"), (100.5, "100.5"), (-0.1, "-0.1"), (12.345, "12.345"), (0, "0"))],
    *[(Kind.serasa_reports, "inquiries_count", value, text) for value, text in (
        (1_000_000, "1000000"), (1_000_001, "1000001"), (2.0, "2.0"))],
    *[(Kind.serasa_reports, "score", value, text) for value, text in (
        (None, None), (1000, "1000"), (1200, "1200"), (512.5, "512.5"))],
    (Kind.credit_limits, "customer_id", None, None),
]
# Known difference: pydantic reads numeric text as a Unix time ("0" is 1970-01-01 for a date),
# which contradicts "a number is not a date"; files refuse it. The JSON path keeps its behaviour
# until its schema changes (tracked in the README's design choices).
TIMESTAMP_TEXT = [(Kind.orders, "ordered_at", "1700000000"), (Kind.customers, "customer_since", "1700006400")]


def json_verdict(kind: Kind, field: str, value) -> tuple[bool, object]:
    item = FACTORIES[kind]() | {field: value}
    if value is None:
        item.pop(field)
    try:
        batch = parse_batch(kind, orjson.dumps({"batch_id": "b", "items": [item]}))
    except InvalidInput:
        return False, None
    return True, getattr(batch.items[0], field)


def file_verdict(kind: Kind, field: str, text) -> tuple[bool, object]:
    item = {k: _text(v) for k, v in FACTORIES[kind]().items()} | {field: text}
    checked = check_chunk(kind, pl.DataFrame([item], schema={k: pl.String for k in item}), 2)
    if checked.error_count:
        assert checked.errors[0]["line"] == 2 and checked.errors[0]["field"] == field, checked.errors
        return False, None
    return True, checked.frame[field][0]


def _text(value) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    return None if value is None else str(value)


@pytest.mark.parametrize(("kind", "field", "value", "text"), CASES,
                         ids=[f"{c[1]}-{i}" for i, c in enumerate(CASES)])
def test_json_and_file_reach_the_same_verdict_and_value(kind, field, value, text):
    expected = json_verdict(kind, field, value)
    got = file_verdict(kind, field, text)
    assert got[0] == expected[0], (value, text, expected, got)
    if expected[0] and isinstance(expected[1], float):
        assert math.copysign(1, got[1]) == math.copysign(1, expected[1]) and got[1] == expected[1]
    else:
        assert got[1] == expected[1]


@pytest.mark.parametrize(("kind", "field", "text"), TIMESTAMP_TEXT)
def test_numeric_text_is_no_instant_in_files(kind, field, text):
    assert json_verdict(kind, field, text)[0] is True  # pydantic's Unix-time reading (see above)
    assert file_verdict(kind, field, text)[0] is False
