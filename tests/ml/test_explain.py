import math

import numpy as np
import polars as pl
import pytest

from app.ml import monotone
from app.ml.explain import (
    SEPARATOR,
    Reason,
    comparison,
    describe,
    explain_rows,
    format_money,
    format_value,
    missing_features,
    reasons,
    reasons_of_rows,
    rounded,
    sentence,
)
from app.ml.features import FEATURE_NAMES, feature_matrix
from app.ml.reference import FeatureReference, Reference, percentiles
from app.ml.training import TrainingResult

NAMES = list(FEATURE_NAMES)


def _row(**values: float | None) -> dict[str, float | None]:
    row: dict[str, float | None] = {name: 0.0 for name in NAMES}
    row.update(
        amount=12_000.0, limit_amount=5_000.0, amount_to_limit=2.4, limit_age_days=40.0,
        pefin_count=3.0, pefin_amount=4_321.5, serasa_age_days=12.0, serasa_score=410.0,
        paid_on_time=62.5, paid_8_15_days_late=1.2, past_orders_count=14.0, past_blocked_count=0.0,
        past_block_rate=0.0, payment_terms_days=60.0, state_code=25.0, tenure_days=900.0,
    )  # fmt: skip
    row.update(values)
    return row


def _contributions(**pushes: float) -> np.ndarray:
    contrib = np.zeros(len(NAMES) + 1)
    for name, value in pushes.items():
        contrib[NAMES.index(name)] = value
    contrib[-1] = -1.5  # bias never becomes a reason
    return contrib


def _reference(**values: np.ndarray) -> Reference:
    """Hand-made training distributions: percentiles of the given values per feature."""
    return Reference({name: FeatureReference(tuple(percentiles(v)), float(np.mean(np.isnan(v))))
                      for name, v in values.items()})


# amount_to_limit 0.01, 0.02, ..., 1.00: 2.4 is above all; 0.3 has 29% below and 70% above, read from the
# percentiles as 29 and 69 (the percentages are lower bounds, within one point: app/ml/reference.py)
# pefin_count: 90 zeros, 6 ones, 4 threes; serasa_score 300..699; late share 0..9.9 in steps of 0.1
REFERENCE = _reference(
    amount_to_limit=np.arange(1, 101) / 100, pefin_count=np.r_[np.zeros(90), np.ones(6), np.full(4, 3.0)],
    serasa_score=np.arange(300.0, 700.0), paid_8_15_days_late=np.arange(100) / 10,
    amount=np.r_[np.full(50, 1_000.0), np.full(50, 50_000.0)],
    payment_terms_days=np.r_[np.full(80, 30.0), 60.0 * np.ones(20)],
    serasa_age_days=np.r_[np.arange(97.0), np.full(3, np.nan)],
)


def test_block_reasons_say_where_each_value_stands() -> None:
    contrib = _contributions(amount_to_limit=1.2, pefin_count=0.8, past_block_rate=-0.6, amount=0.1)
    en = reasons(_row(), contrib, NAMES, "block", "en", reference=REFERENCE)
    assert [r.feature for r in en] == ["amount_to_limit", "pefin_count", "amount"]
    assert en[0] == Reason(
        feature="amount_to_limit", value=2.4, contribution=1.2,
        text="Order is 2.4x the customer's credit limit (R$ 5,000.00) - higher than in any of this company's orders",
        share=pytest.approx(100 * 1.2 / 2.1, abs=0.05), direction="block", percentile=100,
    )
    assert en[1].text == ("3 PEFIN records on the latest Serasa report, queried 12 days before the order"
                          " - higher than in 96% of this company's orders")
    assert en[2].text == "Order amount is R$ 12,000.00 - higher than in 50% of this company's orders"
    assert [r.share for r in en] == [57.1, 38.1, 4.8]
    pt = reasons(_row(), contrib, NAMES, "block", "pt-BR", reference=REFERENCE)
    assert [r.text for r in pt] == [
        "Pedido é 2,4x o limite de crédito do cliente (R$ 5.000,00) - maior que em todos os pedidos desta empresa",
        "3 registros de PEFIN no último relatório Serasa, consultado 12 dias antes do pedido"
        " - maior que em 96% dos pedidos desta empresa",
        "Valor do pedido é R$ 12.000,00 - maior que em 50% dos pedidos desta empresa",
    ]


