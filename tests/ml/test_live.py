"""The live single-order kernel gives exactly `build_features`' values: training and serving agree.

Parity runs on demo data edited to hold every awkward case the feature rules define (ties at one
instant, duplicate and null-dated limits and reports, a zero and a NaN limit, odd statuses, null
amounts, customers missing from one or every table) and on targets placed on those boundaries.
Values are compared bit for bit (`struct.pack`), nulls with nulls.
"""

import statistics
import struct
import time
from collections import Counter
from dataclasses import FrozenInstanceError, dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone

import numpy as np
import polars as pl
import pytest

from app.demo import generate
from app.ml import schema
from app.ml.errors import FeatureError, SchemaError
from app.ml.features import FEATURE_NAMES, UFS, build_features, feature_matrix
from app.ml.history import History
from app.ml.live import (
    KINDS,
    CustomerSnapshot,
    features_row,
    is_empty,
    item_snapshot,
    live_features,
    prepare_snapshot,
    replace_kinds,
)

from .factories import frame, make_customer, make_history, make_limit, make_order, make_report

SEEDS = (11, 22, 33)
END = date(2025, 6, 30)
GHOST = "C_GHOST"
US = timedelta(microseconds=1)
CUSTOMER_VALUES = ("simples_nacional", "mei", "final_consumer", "state_code", "tenure_days")
LIMIT_VALUES = ("limit_amount", "amount_to_limit", "limit_age_days")
SERASA_VALUES = FEATURE_NAMES[FEATURE_NAMES.index("limit_age_days") + 1 : -8]


def _same(a: float | None, b: float | None) -> bool:
    """Null equals null; floats must have the same float64 bits (so 0.0 != -0.0, NaN == NaN)."""
    if a is None or b is None:
        return a is None and b is None
    return type(a) is float and struct.pack("<d", a) == struct.pack("<d", b)


def _mismatches(live: dict[str, float | None], batch: dict[str, object]) -> list[str]:
    assert tuple(live) == FEATURE_NAMES
    differ = [n for n in FEATURE_NAMES if not _same(live[n], batch[n])]
    return [f"{n}: live {live[n]!r} batch {batch[n]!r}" for n in differ]


def _live(snapshot: CustomerSnapshot, order: dict) -> dict[str, float | None]:
    return live_features(
        snapshot,
        ordered_at=order["ordered_at"],
        amount=order["amount"],
        payment_terms_days=order["payment_terms_days"],
    )


# --- perturbed demo data -----------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    frames: dict[str, pl.DataFrame]  # customers, credit_limits, serasa_reports, orders (history)
    targets: pl.DataFrame
    roles: dict[str, str]  # role -> customer_id
    snapshots: dict[str, CustomerSnapshot] = field(default_factory=dict)

    def snapshot(self, customer_id: str) -> CustomerSnapshot:
        """Built once per customer from its own rows, columns reversed (any order must do)."""
        if customer_id not in self.snapshots:
            own = {kind: df.filter(pl.col("customer_id") == customer_id) for kind, df in self.frames.items()}
            reordered = History({kind: df.select(reversed(df.columns)) for kind, df in own.items()})
            self.snapshots[customer_id] = prepare_snapshot(customer_id, reordered)
        return self.snapshots[customer_id]


ROLES = (
    "no_customer", "no_limit", "no_report", "no_history", "zero_limit", "restated", "tied", "odd",
)  # fmt: skip


