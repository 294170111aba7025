from datetime import date, datetime

import numpy as np
import polars as pl
import pytest

from app.ml.errors import FeatureError
from app.ml.features import FEATURE_NAMES, OUTPUT_COLUMNS, UFS, build_features, feature_matrix

from .factories import frame, make_customer, make_history, make_limit, make_order, make_report
from .synthetic import Dataset


def _build(orders: list[dict], limits=(), reports=(), customers=None, history=None) -> pl.DataFrame:
    return build_features(
        frame("orders", orders),
        make_history(
            customers=customers or [make_customer()],
            credit_limits=limits,
            serasa_reports=reports,
            orders=orders if history is None else history,
        ),
    )


def _by_id(df: pl.DataFrame) -> dict[str, dict]:
    return {row["order_id"]: row for row in df.iter_rows(named=True)}


def _features_equal(a: pl.DataFrame, b: pl.DataFrame) -> bool:
    return a.select(FEATURE_NAMES).equals(b.select(FEATURE_NAMES))


# --- shape and contract --------------------------------------------------------------------


def test_output_columns_dtypes_and_target_order(dataset: Dataset, features: pl.DataFrame) -> None:
    shuffled = dataset.orders.sample(fraction=1.0, shuffle=True, seed=1)
    out = build_features(shuffled, dataset.history())
    assert tuple(out.columns) == OUTPUT_COLUMNS
    assert all(out.schema[name] == pl.Float64 for name in FEATURE_NAMES)
    assert out.schema["label"] == pl.Int8
    assert out["order_id"].to_list() == shuffled["order_id"].to_list()
    expected = features.join(out.select("order_id"), on="order_id", maintain_order="right")
    assert out.equals(expected.select(out.columns))


def test_feature_matrix_is_float32_in_feature_order(features: pl.DataFrame) -> None:
    X = feature_matrix(features)
    assert X.dtype == np.float32 and X.shape == (features.height, len(FEATURE_NAMES))
    assert X.flags["C_CONTIGUOUS"]
    col = FEATURE_NAMES.index("limit_amount")
    assert np.isnan(X[:, col]).sum() == features["limit_amount"].null_count()


def test_label_from_status() -> None:
    orders = [
        make_order(order_id="b", status="blocked"),
        make_order(order_id="p", status="billed"),
        make_order(order_id="n", status=None),
    ]
    assert _build(orders)["label"].to_list() == [1, 0, None]


def test_customer_fields_and_state_code() -> None:
    customers = [make_customer(state="RJ", mei=True, customer_since=date(2023, 5, 2))]
    row = _build([make_order()], customers=customers).row(0, named=True)
    assert (row["simples_nacional"], row["mei"], row["final_consumer"]) == (1.0, 1.0, 0.0)
    assert row["state_code"] == float(UFS.index("RJ"))
    assert row["tenure_days"] == 30.0
    unknown = _build([make_order()], customers=[make_customer(state="XX")]).row(0, named=True)
    assert unknown["state_code"] is None


def test_empty_targets_and_empty_history() -> None:
    assert _build([]).height == 0
    row = _build([make_order()], history=[]).row(0, named=True)
    assert row["past_orders_count"] == 0.0 and row["past_block_rate"] is None
    assert row["exposure_30d"] == 0.0 and row["days_since_previous_order"] is None


def test_targets_need_customer_and_time() -> None:
    with pytest.raises(FeatureError):
        _build([make_order(ordered_at=None)])


# --- credit limit in force -----------------------------------------------------------------


def test_credit_limit_in_force_is_latest_valid_from_on_or_before_the_order_date() -> None:
    limits = [
        make_limit(limit_amount=3000.0, valid_from=date(2023, 3, 1)),
        make_limit(limit_amount=1000.0, valid_from=date(2023, 1, 1)),
        make_limit(limit_amount=2000.0, valid_from=date(2023, 2, 1)),
        make_limit(customer_id="B", limit_amount=99.0, valid_from=date(2022, 1, 1)),
    ]
    orders = [
        make_order(order_id="before", ordered_at=datetime(2022, 12, 31, 23, 59)),
        make_order(order_id="jan", ordered_at=datetime(2023, 1, 15)),
        make_order(order_id="feb-first", ordered_at=datetime(2023, 2, 1, 0, 0)),
        make_order(order_id="feb-last", ordered_at=datetime(2023, 2, 28, 23, 0)),
        make_order(order_id="mar", ordered_at=datetime(2023, 3, 5), amount=6000.0),
    ]
    rows = _by_id(_build(orders, limits=limits))
    assert rows["before"]["limit_amount"] is None and rows["before"]["amount_to_limit"] is None
    assert rows["jan"]["limit_amount"] == 1000.0 and rows["jan"]["limit_age_days"] == 14.0
    assert rows["feb-first"]["limit_amount"] == 2000.0
    assert rows["feb-first"]["limit_age_days"] == 0.0
    assert rows["feb-last"]["limit_amount"] == 2000.0
    assert rows["mar"]["limit_amount"] == 3000.0 and rows["mar"]["amount_to_limit"] == 2.0


