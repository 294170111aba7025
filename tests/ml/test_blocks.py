"""The kind registry: each kind's names, in the stored feature order, and its strategies."""

from app.ml import schema
from app.ml.blocks import BLOCKS, BY_KIND
from app.ml.features import FEATURE_NAMES, ORDER_FEATURES

# Stored models and stored decision features rely on this exact order: never reorder it.
STORED_ORDER = (
    "amount", "payment_terms_days",
    "simples_nacional", "mei", "final_consumer", "state_code", "tenure_days",
    "limit_amount", "amount_to_limit", "limit_age_days",
    "paid_on_time", "paid_cash", "paid_8_15_days_late", "paid_16_30_days_late", "paid_31_60_days_late",
    "paid_over_60_days_late", "inquiries_count", "suppliers_0_6_months", "suppliers_6_12_months",
    "suppliers_1_3_years", "suppliers_3_5_years", "suppliers_5_10_years", "suppliers_over_10_years",
    "suppliers_inactive", "pefin_count", "pefin_amount", "refin_count", "refin_amount", "overdue_debts_count",
    "overdue_debts_amount", "bankruptcy_count", "bounced_checks_count", "recheque_count",
    "bankruptcy_participation_count", "serasa_score", "serasa_age_days",
    "past_orders_count", "past_blocked_count", "past_block_rate", "past_mean_amount",
    "amount_to_past_mean", "exposure_30d", "exposure_90d", "days_since_previous_order",
)  # fmt: skip


def test_feature_names_keep_the_stored_order() -> None:
    assert FEATURE_NAMES == STORED_ORDER


def test_the_order_features_then_each_kind_in_registry_order() -> None:
    assert FEATURE_NAMES == (*ORDER_FEATURES, *(name for block in BLOCKS for name in block.names))
    assert [block.kind for block in BLOCKS] == ["customers", "credit_limits", "serasa_reports", "orders"]


def test_every_kind_has_a_schema_and_its_strategies() -> None:
    assert set(BY_KIND) <= set(schema.SCHEMAS)
    for block in BLOCKS:
        assert callable(block.batch) and callable(block.reduce) and callable(block.evaluate), block.kind
        assert hash(block.empty) is not None  # snapshots are hashable
    assert {kind for kind, block in BY_KIND.items() if block.item is not None} == {
        "customers", "credit_limits", "serasa_reports",
    }