def test_bill_reasons_read_as_reassurance_with_hand_computed_percentiles() -> None:
    contrib = _contributions(amount_to_limit=-1.0, pefin_count=-0.5, serasa_score=-0.4, paid_8_15_days_late=-0.3,
                             amount=0.9)
    row = _row(amount_to_limit=0.3, pefin_count=0.0, serasa_score=610.0)
    bill = reasons(row, contrib, NAMES, "bill", "en", reference=REFERENCE)
    assert [r.text for r in bill] == [
        "Order is only 30% of the customer's credit limit (R$ 5,000.00) - lower than in 69% of this company's orders",
        "No PEFIN records on the latest Serasa report, queried 12 days before the order"
        " - as in 90% of this company's orders",
        "Serasa score is 610 (0-1000), queried 12 days before the order - higher than in 77% of this company's orders",
        "Only 1.2% of payments made 8-15 days late (latest Serasa report) - lower than in 86% of this company's orders",
    ]
    assert [r.percentile for r in bill] == [29, 0, 77, 12]
    assert all(r.contribution < 0 and r.direction == "bill" for r in bill)
    assert sum(r.share for r in bill) == pytest.approx(100.0, abs=0.2)
    pt = reasons(row, contrib, NAMES, "bill", "pt-BR", reference=REFERENCE)
    assert pt[0].text == ("Pedido é apenas 30% do limite de crédito do cliente (R$ 5.000,00)"
                          " - menor que em 69% dos pedidos desta empresa")
    assert pt[3].text.startswith("Apenas 1,2% dos pagamentos com 8 a 15 dias de atraso")


def test_without_a_reference_the_sentence_stands_alone() -> None:
    contrib = _contributions(amount_to_limit=-1.0, tenure_days=-0.2)
    got = reasons(_row(amount_to_limit=0.004), contrib, NAMES, "bill", "en")
    assert [(r.text, r.percentile) for r in got] == [
        ("Order is only 0.4% of the customer's credit limit (R$ 5,000.00)", None),
        ("Customer for 2.5 years at the order date", None),
    ]


def test_a_free_feature_compares_on_the_side_where_most_orders_are() -> None:
    contrib = _contributions(payment_terms_days=0.5)
    assert reasons(_row(payment_terms_days=60.0), contrib, NAMES, "block", reference=REFERENCE)[0].text == (
        "Payment terms of 60 days - higher than in 80% of this company's orders")
    assert reasons(_row(payment_terms_days=30.0), contrib, NAMES, "block", reference=REFERENCE)[0].text == (
        "Payment terms of 30 days - as in 80% of this company's orders")
    assert reasons(_row(payment_terms_days=7.0), contrib, NAMES, "block", reference=REFERENCE)[0].text == (
        "Payment terms of 7 days - lower than in any of this company's orders")


def test_a_directional_value_at_the_wrong_end_is_not_cited() -> None:
    # a model trained without constraints may push towards bill with the highest late share
    contrib = _contributions(paid_8_15_days_late=-0.9, tenure_days=-0.1)
    got = reasons(_row(paid_8_15_days_late=50.0), contrib, NAMES, "bill", reference=REFERENCE)
    assert [r.feature for r in got] == ["tenure_days"]
    assert describe("paid_8_15_days_late", _row(paid_8_15_days_late=50.0), "block", "en", REFERENCE) == (
        "50% of payments made 8-15 days late (latest Serasa report) - higher than in any of this company's orders",
        100)


def test_directionless_facts_and_unknowns_towards_bill_are_never_cited() -> None:
    contrib = _contributions(state_code=-2.0, mei=-1.0, serasa_score=-0.5, amount=-0.1)
    got = reasons(_row(serasa_score=None), contrib, NAMES, "bill", reference=REFERENCE)
    assert [r.feature for r in got] == ["amount"]
    assert got[0].share == pytest.approx(100 * 0.1 / 3.6, abs=0.05)  # the uncited pushes still count
    block = reasons(_row(serasa_score=None), -contrib, NAMES, "block")
    assert [r.text for r in block] == ["Latest Serasa report has no score", "Order amount is R$ 12,000.00"]


def test_a_missing_group_gives_one_sentence_with_its_share() -> None:
    prefixes = ("paid_", "suppliers_", "pefin", "serasa")
    serasa = {name: None for name in NAMES if name.startswith(prefixes)}
    contrib = _contributions(pefin_count=0.9, serasa_age_days=0.7, paid_on_time=0.5, amount=0.1)
    got = reasons(_row(**serasa), contrib, NAMES, "block", "pt-BR", reference=REFERENCE)
    assert [r.text for r in got] == [
        "Nenhum relatório Serasa consultado até a data do pedido - como em 3% dos pedidos desta empresa",
        "Valor do pedido é R$ 12.000,00 - maior que em 50% dos pedidos desta empresa",
    ]
    assert got[0].value is None and got[0].percentile is None


