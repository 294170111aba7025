import time
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from app.demo import DemoData, generate, write
from app.domain.documents import document_kind

END = date(2025, 6, 30)

PAYMENT_COLUMNS = [
    "paid_on_time",
    "paid_cash",
    "paid_8_15_days_late",
    "paid_16_30_days_late",
    "paid_31_60_days_late",
    "paid_over_60_days_late",
]
SUPPLIER_COLUMNS = [
    "suppliers_0_6_months",
    "suppliers_6_12_months",
    "suppliers_1_3_years",
    "suppliers_3_5_years",
    "suppliers_5_10_years",
    "suppliers_over_10_years",
    "suppliers_inactive",
]
NEGATIVE_PAIRS = [
    ("pefin_count", "pefin_amount"),
    ("refin_count", "refin_amount"),
    ("overdue_debts_count", "overdue_debts_amount"),
]
OTHER_NEGATIVE_COUNTS = [
    "bankruptcy_count",
    "bounced_checks_count",
    "recheque_count",
    "bankruptcy_participation_count",
]
EXPECTED_SCHEMAS = {
    "customers": {
        "customer_id": pl.String,
        "document": pl.String,
        "name": pl.String,
        "simples_nacional": pl.Boolean,
        "mei": pl.Boolean,
        "final_consumer": pl.Boolean,
        "state": pl.String,
        "customer_since": pl.Date,
    },
    "credit_limits": {"customer_id": pl.String, "limit_amount": pl.Float64, "valid_from": pl.Date},
    "serasa_reports": {
        "customer_id": pl.String,
        "queried_at": pl.Date,
        **{name: pl.Float64 for name in PAYMENT_COLUMNS},
        "inquiries_count": pl.Int64,
        **{name: pl.Float64 for name in SUPPLIER_COLUMNS},
        **{name: dtype for pair in NEGATIVE_PAIRS for name, dtype in zip(pair, (pl.Int64, pl.Float64), strict=True)},
        **{name: pl.Int64 for name in OTHER_NEGATIVE_COUNTS},
        "score": pl.Float64,
    },
    "orders": {
        "order_id": pl.String,
        "customer_id": pl.String,
        "ordered_at": pl.Datetime("us"),
        "amount": pl.Float64,
        "payment_terms_days": pl.Int64,
        "status": pl.String,
    },
}
UFS = set(
    "AC AL AP AM BA CE DF ES GO MA MT MS MG PA PB PR PE PI RJ RN RS RO RR SC SP SE TO".split()
)


@pytest.fixture(scope="module")
def data() -> DemoData:
    return generate(customers=400, orders=30_000, seed=11, end=END)


def _first_dates(frame: pl.DataFrame, column: str) -> pl.DataFrame:
    return frame.group_by("customer_id").agg(pl.col(column).min().alias(f"first_{column}"))


def _two_decimals(column: str) -> pl.Expr:
    return ((pl.col(column) * 100).round(0) - pl.col(column) * 100).abs() < 1e-6


class TestShape:
    def test_schemas_are_exact(self, data: DemoData) -> None:
        for kind, frame in data.frames().items():
            assert dict(frame.schema) == EXPECTED_SCHEMAS[kind], kind

    def test_row_counts(self, data: DemoData) -> None:
        assert data.customers.height == 400
        assert data.orders.height == 30_000
        assert data.credit_limits.height > 400
        assert data.serasa_reports.height > 400

    def test_ids_are_unique_and_formatted(self, data: DemoData) -> None:
        assert data.customers["customer_id"].is_unique().all()
        assert data.orders["order_id"].is_unique().all()
        assert data.customers["customer_id"].str.contains(r"^C\d{6}$").all()
        assert data.orders["order_id"].str.contains(r"^O\d{7}$").all()
        assert data.credit_limits.select("customer_id", "valid_from").is_unique().all()
        assert data.serasa_reports.select("customer_id", "queried_at").is_unique().all()

    def test_rejects_impossible_sizes(self) -> None:
        with pytest.raises(ValueError):
            generate(customers=0, orders=10, end=END)


class TestDeterminism:
    def test_same_seed_same_frames(self) -> None:
        first = generate(60, 3_000, seed=5, end=END)
        second = generate(60, 3_000, seed=5, end=END)
        for kind, frame in first.frames().items():
            assert frame.equals(second.frames()[kind]), kind

    def test_other_seed_other_frames(self) -> None:
        first = generate(60, 3_000, seed=5, end=END)
        other = generate(60, 3_000, seed=6, end=END)
        assert not first.orders.equals(other.orders)
        assert not first.customers.equals(other.customers)


