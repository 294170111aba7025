"""Strict field types shared by request schemas: `true` is not a number, a number is not a date."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, Strict, StringConstraints

from app.domain.documents import is_valid_cnpj, is_valid_cpf, normalize_document

UFS = frozenset(
    "AC AL AP AM BA CE DF ES GO MA MT MS MG PA PB PR PE PI RJ RN RS RO RR SC SP SE TO".split()
)


def _iso_text(value: Any) -> Any:
    if isinstance(value, (int, float, bool)):
        raise ValueError("must be an ISO 8601 string, not a number")
    return value


def _utc_naive(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


def _two_decimals(value: float) -> float:
    if Decimal(str(value)).as_tuple().exponent < -2:
        raise ValueError("must have at most two decimal places (BRL cents)")
    return value


def _valid_document(value: str) -> str:
    normalized = normalize_document(value)
    if len(normalized) == 14 and is_valid_cnpj(normalized):
        return normalized
    if len(normalized) == 11 and is_valid_cpf(normalized):
        return normalized
    raise ValueError("must be a CNPJ (14) or CPF (11) with valid check digits")


def _printable(value: str) -> str:
    if not value.isprintable():
        raise ValueError("must not contain control characters")
    return value


def _valid_uf(value: str) -> str:
    value = value.upper()
    if value not in UFS:
        raise ValueError("must be a Brazilian state code (UF), e.g. SP")
    return value


IsoDate = Annotated[date, BeforeValidator(_iso_text)]
IsoDateTime = Annotated[datetime, BeforeValidator(_iso_text), AfterValidator(_utc_naive)]
# NUMERIC(14, 2) holds up to 999,999,999,999.99
Money = Annotated[float, Strict(), Field(ge=0, lt=1e12), AfterValidator(_two_decimals)]
Percent = Annotated[float, Strict(), Field(ge=0, le=100)]
Count = Annotated[int, Strict(), Field(ge=0, le=1_000_000)]
Flag = Annotated[bool, Strict()]
Code = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64),
                 AfterValidator(_printable)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
                 AfterValidator(_printable)]
Document = Annotated[str, Strict(), AfterValidator(_valid_document)]
Uf = Annotated[str, Strict(), AfterValidator(_valid_uf)]