def test_top_n_and_uninformative_nulls() -> None:
    contrib = _contributions(paid_cash=2.0, limit_amount=1.0, amount=0.5, payment_terms_days=0.4)
    row = _row(paid_cash=None, limit_amount=None, amount_to_limit=None, limit_age_days=None)
    got = reasons(row, contrib, NAMES, "block", "en", top_n=2)
    # paid_cash is null although a report exists: nothing to say, skipped
    assert [r.text for r in got] == ["No credit limit in force on the order date", "Order amount is R$ 12,000.00"]


def test_first_order_history_sentences() -> None:
    row = _row(past_orders_count=0.0, past_blocked_count=0.0, past_block_rate=None, past_mean_amount=None,
               exposure_30d=0.0)
    assert describe("past_block_rate", row, "block", "pt-BR") == ("Nenhum pedido anterior deste cliente", None)
    assert describe("past_block_rate", row, "bill", "en") is None
    assert describe("past_blocked_count", row, "bill", "en") == ("No earlier orders from this customer", None)
    assert describe("exposure_30d", row, "bill", "en") == ("No billed orders in the 30 days before this one", None)


def test_limit_sentences_always_name_the_order() -> None:
    row = _row(limit_amount=29_400.0, amount=48_500.0)
    assert sentence("limit_amount", row, "en", "block") == (
        "Credit limit of only R$ 29,400.00 for an order of R$ 48,500.00")
    assert sentence("limit_amount", row, "pt-BR", "bill") == (
        "Limite de crédito de R$ 29.400,00 para um pedido de R$ 48.500,00")


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
    nan = float("nan")
    assert missing_features(_row(tenure_days=nan, simples_nacional=None, limit_amount=nan, past_orders_count=nan)) == [
        "customer", "credit_limit", "order_history"]
    assert missing_features(_row(tenure_days=None, simples_nacional=0.0, past_orders_count=1)) == []


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError):
        reasons(_row(), np.zeros(3), NAMES, "block")
    with pytest.raises(ValueError):
        reasons(_row(), _contributions(), NAMES, "approve")
    with pytest.raises(ValueError):
        reasons(_row(), _contributions(), NAMES, "block", "es")


_TOWARDS = {  # the comparison words a directional reason may use, by (direction of the feature, decision)
    (monotone.UP, "block"): ("higher than", "as in", "maior que", "como em"),
    (monotone.DOWN, "bill"): ("higher than", "as in", "maior que", "como em"),
    (monotone.UP, "bill"): ("lower than", "as in", "menor que", "como em"),
    (monotone.DOWN, "block"): ("lower than", "as in", "menor que", "como em"),
}


def test_reasons_of_the_trained_model_never_cite_a_value_pushing_the_other_way(
    trained: TrainingResult, features: pl.DataFrame
) -> None:
    model, calibrator = trained.model(), trained.calibrator()
    reference = Reference.from_json(trained.reference)
    rows = features.sample(400, seed=4)
    X = feature_matrix(rows)
    probability = calibrator(model.predict_proba(X))
    contributions = model.contributions(X)
    decisions = {"block": 0, "bill": 0}
    for i, p in enumerate(probability):
        decision = "block" if p >= trained.threshold else "bill"
        decisions[decision] += 1
        for lang in ("en", "pt-BR"):
            got = reasons(rows.row(i, named=True), contributions[i], NAMES, decision, lang, reference=reference)
            assert got, i
            sign = 1 if decision == "block" else -1
            assert all(sign * r.contribution > 0 and r.direction == decision for r in got)
            assert [abs(r.contribution) for r in got] == sorted((abs(r.contribution) for r in got), reverse=True)
            assert sum(r.share for r in got) <= 100.0 + 0.3
            for r in got:
                if monotone.direction(r.feature) and r.value is not None:
                    words = _TOWARDS[(monotone.direction(r.feature), decision)]
                    assert any(w in r.text.split(" - ")[-1] for w in words), r.text
                if decision == "block":
                    assert not r.text.startswith(("Only", "Apenas")), r.text
    assert min(decisions.values()) > 20, decisions


def test_rounded_is_round_bit_for_bit() -> None:
    """NumPy's scale-rint-unscale, with round() itself wherever the scaled value lands near a half."""
    rng = np.random.default_rng(11)
    values = np.concatenate([
        rng.standard_normal(4000) * 10.0 ** rng.integers(-9, 9, 4000),
        rng.integers(-10**6, 10**6, 4000) / 2e6,  # ties and near-ties at 6 decimals, shifted by an ulp or not
        np.nextafter(rng.integers(-2000, 2000, 4000) / 20, np.inf),
        [0.0, -0.0, 0.05, 0.15, 0.25, 0.35, 2.675, 1.0000005, -1e-7, 4e-7, 1e15, 2.0**52, 1e300, np.inf, -np.inf,
         np.nan],
    ])
    for decimals in (0, 1, 6):
        got = rounded(values, decimals)
        assert all(isinstance(x, float) for x in got)
        expected = [round(v, decimals) for v in values.tolist()]
        assert [repr(x) for x in got] == [repr(x) for x in expected]  # repr: -0.0 and nan too
        assert [repr(x) for x in rounded(values[:5], decimals)] == [repr(x) for x in expected[:5]]  # short: round()
    with pytest.raises(ValueError):
        rounded(values, -1)