def _case(seed: int) -> Case:
    rng = np.random.default_rng(seed)
    data = generate(customers=300, orders=8000, seed=seed, end=END)
    active = data.orders["customer_id"].unique(maintain_order=True).to_list()
    roles = dict(zip(ROLES, rng.choice(active, size=len(ROLES), replace=False).tolist(), strict=True))
    frames = {
        "customers": _customers(data.customers, roles),
        "credit_limits": _limits(data.credit_limits, data.orders, roles),
        "serasa_reports": _reports(data.serasa_reports, roles),
        "orders": _history(data.orders, roles, rng),
    }
    sampled = data.orders.sample(250, seed=seed).with_columns(status=pl.lit(None, pl.String))
    targets = pl.concat([sampled, _boundary_targets(frames, data.orders, roles, rng)])
    numbered = targets.with_columns(order_id=pl.format("T{}", pl.int_range(pl.len())))
    return Case(frames, numbered, roles)


def _customers(customers: pl.DataFrame, roles: dict[str, str]) -> pl.DataFrame:
    restated = customers.filter(pl.col("customer_id") == roles["restated"]).with_columns(
        state=pl.lit(" rj "), mei=~pl.col("mei")
    )
    odd = customers.filter(pl.col("customer_id") == roles["odd"]).with_columns(
        state=pl.lit("XX"),
        customer_since=pl.lit(None, pl.Date),
        final_consumer=pl.lit(None, pl.Boolean),
    )
    kept = customers.filter(pl.col("customer_id") != roles["no_customer"])
    return pl.concat([kept, restated, odd])