class TestIntegrity:
    def test_every_row_references_a_customer(self, data: DemoData) -> None:
        known = set(data.customers["customer_id"])
        for frame in (data.credit_limits, data.serasa_reports, data.orders):
            assert set(frame["customer_id"]) <= known

    def test_every_customer_has_a_limit_and_a_report(self, data: DemoData) -> None:
        known = set(data.customers["customer_id"])
        assert set(data.credit_limits["customer_id"]) == known
        assert set(data.serasa_reports["customer_id"]) == known

    def test_limit_and_report_precede_first_order(self, data: DemoData) -> None:
        first_orders = data.orders.group_by("customer_id").agg(
            pl.col("ordered_at").min().dt.date().alias("first_order")
        )
        joined = (
            first_orders.join(_first_dates(data.credit_limits, "valid_from"), on="customer_id")
            .join(_first_dates(data.serasa_reports, "queried_at"), on="customer_id")
        )
        assert joined.height == first_orders.height
        assert (joined["first_valid_from"] < joined["first_order"]).all()
        assert (joined["first_queried_at"] < joined["first_order"]).all()

    def test_first_limit_is_set_at_customer_since(self, data: DemoData) -> None:
        joined = data.customers.join(_first_dates(data.credit_limits, "valid_from"), on="customer_id")
        assert (joined["first_valid_from"] == joined["customer_since"]).all()

    def test_orders_start_after_customer_since(self, data: DemoData) -> None:
        joined = data.orders.join(data.customers, on="customer_id")
        assert (joined["ordered_at"].dt.date() > joined["customer_since"]).all()

    def test_nothing_is_dated_after_end(self, data: DemoData) -> None:
        assert data.customers["customer_since"].max() <= END
        assert data.credit_limits["valid_from"].max() <= END
        assert data.serasa_reports["queried_at"].max() <= END
        assert data.orders["ordered_at"].max() < datetime.combine(END, datetime.min.time())

    def test_orders_span_about_two_and_a_half_years(self, data: DemoData) -> None:
        span = data.orders["ordered_at"].max() - data.orders["ordered_at"].min()
        assert timedelta(days=850) < span <= timedelta(days=913)

    def test_default_end_is_today(self) -> None:
        small = generate(5, 50, seed=1)
        assert small.serasa_reports["queried_at"].max() <= date.today()
        assert small.orders["ordered_at"].max() < datetime.combine(date.today(), datetime.min.time())


class TestCustomers:
    def test_documents_are_valid_and_distinct(self, data: DemoData) -> None:
        kinds = [document_kind(document) for document in data.customers["document"]]
        assert None not in kinds
        assert kinds.count("cnpj") > 0.85 * len(kinds)
        assert data.customers["document"].is_unique().all()

    def test_cpf_only_for_final_consumers_and_mei(self, data: DemoData) -> None:
        with_cpf = data.customers.filter(pl.col("document").str.len_chars() == 11)
        assert with_cpf.height > 0
        assert (with_cpf["final_consumer"] | with_cpf["mei"]).all()

    def test_mei_implies_simples_nacional(self, data: DemoData) -> None:
        mei = data.customers.filter("mei")
        assert mei.height > 0
        assert mei["simples_nacional"].all()

    def test_states_are_ufs_weighted_to_sp(self, data: DemoData) -> None:
        counts = data.customers["state"].value_counts(sort=True)
        assert set(counts["state"]) <= UFS
        assert counts["state"][0] == "SP"

    def test_names_look_brazilian(self, data: DemoData) -> None:
        names = data.customers["name"]
        assert names.str.contains(r" (Ltda|ME|EPP|S\.A\.|MEI)$").mean() > 0.8
        assert names.n_unique() > 0.9 * data.customers.height


class TestCreditLimits:
    def test_amounts_are_positive_with_two_decimals(self, data: DemoData) -> None:
        limits = data.credit_limits
        assert (limits["limit_amount"] > 0).all()
        assert limits.select(_two_decimals("limit_amount")).to_series().all()

    def test_limits_change_over_time(self, data: DemoData) -> None:
        per_customer = data.credit_limits.group_by("customer_id").len()
        assert per_customer["len"].mean() > 2


