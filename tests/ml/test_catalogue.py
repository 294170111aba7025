"""The reason catalogue: every template renders in both languages and directions, with edge values,
and docs/reasons.md is its current rendering."""

from pathlib import Path

import numpy as np
import pytest

from app.ml import monotone
from app.ml.catalogue import BASE_ROW, markdown
from app.ml.explain import describe, sentence
from app.ml.features import FEATURE_NAMES
from app.ml.reference import FeatureReference, Reference, percentiles
from app.ml.templates import CATALOGUE, COMPARISONS, DIRECTIONLESS, DIRECTIONS, LANGUAGES, MISSING

DOCS = Path(__file__).parents[2] / "docs" / "reasons.md"
EDGES = (0.0, 1.0, 1e12, 0.004, 3.0, None)
REFERENCE = Reference({name: FeatureReference(tuple(percentiles(np.arange(100.0))), 0.03) for name in FEATURE_NAMES})
UNRESOLVED = ("{", "}", "unknown", "desconhecid", "nan", "None")


def test_every_feature_is_in_the_catalogue_or_never_cited_alone() -> None:
    assert set(CATALOGUE) | DIRECTIONLESS == set(FEATURE_NAMES)
    assert not set(CATALOGUE) & DIRECTIONLESS
    for feature, entry in CATALOGUE.items():
        assert set(entry) == set(DIRECTIONS), feature
        for direction in DIRECTIONS:
            assert set(entry[direction]) == set(LANGUAGES), feature
    assert all(set(texts) == set(LANGUAGES) for texts in MISSING.values())
    assert all(set(words) == set(COMPARISONS["en"]) for words in COMPARISONS.values())


@pytest.mark.parametrize("feature", sorted(CATALOGUE))
def test_every_template_renders_with_edge_values(feature: str) -> None:
    for direction in DIRECTIONS:
        for value in EDGES:
            row = dict(BASE_ROW) | {feature: value}
            texts = {}
            for lang in LANGUAGES:
                plain = describe(feature, row, direction, lang)
                if value is None:  # unknown: a reason to block only, in the words of MISSING
                    assert plain is None if direction == "bill" else plain is not None or feature not in MISSING
                    assert plain is None or plain[0] in {texts[lang] for texts in MISSING.values()}, plain
                if plain is None:
                    continue
                compared = describe(feature, row, direction, lang, REFERENCE)
                for said in (plain, compared):
                    if said is None:  # a directional value at the end opposite to its push: not cited
                        assert monotone.direction(feature), feature
                        continue
                    text = said[0]
                    assert text and not text[0].islower() and not any(bad in text for bad in UNRESOLVED), text
                texts[lang] = plain[0]
            if len(texts) == 2:
                assert texts["en"] != texts["pt-BR"], texts


def test_huge_and_tiny_values_read_well() -> None:
    row = dict(BASE_ROW) | {"amount_to_limit": 1e6, "amount": 1e9}
    assert sentence("amount_to_limit", row, "en") == "Order is 1,000,000x the customer's credit limit (R$ 29,400.00)"
    assert sentence("amount", row, "pt-BR") == "Valor do pedido é R$ 1.000.000.000,00"
    tiny = dict(BASE_ROW) | {"amount_to_limit": 1e-7}
    assert sentence("amount_to_limit", tiny, "en", "bill") == (
        "Order is only less than 0.01% of the customer's credit limit (R$ 29,400.00)")
    assert sentence("amount_to_limit", dict(BASE_ROW) | {"amount_to_limit": 1.0}, "pt-BR") == (
        "Pedido é 1x o limite de crédito do cliente (R$ 29.400,00)")
    assert sentence("paid_8_15_days_late", dict(BASE_ROW) | {"paid_8_15_days_late": 0.3}, "en", "bill") == (
        "Only 0.3% of payments made 8-15 days late (latest Serasa report)")  # not "No payments": 0.3 is not 0


def test_directional_entries_differ_by_direction() -> None:
    for feature in CATALOGUE:
        same = CATALOGUE[feature]["block"] == CATALOGUE[feature]["bill"]
        assert same == (monotone.direction(feature) == 0), feature


def test_docs_reasons_md_is_the_catalogue() -> None:
    assert DOCS.read_text() == markdown(), "docs/reasons.md is stale: python -m app.ml.catalogue > docs/reasons.md"