def _limits(limits: pl.DataFrame, orders: pl.DataFrame, roles: dict[str, str]) -> pl.DataFrame:
    def own(role: str) -> pl.Expr:
        return pl.col("customer_id") == roles[role]

    first_order = orders.filter(own("zero_limit"))["ordered_at"].sort()
    zero_day = first_order[len(first_order) // 2].date()
    extra = pl.DataFrame(
        {
            "customer_id": [roles["zero_limit"], roles["odd"], roles["odd"], roles["odd"]],
            "limit_amount": [0.0, None, float("nan"), 5_000.0],
            "valid_from": [zero_day, date(2024, 3, 1), date(2024, 9, 2), None],
        },
        schema=schema.CREDIT_LIMITS,
    )
    restated = limits.filter(own("restated")).with_columns(pl.col("limit_amount") * 2 + 0.01)
    return pl.concat([limits.filter(~own("no_limit")), restated, extra.select(limits.columns)])


def _reports(reports: pl.DataFrame, roles: dict[str, str]) -> pl.DataFrame:
    own = pl.col("customer_id") == roles["restated"]
    restated = reports.filter(own).with_columns(
        score=pl.when(pl.int_range(pl.len()) % 2 == 0).then(None).otherwise(pl.col("score") + 1)
    )
    undated = reports.filter(own).head(1).with_columns(queried_at=pl.lit(None, pl.Date))
    kept = reports.filter(pl.col("customer_id") != roles["no_report"])
    return pl.concat([kept, restated, undated])


def _history(
    orders: pl.DataFrame, roles: dict[str, str], rng: np.random.Generator
) -> pl.DataFrame:
    """Stored orders with µs times, ties at one instant, odd statuses, null and x.125 amounts."""
    jitter = pl.Series(rng.integers(0, 1_000_000, orders.height), dtype=pl.Duration("us"))
    edited = _odd_orders(orders.with_columns(pl.col("ordered_at") + jitter), roles["odd"], rng)
    tied = edited.filter(pl.col("customer_id") == roles["tied"])
    ties = tied.sample(fraction=0.5, seed=1).with_columns(
        pl.format("{}-tie", "order_id"), amount=pl.col("amount") / 3, status=pl.lit(" Blocked ")
    )
    undated = edited.head(2).with_columns(ordered_at=pl.lit(None, pl.Datetime("us")))
    stored = pl.concat([edited, ties, undated])
    stored = stored.filter(pl.col("customer_id") != roles["no_history"])
    assert stored.group_by("customer_id", "ordered_at").len()["len"].max() > 1, "no tie made"
    return stored


def _odd_orders(
    orders: pl.DataFrame, customer_id: str, rng: np.random.Generator
) -> pl.DataFrame:
    """One customer's orders get messy statuses (the first two unknown), null and x.125 amounts."""
    statuses = ["billed", "blocked", " BLOCKED ", "Billed", "pending", None]
    picked = rng.choice(len(statuses), orders.height, p=[0.5, 0.2, 0.1, 0.1, 0.05, 0.05])
    drawn = pl.Series([statuses[i] for i in picked], dtype=pl.String)
    odd = pl.col("customer_id") == customer_id
    nth = pl.col("ordered_at").rank("ordinal").over("customer_id")
    return orders.with_columns(
        status=pl.when(odd & (nth <= 2)).then(pl.lit("pending"))
        .when(odd).then(drawn)
        .otherwise("status"),
        amount=pl.when(odd & (nth % 3 == 0)).then(None)
        .when(odd & (nth % 3 == 1)).then(pl.col("amount").floor() + 0.125)
        .otherwise("amount"),
    )


def _boundary_targets(
    frames: dict[str, pl.DataFrame],
    original: pl.DataFrame,
    roles: dict[str, str],
    rng: np.random.Generator,
) -> pl.DataFrame:
    """New orders on every boundary of the rules, for each special customer and a ghost."""
    rows = []
    for customer_id in [*roles.values(), GHOST]:
        for at in _instants(frames, original, customer_id, rng):
            amount = float(rng.choice([0.0, 0.01, round(float(rng.lognormal(9, 1.5)), 2)]))
            order = make_order(customer_id=customer_id, ordered_at=at, amount=amount, status=None)
            rows.append(order)
    return frame("orders", rows).select(original.columns)


def _instants(
    frames: dict[str, pl.DataFrame],
    original: pl.DataFrame,
    customer_id: str,
    rng: np.random.Generator,
) -> list[datetime]:
    """Before all data, at/around stored orders and window edges, on limit and report dates."""

    def own(df: pl.DataFrame, col: str) -> list:
        return df.filter(pl.col("customer_id") == customer_id)[col].drop_nulls().sort().to_list()

    stored = own(frames["orders"], "ordered_at") or own(original, "ordered_at")
    drawn = rng.choice(len(stored), size=min(5, len(stored)), replace=False)
    ties = [at for at, n in Counter(stored).items() if n > 1][:3]
    picks = sorted({*stored[:1], *(stored[i] for i in drawn), *ties})
    out = [datetime(2000, 1, 3, 9), datetime(1969, 12, 31, 23, 59, 59, 999_999)]
    out.append(datetime(2026, 1, 5))
    month, quarter = timedelta(days=30), timedelta(days=90)
    for h in picks:
        out += [h, h - US, h + US, h + month, h + month + US, h + quarter, h + quarter - US]
        out.append(h + timedelta(hours=int(rng.integers(1, 500))))
    for kind, col in (("credit_limits", "valid_from"), ("serasa_reports", "queried_at")):
        for d in own(frames[kind], col):
            midnight = datetime.combine(d, datetime.min.time())
            out += [midnight, midnight - US, midnight + timedelta(days=1) - US]
    return out


@pytest.fixture(scope="module", params=SEEDS)
def case(request: pytest.FixtureRequest) -> Case:
    return _case(request.param)


# --- parity ------------------------------------------------------------------------------------


def test_live_features_equal_the_batch_rows_bit_for_bit(case: Case) -> None:
    batch = build_features(case.targets, History(case.frames))
    failures = []
    rows = zip(case.targets.iter_rows(named=True), batch.iter_rows(named=True), strict=True)
    for target, row in rows:
        diff = _mismatches(_live(case.snapshot(target["customer_id"]), target), row)
        where = f"{target['order_id']} {target['customer_id']} {target['ordered_at']}"
        failures += [f"{where}: {d}" for d in diff]
    assert not failures, "\n".join(failures[:20])
    assert batch.height > 600
    _assert_edges_reached(case, batch)


def _assert_edges_reached(case: Case, batch: pl.DataFrame) -> None:
    """The edited data really put targets on the edges the parity is meant to cover."""
    keys = ["customer_id", "ordered_at"]
    shared = case.frames["orders"].group_by(keys).len().filter(pl.col("len") > 1)
    assert case.targets.join(shared, on=keys).height > 0, "no target at a shared instant"
    limit = pl.col("limit_amount")
    known = pl.col("past_block_rate")
    reached = batch.select(
        zero_amount=(pl.col("amount") == 0).any(),
        zero_limit=(limit == 0).any(),
        nan_ratio=pl.col("amount_to_limit").is_nan().any(),
        null_limit_aged=(limit.is_null() & pl.col("limit_age_days").is_not_null()).any(),
        report_same_day=(pl.col("serasa_age_days") == 0).any(),
        limit_same_day=(pl.col("limit_age_days") == 0).any(),
        negative_tenure=(pl.col("tenure_days") < 0).any(),
        unknown_state=pl.col("state_code").is_null().any(),
        no_history=(pl.col("past_orders_count") == 0).any(),
        block_rate=known.is_between(0, 1, closed="none").any(),
        only_unknown_statuses=((pl.col("past_orders_count") > 0) & known.is_null()).any(),
    ).row(0, named=True)
    assert all(reached.values()), reached


def test_features_row_equals_the_batch_feature_matrix(case: Case) -> None:
    targets = case.targets.sample(300, seed=0)
    X = feature_matrix(build_features(targets, History(case.frames)), FEATURE_NAMES[::-1])
    for i, target in enumerate(targets.iter_rows(named=True)):
        row = features_row(
            case.snapshot(target["customer_id"]),
            ordered_at=target["ordered_at"],
            amount=target["amount"],
            payment_terms_days=target["payment_terms_days"],
            names=FEATURE_NAMES[::-1],
        )
        assert row.dtype == np.float32 and row.shape == (1, len(FEATURE_NAMES))
        np.testing.assert_array_equal(row[0], X[i])


def test_a_snapshot_from_text_columns_is_the_same(case: Case) -> None:
    """Frames as read from CSV (every column text) conform to the same snapshot."""
    for customer_id in case.roles.values():
        own = {kind: df.filter(pl.col("customer_id") == customer_id) for kind, df in case.frames.items()}
        text = History({kind: df.with_columns(pl.all().cast(pl.String)) for kind, df in own.items()})
        # repr: exact for floats and NaN-safe (a NaN limit is among the cases)
        assert repr(prepare_snapshot(customer_id, text)) == repr(case.snapshot(customer_id))


# --- named cases -------------------------------------------------------------------------------


def _snapshot(
    customers=(), limits=(), reports=(), history=(), customer_id: str = "A"
) -> CustomerSnapshot:
    kinds = make_history(customers=customers, credit_limits=limits, serasa_reports=reports, orders=history)
    return prepare_snapshot(customer_id, kinds)


def _at(snapshot: CustomerSnapshot, ordered_at: datetime, amount: float = 1_000.0) -> dict:
    return live_features(snapshot, ordered_at=ordered_at, amount=amount, payment_terms_days=30)


class TestUnknownCustomer:
    def test_customer_limit_and_serasa_features_null_counts_zero(self) -> None:
        others = [make_customer(customer_id="B")], [make_limit(customer_id="B")]
        others += ([make_report(customer_id="B")], [make_order(customer_id="B")])
        snapshot = _snapshot(*others, customer_id="A")
        out = _at(snapshot, datetime(2024, 1, 1))
        assert all(out[n] is None for n in (*CUSTOMER_VALUES, *LIMIT_VALUES, *SERASA_VALUES))
        assert (out["amount"], out["payment_terms_days"]) == (1_000.0, 30.0)
        assert (out["past_orders_count"], out["past_blocked_count"]) == (0.0, 0.0)
        assert (out["exposure_30d"], out["exposure_90d"]) == (0.0, 0.0)
        nulls = ("past_block_rate", "past_mean_amount", "amount_to_past_mean")
        assert all(out[n] is None for n in (*nulls, "days_since_previous_order"))

    def test_matches_the_batch_row(self) -> None:
        target = make_order(customer_id="ZZ", ordered_at=datetime(2024, 2, 29, 23, 59, 59, 999_999))
        batch = build_features(frame("orders", [target]), History())
        assert not _mismatches(_live(_snapshot(customer_id="ZZ"), target), batch.row(0, named=True))


class TestHistory:
    def test_orders_at_the_same_instant_are_all_or_nothing(self) -> None:
        t = datetime(2024, 5, 1, 10, 0, 0, 123_456)
        blocked = make_order(ordered_at=t, amount=10.0, status="blocked")
        snapshot = _snapshot(history=[blocked, make_order(ordered_at=t, amount=20.0)])
        assert _at(snapshot, t)["past_orders_count"] == 0.0
        after = _at(snapshot, t + US)
        seen = (after["past_orders_count"], after["past_block_rate"], after["exposure_30d"])
        assert seen == (2.0, 0.5, 20.0)  # the exposure counts the billed order only
        assert after["days_since_previous_order"] == 1 / 86_400_000_000

    def test_exposure_sums_billed_orders_only(self) -> None:
        t = datetime(2024, 5, 1, 10)
        statuses = ["billed", " Billed ", "blocked", "pending", None]
        history = [make_order(order_id=f"o{i}", ordered_at=t + i * US, amount=10.0 ** i, status=status)
                   for i, status in enumerate(statuses)]
        target = make_order(order_id="new", ordered_at=t + timedelta(days=1), status=None)
        live = _live(_snapshot(history=history), target)
        assert (live["exposure_30d"], live["exposure_90d"]) == (11.0, 11.0)
        assert live["past_orders_count"] == 5.0 and live["past_mean_amount"] == 11_111.0 / 5
        batch = build_features(frame("orders", [target]), make_history(orders=history))
        assert not _mismatches(live, batch.row(0, named=True))

    def test_window_includes_an_order_exactly_thirty_days_before(self) -> None:
        t = datetime(2024, 5, 1, 10)
        snapshot = _snapshot(history=[make_order(ordered_at=t, amount=12.34)])
        assert _at(snapshot, t + timedelta(days=30))["exposure_30d"] == 12.34
        assert _at(snapshot, t + timedelta(days=30) + US)["exposure_30d"] == 0.0
        assert _at(snapshot, t + timedelta(days=30) + US)["exposure_90d"] == 12.34


class TestDates:
    def test_limit_and_report_of_the_order_date_count_all_day(self) -> None:
        limits = [make_limit(valid_from=date(2024, 5, 1), limit_amount=0.0)]
        reports = [make_report(queried_at=date(2024, 5, 1))]
        snapshot = _snapshot([make_customer()], limits, reports)
        assert _at(snapshot, datetime(2024, 4, 30, 23, 59, 59, 999_999))["serasa_score"] is None
        out = _at(snapshot, datetime(2024, 5, 1, 23, 59, 59, 999_999))
        ages = (out["serasa_score"], out["serasa_age_days"], out["limit_age_days"])
        assert ages == (700.0, 0.0, 0.0)
        assert (out["limit_amount"], out["amount_to_limit"]) == (0.0, None)

    def test_an_aware_time_is_taken_in_utc(self) -> None:
        snapshot = _snapshot([make_customer()], [make_limit(valid_from=date(2024, 5, 2))])
        brasilia = timezone(timedelta(hours=-3))
        aware = _at(snapshot, datetime(2024, 5, 1, 22, 0, tzinfo=brasilia))
        assert aware == _at(snapshot, datetime(2024, 5, 2, 1, 0)) and aware["limit_age_days"] == 0.0
        assert aware == _at(snapshot, datetime(2024, 5, 2, 1, 0, tzinfo=UTC))


class TestSnapshot:
    def test_is_immutable_and_hashable(self) -> None:
        snapshot = _snapshot([make_customer()], history=[make_order()])
        with pytest.raises(FrozenInstanceError):
            snapshot.customer_id = "B"  # type: ignore[misc]
        assert hash(snapshot) == hash(_snapshot([make_customer()], history=[make_order()]))

    def test_features_row_rejects_an_unknown_name(self) -> None:
        order = {"ordered_at": datetime(2024, 1, 1), "amount": 1.0, "payment_terms_days": 0}
        with pytest.raises(FeatureError, match="nope"):
            features_row(_snapshot(), **order, names=["nope"])

    def test_has_one_part_per_kind_in_registry_order(self) -> None:
        snapshot = _snapshot([make_customer()], [make_limit()], history=[make_order()])
        assert KINDS == ("customers", "credit_limits", "serasa_reports", "orders")
        assert [snapshot.part(kind) for kind in KINDS] == list(snapshot.parts)
        assert snapshot.part("credit_limits").days == ((date(2023, 1, 1) - date(1970, 1, 1)).days,)
        with pytest.raises(SchemaError, match="receivables"):
            snapshot.part("receivables")

    def test_is_empty_only_without_any_row(self) -> None:
        assert is_empty(_snapshot([make_customer(customer_id="B")]))
        assert is_empty(item_snapshot("A", {}))
        for kind, row in (("customers", make_customer()), ("credit_limits", make_limit()),
                          ("serasa_reports", make_report()), ("orders", make_order())):
            assert not is_empty(prepare_snapshot("A", make_history(**{kind: [row]}))), kind

    def test_a_plain_mapping_of_frames_is_refused(self) -> None:
        frames = {"customers": frame("customers", [make_customer()])}
        with pytest.raises(TypeError, match="History"):
            prepare_snapshot("A", frames)  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="History"):
            build_features(frame("orders", [make_order()]), frames)  # type: ignore[arg-type]


