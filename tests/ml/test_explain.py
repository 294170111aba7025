import numpy as np
import polars as pl
import pytest

from app.ml.explain import Reason, format_money, missing_features, reasons, sentence
from app.ml.features import FEATURE_NAMES, feature_matrix
from app.ml.model import ScoringModel

NAMES = list(FEATURE_NAMES)


def _row(**values: float | None) -> dict[str, float | None]:
    row: dict[str, float | None] = {name: 0.0 for name in NAMES}
    row.update(
        amount=12_000.0, limit_amount=5_000.0, amount_to_limit=2.4, limit_age_days=40.0,
        pefin_count=3.0, pefin_amount=4_321.5, serasa_age_days=12.0, serasa_score=410.0,
        paid_on_time=62.5, past_orders_count=14.0, past_blocked_count=0.0, past_block_rate=0.0,
        payment_terms_days=60.0, state_code=25.0, tenure_days=900.0,
    )  # fmt: skip
    row.update(values)
    return row


def _contributions(**pushes: float) -> np.ndarray:
    contrib = np.zeros(len(NAMES) + 1)
    for name, value in pushes.items():
        contrib[NAMES.index(name)] = value
    contrib[-1] = -1.5  # bias never becomes a reason
    return contrib


def test_block_reasons_in_english_and_portuguese() -> None:
    contrib = _contributions(amount_to_limit=1.2, pefin_count=0.8, past_block_rate=-0.6, amount=0.1)
    en = reasons(_row(), contrib, NAMES, "block", "en")
    assert [r.feature for r in en] == ["amount_to_limit", "pefin_count", "amount"]
    assert en[0] == Reason(
        feature="amount_to_limit",
        value=2.4,
        contribution=1.2,
        text="Order amount is 2.4x the customer's credit limit (R$ 5,000.00)",
    )
    assert en[1].text == (
        "3 PEFIN records on the latest Serasa report, queried 12 days before the order"
    )
    assert en[2].text == "Order amount is R$ 12,000.00"
    pt = reasons(_row(), contrib, NAMES, "block", "pt-BR")
    assert [r.text for r in pt] == [
        "Valor do pedido é 2,4x o limite de crédito do cliente (R$ 5.000,00)",
        "3 registros de PEFIN no último relatório Serasa, consultado 12 dias antes do pedido",
        "Valor do pedido é R$ 12.000,00",
    ]


def test_bill_reasons_take_the_most_negative_contributions() -> None:
    contrib = _contributions(
        amount_to_limit=1.2, past_block_rate=-0.6, serasa_score=-0.9, tenure_days=-0.2
    )
    bill = reasons(_row(amount_to_limit=0.3), contrib, NAMES, "bill", "en")
    assert [r.text for r in bill] == [
        "Serasa score is 410 (0-1000), queried 12 days before the order",
        "No earlier orders blocked (0 of 14)",
        "Customer for 2.5 years at the order date",
    ]
    assert all(r.contribution < 0 for r in bill)
    pt = reasons(_row(), contrib, NAMES, "bill", "pt-BR")
    assert pt[1].text == "Nenhum pedido anterior bloqueado (0 de 14)"
    assert pt[2].text == "Cliente há 2,5 anos na data do pedido"


def test_top_n_and_uninformative_nulls() -> None:
    contrib = _contributions(paid_cash=2.0, limit_amount=1.0, amount=0.5, payment_terms_days=0.4)
    row = _row(paid_cash=None, limit_amount=None, amount_to_limit=None, limit_age_days=None)
    got = reasons(row, contrib, NAMES, "block", "en", top_n=2)
    # paid_cash is null although a report exists: nothing to say, skipped
    assert [r.text for r in got] == [
        "No credit limit in force on the order date",
        "Order amount is R$ 12,000.00",
    ]
    assert got[0].value is None


def test_a_missing_group_gives_one_sentence() -> None:
    prefixes = ("paid_", "suppliers_", "pefin", "serasa")
    serasa = {name: None for name in NAMES if name.startswith(prefixes)}
    contrib = _contributions(pefin_count=0.9, serasa_age_days=0.7, paid_on_time=0.5, amount=0.1)
    got = reasons(_row(**serasa), contrib, NAMES, "block", "pt-BR")
    assert [r.text for r in got] == [
        "Nenhum relatório Serasa consultado até a data do pedido",
        "Valor do pedido é R$ 12.000,00",
    ]


def test_first_order_history_sentences() -> None:
    row = _row(past_orders_count=0.0, past_block_rate=None, past_mean_amount=None, exposure_30d=0.0)
    assert sentence("exposure_30d", row, "en") == "No earlier orders from this customer"
    assert sentence("past_block_rate", row, "pt-BR") == "Nenhum pedido anterior deste cliente"


def test_sentences_cover_every_feature_in_both_languages() -> None:
    for lang in ("en", "pt-BR"):
        for name in NAMES:
            text = sentence(name, _row(), lang)
            assert text and "{" not in text and "unknown" not in text, (name, lang, text)


def test_money_format() -> None:
    assert format_money(12_345.67, "en") == "R$ 12,345.67"
    assert format_money(12_345.67, "pt-BR") == "R$ 12.345,67"
    assert format_money(0.5, "pt-BR") == "R$ 0,50"


def test_missing_features() -> None:
    assert missing_features(_row()) == []
    row = _row(limit_amount=None, serasa_age_days=None, past_orders_count=0.0)
    assert missing_features(row) == ["credit_limit", "serasa_report", "order_history"]
    assert missing_features(_row(serasa_score=float("nan"))) == ["serasa_score"]
    assert missing_features({}) == ["customer", "credit_limit", "serasa_report", "order_history"]


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError):
        reasons(_row(), np.zeros(3), NAMES, "block")
    with pytest.raises(ValueError):
        reasons(_row(), _contributions(), NAMES, "approve")
    with pytest.raises(ValueError):
        reasons(_row(), _contributions(), NAMES, "block", "es")


def test_reasons_from_the_trained_model_point_the_right_way(
    model: ScoringModel, features: pl.DataFrame
) -> None:
    rows = features.tail(50)
    X = feature_matrix(rows)
    decisions = model.decide(model.predict_proba(X))
    contributions = model.contributions(X)
    for i, decision in enumerate(decisions):
        got = reasons(rows.row(i, named=True), contributions[i], NAMES, decision, "pt-BR")
        assert got, i
        sign = 1 if decision == "block" else -1
        assert all(sign * r.contribution > 0 for r in got)
        sizes = [abs(r.contribution) for r in got]
        assert sizes == sorted(sizes, reverse=True)
