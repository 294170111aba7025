import random

import numpy as np
import pytest

from app.domain.documents import (
    document_kind,
    generate_cnpj,
    generate_cpf,
    is_valid_cnpj,
    is_valid_cpf,
    normalize_document,
)

VALID_CNPJS = ["11.222.333/0001-81", "11222333000181", "12.345.678/0001-95", "33000167000101"]
VALID_CPFS = ["123.456.789-09", "12345678909", "529.982.247-25", "00000000191"]
ALPHANUMERIC_CNPJS = ["12.ABC.345/01DE-35", "12abc34501de35"]


class TestCnpj:
    @pytest.mark.parametrize("value", VALID_CNPJS + ALPHANUMERIC_CNPJS)
    def test_accepts_valid(self, value: str) -> None:
        assert is_valid_cnpj(value)

    @pytest.mark.parametrize(
        "value",
        [
            "11.222.333/0001-82",  # wrong second check digit
            "11.222.333/0001-91",  # wrong first check digit
            "1122233300018",  # too short
            "112223330001810",  # too long
            "00000000000000",
            "11111111111111",
            "12.ABC.345/01DE-3A",  # check digits must be numeric
            "12.ABC.345/01DE-36",
            "",
            "abc",
        ],
    )
    def test_rejects_invalid(self, value: str) -> None:
        assert not is_valid_cnpj(value)

    def test_cpf_is_not_a_cnpj(self) -> None:
        assert not is_valid_cnpj("123.456.789-09")


class TestCpf:
    @pytest.mark.parametrize("value", VALID_CPFS)
    def test_accepts_valid(self, value: str) -> None:
        assert is_valid_cpf(value)

    @pytest.mark.parametrize(
        "value",
        [
            "123.456.789-08",
            "123.456.789-19",
            "1234567890",
            "123456789090",
            "111.111.111-11",
            "00000000000",
            "1234567890A",
            "",
        ],
    )
    def test_rejects_invalid(self, value: str) -> None:
        assert not is_valid_cpf(value)

    def test_cnpj_is_not_a_cpf(self) -> None:
        assert not is_valid_cpf("11.222.333/0001-81")


def test_normalize_strips_punctuation_and_uppercases() -> None:
    assert normalize_document(" 12.abc.345/01de-35 ") == "12ABC34501DE35"
    assert normalize_document("123.456.789-09") == "12345678909"


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("11.222.333/0001-81", "cnpj"),
        ("12.ABC.345/01DE-35", "cnpj"),
        ("123.456.789-09", "cpf"),
        ("123.456.789-00", None),
        ("", None),
    ],
)
def test_document_kind(value: str, kind: str | None) -> None:
    assert document_kind(value) == kind


@pytest.mark.parametrize("rng", [random.Random(3), np.random.default_rng(3)], ids=["random", "numpy"])
class TestGenerators:
    def test_generated_cnpjs_validate(self, rng: random.Random | np.random.Generator) -> None:
        values = [generate_cnpj(rng) for _ in range(2_000)]
        assert all(v.isdigit() and len(v) == 14 and is_valid_cnpj(v) for v in values)
        assert len(set(values)) > 1_990

    def test_generated_cpfs_validate(self, rng: random.Random | np.random.Generator) -> None:
        values = [generate_cpf(rng) for _ in range(2_000)]
        assert all(v.isdigit() and len(v) == 11 and is_valid_cpf(v) for v in values)
        assert len(set(values)) > 1_990

    def test_changing_a_check_digit_fails(self, rng: random.Random | np.random.Generator) -> None:
        for generate, validate in ((generate_cnpj, is_valid_cnpj), (generate_cpf, is_valid_cpf)):
            for _ in range(200):
                value = generate(rng)
                for position in (len(value) - 2, len(value) - 1):
                    assert not validate(_bump_digit(value, position))

    def test_changing_a_body_digit_fails(self, rng: random.Random | np.random.Generator) -> None:
        # Mod 11 maps remainders 0 and 1 to the same check digit, so a tiny share of
        # single-digit substitutions keep both check digits (about 0.1%); nearly all must fail.
        for generate, validate in ((generate_cnpj, is_valid_cnpj), (generate_cpf, is_valid_cpf)):
            changed = [_bump_digit(generate(rng), p) for _ in range(200) for p in range(9)]
            caught = sum(not validate(value) for value in changed)
            assert caught / len(changed) > 0.99


def _bump_digit(value: str, position: int) -> str:
    return value[:position] + str((int(value[position]) + 1) % 10) + value[position + 1 :]


def test_generators_are_deterministic_for_a_seed() -> None:
    first = [generate_cnpj(random.Random(9)) for _ in range(3)]
    second = [generate_cnpj(random.Random(9)) for _ in range(3)]
    assert first == second
    rng_a, rng_b = np.random.default_rng(9), np.random.default_rng(9)
    assert [generate_cpf(rng_a) for _ in range(5)] == [generate_cpf(rng_b) for _ in range(5)]
