"""One way to page every list: newest first, keyset pagination behind an opaque cursor.

A cursor is the sort key of the last row of a page - for example (created_at, id) - encoded as
URL-safe base64 of a JSON array; instants travel as integer microseconds since the epoch. The
next page holds the rows strictly after that key in the list's order. Keyset paging never skips
or repeats a row when rows are inserted meanwhile, and costs one index range scan per page.

Anything that is not a cursor we issued (wrong shape, wrong types, out-of-range values) is refused
with a 422 naming the `cursor` field, never a 500.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import orjson

from app.errors import InvalidInput

MAX_CURSOR_LENGTH = 512
MAX_KEY_TEXT = 100
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MIN_US = -62_135_596_800_000_000  # 0001-01-01T00:00:00Z
_MAX_US = 253_402_300_799_999_999  # 9999-12-31T23:59:59.999999Z
_INT64 = 2**63
_CURSOR_TEXT = re.compile(r"^[A-Za-z0-9_-]+={0,2}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")

Key = datetime | int | str


@dataclass(frozen=True, slots=True)
class PageRequest:
    """What a list endpoint was asked for: at most `limit` rows after `cursor` (None: the first page)."""

    limit: int
    cursor: str | None = None


def encode_cursor(key: Sequence[Key]) -> str:
    values = [_encode_value(v) for v in key]
    return base64.urlsafe_b64encode(orjson.dumps(values)).decode().rstrip("=")


def decode_cursor(raw: str, types: Sequence[type]) -> tuple[Key, ...]:
    """The key a cursor holds, each value checked against the list's key `types`
    (datetime, int or str)."""
    values = _parse(raw)
    if len(values) != len(types):
        raise _invalid()
    return tuple(_decode_value(value, kind) for value, kind in zip(values, types, strict=True))


def _parse(raw: str) -> list:
    if not raw or len(raw) > MAX_CURSOR_LENGTH or not _CURSOR_TEXT.match(raw):
        raise _invalid()
    try:
        decoded = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
        values = orjson.loads(decoded)
    except (binascii.Error, ValueError) as exc:
        raise _invalid() from exc
    if not isinstance(values, list):
        raise _invalid()
    return values


def _encode_value(value: Key) -> int | str:
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        return (aware - _EPOCH) // timedelta(microseconds=1)
    return value


def _decode_value(value: object, kind: type) -> Key:
    if kind is datetime:
        if type(value) is not int or not _MIN_US <= value <= _MAX_US:
            raise _invalid()
        return _EPOCH + timedelta(microseconds=value)
    if kind is int:
        if type(value) is not int or not -_INT64 <= value < _INT64:
            raise _invalid()
        return value
    if type(value) is not str or len(value) > MAX_KEY_TEXT or _CONTROL.search(value):
        raise _invalid()
    return value


def _invalid() -> InvalidInput:
    return InvalidInput(
        "cursor must be the next_cursor value of a previous page of this list.",
        errors=[{"field": "cursor", "message": "not a cursor issued by this list"}],
    )