def test_zero_limit_gives_null_ratio_but_keeps_the_limit() -> None:
    row = _build([make_order()], limits=[make_limit(limit_amount=0.0)]).row(0, named=True)
    assert row["limit_amount"] == 0.0 and row["amount_to_limit"] is None


# --- Serasa reports: no look-ahead ---------------------------------------------------------


def test_latest_report_on_or_before_the_order_date_is_used() -> None:
    reports = [
        make_report(queried_at=date(2023, 5, 1), pefin_count=1),
        make_report(queried_at=date(2023, 5, 20), pefin_count=2, score=None),
        make_report(queried_at=date(2023, 6, 2), pefin_count=7),
    ]
    row = _build([make_order()], reports=reports).row(0, named=True)
    assert row["pefin_count"] == 2.0 and row["serasa_age_days"] == 12.0
    assert row["serasa_score"] is None
    same_day = [make_report(queried_at=date(2023, 6, 1), pefin_count=4)]
    assert _build([make_order()], reports=same_day).row(0, named=True)["pefin_count"] == 4.0


def test_a_future_report_never_reaches_an_order(dataset: Dataset, features: pl.DataFrame) -> None:
    cutoff = date(2023, 6, 30)
    future = pl.col("queried_at") > cutoff
    numeric = [c for c, t in dataset.serasa_reports.schema.items() if t.is_numeric()]
    tampered = dataset.serasa_reports.with_columns(
        [pl.when(future).then(pl.col(c) * 0 + 999).otherwise(pl.col(c)).alias(c) for c in numeric]
    )
    rebuilt = build_features(dataset.orders, dataset.history().replace(serasa_reports=tampered))
    past = pl.col("ordered_at").dt.date() <= cutoff
    assert _features_equal(features.filter(past), rebuilt.filter(past))
    # the tampering is visible to later orders, so the check above is not vacuous
    assert not _features_equal(features.filter(~past), rebuilt.filter(~past))


def test_a_report_after_the_order_is_ignored_even_when_it_is_the_only_one() -> None:
    order = make_order(ordered_at=datetime(2023, 6, 1, 23, 59))
    report = make_report(queried_at=date(2023, 6, 2), pefin_count=9)
    row = _build([order], reports=[report]).row(0, named=True)
    assert row["pefin_count"] is None and row["serasa_age_days"] is None


# --- past behaviour: strictly earlier orders only ------------------------------------------


def _tie_case() -> list[dict]:
    """Customer A: o3a and o3b share one instant; customer B orders in between."""
    rows = [
        ("o1", datetime(2023, 1, 1, 9), 100.0, "blocked"),
        ("o2", datetime(2023, 1, 20, 9), 200.0, "billed"),
        ("o3a", datetime(2023, 2, 15, 9), 300.0, "blocked"),
        ("o3b", datetime(2023, 2, 15, 9), 400.0, "billed"),
        ("o4", datetime(2023, 3, 1, 21), 500.0, "blocked"),
    ]
    orders = [make_order(order_id=i, ordered_at=t, amount=a, status=s) for i, t, a, s in rows]
    return [*orders, make_order(order_id="b1", customer_id="B", ordered_at=datetime(2023, 1, 5))]


