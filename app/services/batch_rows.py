"""A stored batch's payload as table rows, each value checked against its column's type.

The API validated every item before accepting the batch, so the payload is not validated a second
time (that doubled the cost of a batch); each value is only checked to be of its column's type, so
that a record forged on the broker is refused (dead letter), never stored.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from functools import cache
from typing import Any

import orjson
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