class TestReplaceKinds:
    """A decision's context items replace those kinds of the stored snapshot; the rest stays."""

    stored = _snapshot(
        [make_customer(state="SP")],
        [make_limit(limit_amount=1_000.0)],
        [make_report(score=700.0)],
        [make_order(ordered_at=datetime(2024, 1, 1), amount=50.0)],
    )
    given = item_snapshot("A", {"customers": make_customer(state="RJ"),
                                "credit_limits": make_limit(limit_amount=9_000.0, valid_from=date(2024, 2, 1))})

    def test_the_named_kinds_come_from_the_other_snapshot(self) -> None:
        replaced = replace_kinds(self.stored, self.given, ["customers", "credit_limits"])
        assert replaced.customer_id == "A"
        assert replaced.parts == (*self.given.parts[:2], *self.stored.parts[2:])
        out = _at(replaced, datetime(2024, 6, 1))
        assert out["state_code"] == float(UFS.index("RJ"))
        assert (out["limit_amount"], out["limit_age_days"]) == (9_000.0, 121.0)
        assert (out["serasa_score"], out["past_orders_count"], out["past_mean_amount"]) == (700.0, 1.0, 50.0)
        assert _at(self.stored, datetime(2024, 6, 1))["limit_amount"] == 1_000.0  # the stored one is unchanged

    def test_equals_a_snapshot_prepared_from_the_combined_rows(self) -> None:
        replaced = replace_kinds(self.stored, self.given, ["credit_limits"])
        limit = make_limit(limit_amount=9_000.0, valid_from=date(2024, 2, 1))
        combined = _snapshot([make_customer(state="SP")], [limit], [make_report(score=700.0)],
                             [make_order(ordered_at=datetime(2024, 1, 1), amount=50.0)])
        assert replaced == combined and hash(replaced) == hash(combined)

    def test_a_kind_the_other_lacks_becomes_empty_and_no_kind_changes_nothing(self) -> None:
        replaced = replace_kinds(self.stored, self.given, ["serasa_reports"])
        assert _at(replaced, datetime(2024, 6, 1))["serasa_score"] is None
        assert replace_kinds(self.stored, self.given, []) is self.stored

    def test_an_unknown_kind_is_refused(self) -> None:
        with pytest.raises(SchemaError, match="receivable"):
            replace_kinds(self.stored, self.given, ["customers", "receivable"])