def test_a_value_stands_where_its_reference_says() -> None:
    """The describer bisects the quantiles itself: it says what `FeatureReference.standing` and
    `comparison` say, for values below, on, between and above the percentiles."""
    for feature, ref in REFERENCE.features.items():
        q = np.asarray(ref.quantiles)
        values = np.unique(np.concatenate([q, (q[:-1] + q[1:]) / 2, [q[0] - 1, q[-1] + 1]]))
        for value in values.tolist():
            row = _row(**{feature: value, "past_orders_count": 3.0})
            standing = ref.standing(value)
            for direction in ("block", "bill"):
                phrase = comparison(feature, standing, direction, "en")
                text = sentence(feature, row, "en", direction)
                expected = None if phrase is False else (
                    text if phrase is None else text + SEPARATOR + phrase, standing.below)
                assert describe(feature, row, direction, "en", REFERENCE) == expected, (feature, value, direction)


def test_the_batch_gives_each_row_its_own_reasons() -> None:
    """Rows with unknowns, a first order, no push towards the decision, with and without a
    reference: the batch's columns are each row's `reasons`, their numbers Python's own."""
    rng = np.random.default_rng(5)
    rows, decisions = [], []
    for k in range(40):
        row = _row(amount=float(rng.integers(100, 90_000)), serasa_score=float(rng.integers(300, 700)),
                   amount_to_limit=float(rng.random() * 3), pefin_count=k % 4)  # an int: its value reads 3.0
        if k % 3 == 0:
            row.update(serasa_score=float("nan") if k % 2 else None, paid_8_15_days_late=float("nan"))
        if k % 5 == 0:
            row.update(past_orders_count=0.0, past_blocked_count=0.0, past_block_rate=None)
        rows.append(row)
        decisions.append("block" if k % 2 else "bill")
    contributions = rng.standard_normal((40, len(NAMES) + 1))
    contributions[7, :-1] = 0.0  # nothing pushed
    for reference in (REFERENCE, None):
        for lang in ("en", "pt-BR"):
            batch = reasons_of_rows(rows, contributions, NAMES, decisions, lang, reference=reference)
            assert batch == [reasons(row, c, NAMES, d, lang, reference=reference)
                             for row, c, d in zip(rows, contributions, decisions, strict=True)]
            assert batch[7] == [] and sum(len(r) for r in batch) > 100
            for row, c, d, got in zip(rows, contributions, decisions, batch, strict=True):
                pushes = c[:-1] if d == "block" else -c[:-1]
                total = float(pushes[pushes > 0].sum())
                for r in got:
                    i = NAMES.index(r.feature)
                    value = row[r.feature]
                    assert repr(r.contribution) == repr(float(c[i]))
                    assert r.share == round(100.0 * float(pushes[i]) / total, 1)
                    assert repr(r.value) == repr(None if value is None or math.isnan(value) else float(value))
    explained = explain_rows(rows, contributions, NAMES, decisions, "en", top_n=2, reference=REFERENCE)
    assert explained.ends[-1] == len(explained.texts) == len(explained.contributions)
    assert all(0 <= b - a <= 2 for a, b in zip([0, *explained.ends], explained.ends, strict=False))
    assert explain_rows([], np.zeros((0, len(NAMES) + 1)), NAMES, [], "en").reasons() == []


def test_numbers_in_portuguese_swap_the_english_marks() -> None:
    swap = str.maketrans(",.", ".,")
    rng = np.random.default_rng(3)
    values = np.concatenate([rng.standard_normal(300) * 10.0 ** rng.integers(-3, 9, 300), [0.0, -0.0, 1.0, 0.5]])
    for feature in ("amount", "amount_to_limit", "paid_on_time", "past_block_rate", "serasa_score", "tenure_days"):
        for value in values.tolist():
            if feature == "amount_to_limit" and abs(value) < 1e-4:
                continue  # "less than 0.01%": words, not marks
            english = format_value(feature, value, "en")
            assert format_value(feature, value, "pt-BR") == english.translate(swap), (feature, value)
    assert format_money(-1_234_567.891, "pt-BR") == "R$ -1.234.567,89"
    assert format_value("serasa_score", 1_250.0, "pt-BR") == "1.250"
    assert format_value("paid_on_time", 12.0, "pt-BR") == "12%"
