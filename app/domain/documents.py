"""Brazilian taxpayer documents: CNPJ (companies) and CPF (people).

Both end in two mod-11 check digits. The CNPJ also comes in the alphanumeric
format the Receita Federal issues from July 2026: the first 12 positions may
hold letters A-Z, each worth ``ord(char) - 48`` in the check-digit sums, while
the two check digits stay numeric. Digits-only CNPJs are unchanged by that rule.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from typing import Literal

import numpy as np

DocumentKind = Literal["cnpj", "cpf"]
Rng = random.Random | np.random.Generator

CNPJ_LENGTH = 14
CPF_LENGTH = 11

_CNPJ_FIRST_WEIGHTS = (5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2)
_CNPJ_SECOND_WEIGHTS = (6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2)
_CPF_FIRST_WEIGHTS = tuple(range(10, 1, -1))
_CPF_SECOND_WEIGHTS = tuple(range(11, 1, -1))

_PUNCTUATION = re.compile(r"[\s./\-]")
_CNPJ_SHAPE = re.compile(r"[0-9A-Z]{12}[0-9]{2}")
_CPF_SHAPE = re.compile(r"[0-9]{11}")


def normalize_document(value: str) -> str:
    """Drop the usual punctuation (dots, slash, dash, spaces) and uppercase."""
    return _PUNCTUATION.sub("", value).upper()


def is_valid_cnpj(value: str) -> bool:
    """True for a 14-position CNPJ, formatted or not, numeric or alphanumeric."""
    cnpj = normalize_document(value)
    if not _CNPJ_SHAPE.fullmatch(cnpj) or _all_same(cnpj):
        return False
    values = [_char_value(char) for char in cnpj]
    return values[12:] == _cnpj_check_digits(values[:12])


def is_valid_cpf(value: str) -> bool:
    """True for an 11-digit CPF, formatted or not."""
    cpf = normalize_document(value)
    if not _CPF_SHAPE.fullmatch(cpf) or _all_same(cpf):
        return False
    digits = [int(char) for char in cpf]
    return digits[9:] == _cpf_check_digits(digits[:9])


def document_kind(value: str) -> DocumentKind | None:
    """``"cnpj"`` or ``"cpf"`` for a valid document, ``None`` for anything else."""
    if is_valid_cnpj(value):
        return "cnpj"
    if is_valid_cpf(value):
        return "cpf"
    return None


def generate_cnpj(rng: Rng) -> str:
    """A valid digits-only CNPJ: random 8-digit root, mostly head office branch 0001."""
    base = _random_digits(rng, 8) + _random_branch(rng)
    return "".join(str(digit) for digit in base + _cnpj_check_digits(base))


def generate_cpf(rng: Rng) -> str:
    """A valid digits-only CPF."""
    base = _random_digits(rng, 9)
    if _all_same(base):
        base[0] = (base[0] + 1) % 10
    return "".join(str(digit) for digit in base + _cpf_check_digits(base))


def _cnpj_check_digits(base: Sequence[int]) -> list[int]:
    first = _mod11_digit(base, _CNPJ_FIRST_WEIGHTS)
    second = _mod11_digit([*base, first], _CNPJ_SECOND_WEIGHTS)
    return [first, second]


def _cpf_check_digits(base: Sequence[int]) -> list[int]:
    first = _mod11_digit(base, _CPF_FIRST_WEIGHTS)
    second = _mod11_digit([*base, first], _CPF_SECOND_WEIGHTS)
    return [first, second]


def _mod11_digit(values: Sequence[int], weights: Sequence[int]) -> int:
    """Remainder below 2 gives 0, otherwise 11 minus the remainder (same rule for CPF and CNPJ)."""
    remainder = sum(v * w for v, w in zip(values, weights, strict=True)) % 11
    return 0 if remainder < 2 else 11 - remainder


def _char_value(char: str) -> int:
    return ord(char) - 48


def _all_same(values: Sequence[object] | str) -> bool:
    return len(set(values)) == 1


def _random_branch(rng: Rng) -> list[int]:
    """Branch 0001 for 80% of draws, 0002 and 0003 for the rest."""
    draw = _random_digits(rng, 1)[0]
    return [0, 0, 0, 1 if draw < 8 else draw - 6]


def _random_digits(rng: Rng, count: int) -> list[int]:
    if isinstance(rng, np.random.Generator):
        return [int(digit) for digit in rng.integers(0, 10, size=count)]
    return [rng.randrange(10) for _ in range(count)]