# --- timings (printed, not asserted) -----------------------------------------------------------


def _median_us(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter_ns()
        fn()
        times.append(time.perf_counter_ns() - started)
    return statistics.median(times) / 1_000


def test_timings(capsys: pytest.CaptureFixture[str]) -> None:
    data = generate(customers=300, orders=8000, seed=SEEDS[0], end=END)
    busiest = data.orders["customer_id"].mode().sort()[0]
    frames = {kind: df.filter(pl.col("customer_id") == busiest) for kind, df in data.frames().items()}
    own = History(frames)
    order = own["orders"].sort("ordered_at").row(-1, named=True)
    target = own["orders"].filter(pl.col("order_id") == order["order_id"])
    snapshot = prepare_snapshot(busiest, own)
    kwargs = {k: order[k] for k in ("ordered_at", "amount", "payment_terms_days")}
    items = {"customers": make_customer(), "credit_limits": make_limit(), "serasa_reports": make_report()}
    live = _median_us(lambda: live_features(snapshot, **kwargs), 10_000)
    row = _median_us(lambda: features_row(snapshot, **kwargs), 10_000)
    item = _median_us(lambda: item_snapshot("A", items), 10_000)
    prepare = _median_us(lambda: prepare_snapshot(busiest, own), 50)
    conform_and_prepare = _median_us(lambda: prepare_snapshot(busiest, History(frames)), 50)
    batch = _median_us(lambda: build_features(target, own), 50)
    with capsys.disabled():
        print(
            f"\n[live] customer with {own['orders'].height} orders: live_features {live:.1f} µs, "
            f"features_row {row:.1f} µs, item_snapshot {item:.1f} µs, prepare_snapshot {prepare:.0f} µs "
            f"({conform_and_prepare:.0f} µs with History()), build_features on one target {batch:.0f} µs"
        )


ITEM_CASES = [
    {},
    {"customers": make_customer()},
    {"customers": make_customer(state=" rj ", simples_nacional=None, mei=True, customer_since=date(1999, 12, 31))},
    {"customers": make_customer(state="XX", final_consumer=None)},
    {"credit_limits": make_limit()},
    {"credit_limits": make_limit(limit_amount=0.0, valid_from=date(2030, 5, 6))},
    {"credit_limits": make_limit(valid_from=None)},
    {"serasa_reports": make_report()},
    {"serasa_reports": make_report(score=None, pefin_count=3, pefin_amount=1234.56, queried_at=date(2001, 2, 3))},
    {"customers": make_customer(), "credit_limits": make_limit(limit_amount=55_000.25),
     "serasa_reports": make_report()},
    {"customers": None, "credit_limits": make_limit()},
]


@pytest.mark.parametrize("items", ITEM_CASES)
def test_item_snapshot_equals_prepare_snapshot_of_one_row_frames(items: dict) -> None:
    rows = {kind: [] if item is None else [item] for kind, item in items.items()}
    expected = prepare_snapshot("A", make_history(**rows))
    assert item_snapshot("A", items) == expected


@pytest.mark.parametrize("kind", ["orders", "receivables", "customer"])
def test_item_snapshot_refuses_kinds_without_an_item_form(kind: str) -> None:
    with pytest.raises(SchemaError, match=kind):
        item_snapshot("A", {kind: {}})
