"""A stored batch's payload as table rows, each value checked against its column's type.

The API validated every item before accepting the batch, so the payload is not validated a second
time (that doubled the cost of a batch); each value is only checked to be of its column's type, so
that a record forged on the broker is refused (dead letter), never stored.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import date, datetime
from functools import cache
from typing import Any

import orjson
import polars as pl
from sqlalchemy import Boolean, Date, DateTime, Integer, Numeric

from app.db.errors import PermanentFailure
from app.db.records import TABLES, data_columns


def payload_rows(kind: str, batch_id: str, owner: tuple[str, str], payload: bytes, sqlite: bool) -> list[tuple]:
    """`owner` (dataset id, company id) followed by the item's values, in `data_columns` order."""
    converters = _converters(kind, sqlite)
    try:
        items = orjson.loads(payload)
        return [owner + tuple(convert(item[name]) for name, convert in converters) for item in items]
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise PermanentFailure(f"payload of batch {batch_id} is not valid: {exc!r}") from exc


@cache
def _converters(kind: str, sqlite: bool) -> list[tuple[str, Callable[[Any], Any]]]:
    table = TABLES[kind]
    return [(name, _converter(table.c[name].type, table.c[name].nullable, sqlite)) for name in data_columns(kind)]


def _converter(column_type, nullable: bool, sqlite: bool) -> Callable[[Any], Any]:
    if isinstance(column_type, DateTime):  # SQLite keeps SQLAlchemy's text form, "YYYY-MM-DD HH:MM:SS"
        convert = (lambda v: datetime.fromisoformat(v).isoformat(sep=" ")) if sqlite else datetime.fromisoformat
    elif isinstance(column_type, Date):
        convert = (lambda v: date.fromisoformat(v).isoformat()) if sqlite else date.fromisoformat
    elif isinstance(column_type, Boolean):
        convert = _typed(bool)
    elif isinstance(column_type, Integer):
        convert = _typed(int)
    elif isinstance(column_type, Numeric):
        convert = _number
    else:
        convert = _typed(str)
    if nullable:
        return lambda v: None if v is None else convert(v)
    return convert


def _typed(expected: type) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if type(value) is not expected:
            raise TypeError(f"{value!r} is not a {expected.__name__}")
        return value

    return check


def _number(value: Any) -> float:
    if type(value) not in (int, float):
        raise TypeError(f"{value!r} is not a number")
    return float(value)


def payload_frame(kind: str, payload: bytes) -> pl.DataFrame | None:
    """The payload as a frame of the table's columns (PostgreSQL's path: Polars reads the JSON and
    the database parses CSV, no Python per value), or None when any column is not exactly of its
    type - then `payload_rows` decides, and refuses what it must. A payload the API wrote always
    takes this path; only a forged or damaged record falls back."""
    try:
        frame = pl.read_json(io.BytesIO(payload), infer_schema_length=None)
    except (pl.exceptions.PolarsError, ValueError):
        return None
    expected = _frame_types(kind)
    if set(frame.columns) != set(expected) or frame.height == 0:
        return None
    columns = []
    for name, (accepted, parse, nullable) in expected.items():
        column = frame[name]
        if column.dtype not in accepted or (not nullable and column.null_count()):
            return None
        if column.dtype == pl.Null:  # every value null: the column's own type, so frames concatenate
            column = pl.Series(name, [None] * frame.height, dtype=accepted[0] if parse is None else _PARSED[parse])
        elif parse is not None:
            try:
                column = parse(column)
            except pl.exceptions.PolarsError:
                return None
        columns.append(column.alias(name))
    return pl.DataFrame(columns)


@cache
def _frame_types(kind: str) -> dict[str, tuple[tuple[pl.DataType, ...], Callable | None, bool]]:
    table = TABLES[kind]
    out = {}
    for name in data_columns(kind):
        column = table.c[name]
        nulls = (pl.Null(),) if column.nullable else ()
        if isinstance(column.type, DateTime):
            out[name] = ((pl.String(), *nulls), _instants, column.nullable)
        elif isinstance(column.type, Date):
            out[name] = ((pl.String(), *nulls), _dates, column.nullable)
        elif isinstance(column.type, Boolean):
            out[name] = ((pl.Boolean(), *nulls), None, column.nullable)
        elif isinstance(column.type, Integer):
            out[name] = ((pl.Int64(), *nulls), None, column.nullable)
        elif isinstance(column.type, Numeric):
            out[name] = ((pl.Float64(), pl.Int64(), *nulls), _floats, column.nullable)
        else:
            out[name] = ((pl.String(), *nulls), None, column.nullable)
    return out


def _floats(column: pl.Series) -> pl.Series:
    return column.cast(pl.Float64)


def _dates(column: pl.Series) -> pl.Series:
    return column.str.to_date("%Y-%m-%d", strict=True)


def _instants(column: pl.Series) -> pl.Series:
    return column.str.to_datetime("%Y-%m-%dT%H:%M:%S%.f", time_unit="us", strict=True)


_PARSED = {_dates: pl.Date(), _instants: pl.Datetime("us"), _floats: pl.Float64()}