class TestSerasaReports:
    @pytest.mark.parametrize("columns", [PAYMENT_COLUMNS, SUPPLIER_COLUMNS], ids=["payment", "suppliers"])
    def test_percentages_sum_to_100(self, data: DemoData, columns: list[str]) -> None:
        reports = data.serasa_reports.select(columns)
        assert reports.select(pl.all().is_between(0, 100).all()).row(0) == (True,) * len(columns)
        totals = reports.select(pl.sum_horizontal(columns)).to_series()
        assert np.allclose(totals.to_numpy(), 100.0, atol=1e-6)
        assert reports.select(pl.all_horizontal(_two_decimals(c) for c in columns)).to_series().all()

    def test_queried_every_two_to_four_months(self, data: DemoData) -> None:
        gaps = data.serasa_reports.select(
            pl.col("queried_at").diff().over("customer_id").dt.total_days()
        ).drop_nulls().to_series()
        assert gaps.min() >= 60 and gaps.max() <= 120

    def test_negative_records_are_a_tail(self, data: DemoData) -> None:
        reports = data.serasa_reports
        counts = [name for name, _ in NEGATIVE_PAIRS] + OTHER_NEGATIVE_COUNTS
        any_record = reports.select(pl.sum_horizontal(counts) > 0).to_series().mean()
        assert 0.02 < any_record < 0.4
        for count, amount in NEGATIVE_PAIRS:
            assert (reports.filter(pl.col(count) == 0)[amount] == 0).all()
            assert (reports.filter(pl.col(count) > 0)[amount] > 0).all()
        assert reports.select(pl.col(counts).min()).min_horizontal().item() >= 0

    def test_score_range_and_missing_share(self, data: DemoData) -> None:
        score = data.serasa_reports["score"]
        assert 0.05 < score.null_count() / score.len() < 0.15
        present = score.drop_nulls()
        assert present.is_between(0, 1000).all()
        assert (present == present.round(0)).all()


class TestOrders:
    def test_business_days_and_hours(self, data: DemoData) -> None:
        ordered_at = data.orders["ordered_at"]
        assert ordered_at.dt.weekday().max() <= 5  # Monday=1 .. Friday=5
        assert ordered_at.dt.hour().is_between(8, 17).all()

    def test_amounts_and_terms(self, data: DemoData) -> None:
        orders = data.orders
        assert (orders["amount"] > 0).all()
        assert orders.select(_two_decimals("amount")).to_series().all()
        assert set(orders["payment_terms_days"]) <= {0, 7, 14, 21, 28, 30, 45, 60, 90}

    def test_ids_follow_time(self, data: DemoData) -> None:
        assert data.orders["ordered_at"].is_sorted()
        assert data.orders["order_id"].is_sorted()

    def test_both_outcomes_in_a_plausible_share(self, data: DemoData) -> None:
        statuses = data.orders["status"]
        assert set(statuses) == {"billed", "blocked"}
        assert 0.12 < (statuses == "blocked").mean() < 0.35

    def test_status_is_related_but_not_determined_by_usage(self, data: DemoData) -> None:
        in_force = (
            data.orders.with_columns(pl.col("ordered_at").dt.date().alias("day"))
            .sort("customer_id", "day")
            .join_asof(
                data.credit_limits.sort("customer_id", "valid_from"),
                left_on="day",
                right_on="valid_from",
                by="customer_id",
                check_sortedness=False,  # sorted within each customer, as asof-by needs
            )
        )
        ratio = (in_force["amount"] / in_force["limit_amount"]).to_numpy()
        auc = _auc(ratio, (in_force["status"] == "blocked").to_numpy())
        assert 0.55 < auc < 0.95

    def test_bigger_customers_order_more(self, data: DemoData) -> None:
        latest_limit = data.credit_limits.group_by("customer_id").agg(pl.col("limit_amount").last())
        per_customer = data.orders.group_by("customer_id").len().join(latest_limit, on="customer_id")
        assert per_customer.select(pl.corr("len", "limit_amount", method="spearman")).item() > 0.3


class TestWrite:
    def test_csv_and_parquet_round_trip(self, tmp_path: Path) -> None:
        small = generate(40, 1_500, seed=2, end=END)
        paths = write(small, tmp_path / "demo")
        names = {path.name for path in paths}
        assert names == {f"{kind}.{ext}" for kind in small.frames() for ext in ("csv", "parquet")}
        for kind, frame in small.frames().items():
            from_parquet = pl.read_parquet(tmp_path / "demo" / f"{kind}.parquet")
            from_csv = pl.read_csv(tmp_path / "demo" / f"{kind}.csv", schema=frame.schema)
            assert from_parquet.equals(frame), kind
            assert from_csv.equals(frame), kind


def test_generation_speed() -> None:
    started = time.perf_counter()
    big = generate(1_000, 100_000, seed=3, end=END)
    elapsed = time.perf_counter() - started
    print(f"\ngenerated 1,000 customers / 100,000 orders in {elapsed:.2f} s")
    assert big.orders.height == 100_000


def _auc(scores: np.ndarray, positive: np.ndarray) -> float:
    """ROC AUC by the rank-sum (Mann-Whitney) formula."""
    ranks = np.empty(len(scores))
    ranks[np.argsort(scores, kind="stable")] = np.arange(1, len(scores) + 1)
    n_pos = positive.sum()
    n_neg = len(positive) - n_pos
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))