def test_past_block_rate_uses_strictly_earlier_orders_with_ties() -> None:
    customers = [make_customer(), make_customer(customer_id="B")]
    rows = _by_id(_build(_tie_case(), customers=customers))
    assert rows["o1"]["past_orders_count"] == 0.0 and rows["o1"]["past_block_rate"] is None
    assert rows["o2"]["past_orders_count"] == 1.0 and rows["o2"]["past_block_rate"] == 1.0
    for tied in ("o3a", "o3b"):  # same instant: neither sees the other
        assert rows[tied]["past_orders_count"] == 2.0
        assert rows[tied]["past_block_rate"] == 0.5 and rows[tied]["past_blocked_count"] == 1.0
        assert rows[tied]["past_mean_amount"] == 150.0
    assert rows["o4"]["past_orders_count"] == 4.0 and rows["o4"]["past_block_rate"] == 0.5
    assert rows["b1"]["past_orders_count"] == 0.0  # other customers never count
    assert rows["o3a"]["past_orders_count"] == 2.0  # b1 (Jan 5) is not A's


def test_exposure_windows_and_gap_to_previous_order() -> None:
    rows = _by_id(_build(_tie_case()[:5]))
    o4 = rows["o4"]
    assert o4["exposure_30d"] == 400.0  # billed o3b (o3a was blocked); o2 is 40 days earlier
    assert o4["exposure_90d"] == 600.0  # billed o2 + o3b; blocked o1 and o3a never count
    assert o4["days_since_previous_order"] == pytest.approx(14.5)
    assert o4["amount_to_past_mean"] == 2.0
    assert rows["o3a"]["days_since_previous_order"] == 26.0


def test_unknown_statuses_count_as_orders_but_not_in_the_block_rate() -> None:
    orders = [
        make_order(order_id="x1", ordered_at=datetime(2023, 1, 1), status="blocked"),
        make_order(order_id="x2", ordered_at=datetime(2023, 1, 2), status=None),
        make_order(order_id="x3", ordered_at=datetime(2023, 1, 3), status="billed"),
    ]
    row = _by_id(_build(orders))["x3"]
    assert row["past_orders_count"] == 2.0 and row["past_block_rate"] == 1.0


def test_flipping_an_orders_status_never_changes_its_own_features(
    dataset: Dataset, features: pl.DataFrame
) -> None:
    ids = dataset.orders["order_id"].gather([10, 500, 1500, 2500, 3999]).to_list()
    flip = pl.col("order_id").is_in(ids)
    blocked = pl.col("status") == "blocked"
    other = pl.when(blocked).then(pl.lit("billed")).otherwise(pl.lit("blocked"))
    flipped = dataset.orders.with_columns(
        pl.when(flip).then(other).otherwise(pl.col("status")).alias("status")
    )
    rebuilt = build_features(flipped, dataset.history().replace(orders=flipped))
    earliest = dataset.orders.filter(flip)["ordered_at"].min()
    known_then = pl.col("ordered_at") <= earliest
    assert _features_equal(features.filter(flip), rebuilt.filter(flip))
    assert _features_equal(features.filter(known_then), rebuilt.filter(known_then))
    assert (features.filter(flip)["label"] != rebuilt.filter(flip)["label"]).all()
    assert not _features_equal(features, rebuilt)  # later orders of those customers do change


# --- training / serving parity -------------------------------------------------------------


def test_live_single_order_build_equals_the_batch_row(
    dataset: Dataset, features: pl.DataFrame
) -> None:
    """Training/serving parity: one order decided by the live kernel (the customer's stored rows
    reduced to a snapshot, then `live_features`) equals its training row, bit for bit."""
    import struct

    from app.ml.live import live_features, prepare_snapshot

    def bits(value) -> bytes | None:
        return None if value is None or value != value else struct.pack("<d", float(value))

    rng = np.random.default_rng(3)
    tied = dataset.orders.filter(pl.col("ordered_at").is_duplicated())["order_id"].head(2).to_list()
    picks = dataset.orders["order_id"].gather(rng.choice(dataset.orders.height, 60, replace=False))
    history = dataset.history()
    for order_id in [*picks.to_list(), *tied]:
        target = dataset.orders.filter(pl.col("order_id") == order_id).row(0, named=True)
        own = history.where(pl.col("customer_id") == target["customer_id"])
        snapshot = prepare_snapshot(target["customer_id"],
                                    own.replace(orders=own["orders"].filter(pl.col("order_id") != order_id)))
        live = live_features(snapshot, ordered_at=target["ordered_at"], amount=target["amount"],
                             payment_terms_days=target["payment_terms_days"])
        batch = features.filter(pl.col("order_id") == order_id).row(0, named=True)
        differ = [n for n in FEATURE_NAMES if bits(live[n]) != bits(batch[n])]
        assert differ == [], (order_id, {n: (live[n], batch[n]) for n in differ})
