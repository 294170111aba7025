"""Strict field types shared by request schemas: `true` is not a number, a number is not a date."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, Strict, StringConstraints

from app.domain.documents import is_valid_cnpj, is_valid_cpf, normalize_document

_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
UFS = frozenset(
    "AC AL AP AM BA CE DF ES GO MA MT MS MG PA PB PR PE PI RJ RN RS RO RR SC SP SE TO".split()
)


def _iso_text(value: Any) -> Any:
    if isinstance(value, (int, float, bool)):
        raise ValueError("must be an ISO 8601 string, not a number")
    return value


def _iso_query(value: Any) -> Any:
    if isinstance(value, str) and _NUMBER.match(value.strip()):
        raise ValueError("must be an ISO 8601 date-time such as 2026-01-31T00:00:00Z, not a number")
    return _iso_text(value)


def _utc_naive(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value
    try:
        return value.astimezone(UTC).replace(tzinfo=None)
    except OverflowError:
        raise ValueError("is out of range once converted to UTC") from None


def _utc_aware(value: datetime) -> datetime:
    """A query bound as an aware UTC instant (naive means UTC)."""
    return _utc_naive(value).replace(tzinfo=UTC)


def _two_decimals(value: float) -> float:
    # round() is correctly rounded: a value written with at most two decimals is its own rounding.
    if round(value, 2) != value:
        raise ValueError("must have at most two decimal places (BRL cents)")
    return value


def _valid_document(value: str) -> str:
    normalized = normalize_document(value)
    if len(normalized) == 14 and is_valid_cnpj(normalized):
        return normalized
    if len(normalized) == 11 and is_valid_cpf(normalized):
        return normalized
    raise ValueError("must be a CNPJ (14) or CPF (11) with valid check digits")


def _valid_uf(value: str) -> str:
    value = value.upper()
    if value not in UFS:
        raise ValueError("must be a Brazilian state code (UF), e.g. SP")
    return value


# Batch items are validated from the raw JSON body, where strict dates accept ISO 8601 text and
# refuse numbers inside pydantic-core. Bodies FastAPI parses first (decisions) are validated as
# Python objects, where strict would refuse the text itself: there a light check refuses numbers.
IsoDate = Annotated[date, Strict()]
IsoDateTime = Annotated[datetime, Strict(), AfterValidator(_utc_naive)]
LaxIsoDate = Annotated[date, BeforeValidator(_iso_text)]
LaxIsoDateTime = Annotated[datetime, BeforeValidator(_iso_text), AfterValidator(_utc_naive)]
# NUMERIC(14, 2) holds up to 999,999,999,999.99
Money = Annotated[float, Strict(), Field(ge=0, lt=1e12), AfterValidator(_two_decimals)]
Percent = Annotated[float, Strict(), Field(ge=0, le=100)]
Count = Annotated[int, Strict(), Field(ge=0, le=1_000_000)]
Flag = Annotated[bool, Strict()]
# Control characters (C0, DEL, C1) and the bidirectional overrides that can make a text read as
# another (U+202A-U+202E, U+2066-U+2069); checked in pydantic-core, no Python call per value.
NO_CONTROL_CHARACTERS = r"^[^\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]*$"
Code = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64,
                                        pattern=NO_CONTROL_CHARACTERS)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200,
                                        pattern=NO_CONTROL_CHARACTERS)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200, pattern=NO_CONTROL_CHARACTERS)]
Document = Annotated[str, Strict(), AfterValidator(_valid_document)]
# Query-string bounds: ISO 8601 text only (no "0.5" read as a Unix time), compared in UTC.
QueryDateTime = Annotated[datetime, BeforeValidator(_iso_query), AfterValidator(_utc_aware)]
Uf = Annotated[str, Strict(), AfterValidator(_valid_uf)]
