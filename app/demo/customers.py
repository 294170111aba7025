"""The customers frame: documents, plausible Brazilian names, tax regime flags and state."""

from __future__ import annotations

import numpy as np
import polars as pl

from app.demo.arrays import choose_rows, date_series
from app.demo.population import Population, Segment
from app.domain.documents import generate_cnpj, generate_cpf

_STATE_WEIGHTS = {
    "SP": 28.0, "MG": 11.0, "RJ": 9.0, "PR": 7.5, "RS": 7.0, "SC": 5.5, "BA": 5.0, "GO": 3.5,
    "PE": 3.0, "DF": 3.0, "CE": 2.5, "ES": 2.2, "PA": 2.0, "MT": 2.0, "MS": 1.5, "AM": 1.3,
    "MA": 1.0, "PB": 1.0, "RN": 0.9, "AL": 0.7, "PI": 0.6, "SE": 0.6, "RO": 0.6, "TO": 0.5,
    "AC": 0.2, "AP": 0.2, "RR": 0.2,
}  # fmt: skip

_FIRST_NAMES = np.array([
    "Ana", "Antônio", "Beatriz", "Bruno", "Carla", "Carlos", "Daniela", "Eduardo", "Fernanda",
    "Francisco", "Gabriela", "Gustavo", "Helena", "João", "José", "Juliana", "Larissa", "Lucas",
    "Luiz", "Marcos", "Maria", "Mariana", "Paulo", "Pedro", "Rafael", "Renata", "Rodrigo",
    "Sandra", "Tiago", "Vanessa",
])  # fmt: skip
_SURNAMES = np.array([
    "Silva", "Santos", "Oliveira", "Souza", "Rodrigues", "Ferreira", "Alves", "Pereira", "Lima",
    "Gomes", "Costa", "Ribeiro", "Martins", "Carvalho", "Almeida", "Lopes", "Soares", "Fernandes",
    "Vieira", "Barbosa", "Rocha", "Dias", "Nascimento", "Andrade", "Moreira", "Nunes", "Marques",
    "Machado", "Mendes", "Freitas", "Cardoso", "Teixeira", "Moura", "Castro", "Pinto",
])  # fmt: skip
_TRADES = np.array([
    "Comercial", "Distribuidora", "Atacadão", "Supermercado", "Mercearia", "Farmácia",
    "Auto Peças", "Materiais de Construção", "Transportes", "Indústria", "Padaria", "Restaurante",
    "Construtora", "Papelaria", "Drogaria", "Empório", "Casa de Carnes", "Hortifruti",
    "Agropecuária", "Ferragens", "Móveis", "Confecções", "Calçados", "Laticínios",
])  # fmt: skip
_FANCY = np.array([
    "Nova Era", "Bom Preço", "Central", "São Jorge", "Progresso", "Estrela", "Aliança",
    "Boa Vista", "Horizonte", "Santa Luzia", "São José", "Primavera", "Ouro Verde", "Bela Vista",
    "Real", "Mineira", "Paulista", "Gaúcha", "Do Vale", "Litoral", "Sol Nascente", "Triângulo",
])  # fmt: skip
# Legal suffix shares for FINAL_CONSUMER, MEI, SMALL, MEDIUM, LARGE companies.
_LEGAL = np.array(["ME", "EPP", "Ltda", "S.A."])
_LEGAL_SHARES = np.array([
    [0.40, 0.20, 0.40, 0.00],
    [1.00, 0.00, 0.00, 0.00],
    [0.45, 0.25, 0.30, 0.00],
    [0.00, 0.10, 0.80, 0.10],
    [0.00, 0.00, 0.50, 0.50],
])  # fmt: skip
_CPF_SHARE = np.array([0.7, 0.2, 0.0, 0.0, 0.0])
_SIMPLES_SHARE = np.array([0.5, 1.0, 0.75, 0.25, 0.0])


def build_customers(rng: np.random.Generator, population: Population) -> pl.DataFrame:
    n = population.size
    segment = population.segment
    has_cpf = rng.random(n) < _CPF_SHARE[segment]
    mei = segment == Segment.MEI
    simples = mei | (~has_cpf & (rng.random(n) < _SIMPLES_SHARE[segment]))
    states = np.array(list(_STATE_WEIGHTS))
    weights = np.array(list(_STATE_WEIGHTS.values()))
    return pl.DataFrame(
        {
            "customer_id": customer_ids(n),
            "document": _documents(rng, has_cpf),
            "name": _names(rng, segment, has_cpf),
            "simples_nacional": simples,
            "mei": mei,
            "final_consumer": segment == Segment.FINAL_CONSUMER,
            "state": rng.choice(states, size=n, p=weights / weights.sum()),
            "customer_since": date_series("customer_since", population.since),
        }
    )


def customer_ids(count: int) -> list[str]:
    return [f"C{number:06d}" for number in range(1, count + 1)]


def _documents(rng: np.random.Generator, has_cpf: np.ndarray) -> list[str]:
    """One distinct document per customer (CPF where has_cpf, CNPJ otherwise)."""
    seen: set[str] = set()
    documents = []
    for cpf in has_cpf:
        make = generate_cpf if cpf else generate_cnpj
        document = make(rng)
        while document in seen:
            document = make(rng)
        seen.add(document)
        documents.append(document)
    return documents


def _names(rng: np.random.Generator, segment: np.ndarray, has_cpf: np.ndarray) -> list[str]:
    """People's names for CPF final consumers, "<person> MEI" for MEIs, company names otherwise."""
    surnames = _two_surnames(rng, len(segment))
    companies = _company_names(rng, segment, surnames)
    first_names = rng.choice(_FIRST_NAMES, len(segment))
    people = [f"{first} {a} {b}" for first, (a, b) in zip(first_names, surnames, strict=True)]
    return [
        f"{person} MEI" if kind == Segment.MEI else person if cpf else company
        for person, company, kind, cpf in zip(people, companies, segment, has_cpf, strict=True)
    ]


def _company_names(
    rng: np.random.Generator, segment: np.ndarray, surnames: list[tuple[str, str]]
) -> list[str]:
    """Names like "Comercial Silva Ltda", "Distribuidora Nova Era ME", "Móveis Lima & Dias EPP"."""
    n = len(segment)
    trades = rng.choice(_TRADES, n)
    fancies = rng.choice(_FANCY, n)
    legals = _LEGAL[choose_rows(rng, _LEGAL_SHARES[segment])]
    patterns = rng.integers(0, 3, n)
    names = []
    parts = zip(trades, fancies, legals, patterns, surnames, strict=True)
    for trade, fancy, legal, pattern, (a, b) in parts:
        core = a if pattern == 0 else fancy if pattern == 1 else f"{a} & {b}"
        names.append(f"{trade} {core} {legal}")
    return names


def _two_surnames(rng: np.random.Generator, count: int) -> list[tuple[str, str]]:
    first = rng.integers(0, len(_SURNAMES), count)
    second = (first + rng.integers(1, len(_SURNAMES), count)) % len(_SURNAMES)
    return list(zip(_SURNAMES[first].tolist(), _SURNAMES[second].tolist(), strict=True))
