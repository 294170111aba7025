"""Features of one new order for a live decision, identical to `build_features`.

`build_features` stays the single definition of the features; for a single order its Polars plan
costs milliseconds, far over a live decision's budget. Here everything stored about a customer is
reduced once, with the same Polars expressions and de-duplication rules, to a `CustomerSnapshot`
of plain tuples: the static customer values, limits and reports sorted by date, and the history
as running totals per distinct order instant. `live_features` then answers one order with
`bisect` and float arithmetic in microseconds, reproducing every value bit for bit (the parity
tests in tests/ml/test_live.py compare it with `build_features` on whole datasets).

Dates are kept as days since 1970-01-01 and instants as microseconds since then, Polars' own
representations of `Date` and `Datetime("us")`, so every comparison and difference is integer.
A snapshot describes the stored data it was built from: rebuild it when any of them changes
(a stored order, a new limit or report).
"""

from bisect import bisect_left, bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
import polars as pl

from app.ml import schema
from app.ml.errors import FeatureError
from app.ml.features import FEATURE_NAMES, SERASA_FEATURES, UFS

_US_PER_DAY = 86_400_000_000
_EPOCH = datetime(1970, 1, 1)
_EPOCH_DATE = _EPOCH.date()
_30_DAYS = 30 * _US_PER_DAY
_90_DAYS = 90 * _US_PER_DAY
_REPORT_VALUES = (*SERASA_FEATURES, "score")
_NO_CUSTOMER = (None, None, None, None, None)
_NO_LIMIT = (None, None, None)
_NO_REPORT = (None,) * (len(_REPORT_VALUES) + 1)
_NO_HISTORY = (0.0, 0.0, None, None, None, 0.0, 0.0, None)
_INDEX = {name: i for i, name in enumerate(FEATURE_NAMES)}


@dataclass(frozen=True, slots=True)
class CustomerSnapshot:
    """One customer's stored data, reduced for point-in-time look-ups (immutable, hashable).

    Days count from 1970-01-01 and instants are microseconds since then (naive UTC).
    """

    customer_id: str
    customer: tuple[float | None, ...]
    """simples_nacional, mei, final_consumer, state_code (floats) and customer_since (day)."""
    limit_days: tuple[int, ...]
    """Distinct `valid_from` days, ascending."""
    limits: tuple[tuple[float | None, float | None], ...]
    """Per limit day: `limit_amount` and the divisor of `amount_to_limit` (null unless > 0)."""
    report_days: tuple[int, ...]
    """Distinct `queried_at` days, ascending."""
    reports: tuple[tuple[float | None, ...], ...]
    """Per report day: the `SERASA_FEATURES` values then the score, as floats."""
    instants: tuple[int, ...]
    """Distinct history order instants, ascending."""
    totals: tuple[tuple[int, int, int, int], ...]
    """Per instant, running totals of orders, cents, known statuses and blocked, inclusive."""


def prepare_snapshot(
    customer_id: str,
    customers: pl.DataFrame,
    credit_limits: pl.DataFrame,
    serasa_reports: pl.DataFrame,
    history: pl.DataFrame,
) -> CustomerSnapshot:
    """Reduce everything stored about `customer_id` to a snapshot (rows of others are ignored).

    Frames may have any column order and are conformed like `build_features`' inputs; the same
    rules apply: the last customer row wins, limits and reports keep the last row per date and
    drop rows without a date, history orders sharing an instant form one step.
    """
    own = pl.col("customer_id") == customer_id
    limit = pl.col("limit_amount")
    limit_days, limits = _dated(
        schema.conform("credit_limits", credit_limits).filter(own),
        "valid_from",
        [limit, pl.when(limit > 0).then(limit).alias("_divisor")],
    )
    report_days, reports = _dated(
        schema.conform("serasa_reports", serasa_reports).filter(own),
        "queried_at",
        [pl.col(name).cast(pl.Float64) for name in _REPORT_VALUES],
    )
    instants, totals = _history_steps(schema.conform("orders", history).filter(own))
    return CustomerSnapshot(
        customer_id=customer_id,
        customer=_customer(schema.conform("customers", customers).filter(own)),
        limit_days=limit_days,
        limits=limits,
        report_days=report_days,
        reports=reports,
        instants=instants,
        totals=totals,
    )


def item_snapshot(
    customer_id: str,
    customer: Mapping[str, Any] | None = None,
    credit_limit: Mapping[str, Any] | None = None,
    serasa_report: Mapping[str, Any] | None = None,
) -> CustomerSnapshot:
    """The snapshot `prepare_snapshot` builds from at most one validated item of each kind (a
    decision's context), in plain Python: a few microseconds instead of ~5 ms of Polars plans.
    Items are dicts with the upload schema's Python values (dates as `date`); the parity test in
    tests/ml/test_live.py holds the two functions equal."""
    limit_days, limits = _item_dated(credit_limit, "valid_from", _limit_values)
    report_days, reports = _item_dated(serasa_report, "queried_at",
                                       lambda item: tuple(_float(item.get(name)) for name in _REPORT_VALUES))
    return CustomerSnapshot(customer_id, _item_customer(customer), limit_days, limits, report_days, reports, (), ())


def _item_customer(item: Mapping[str, Any] | None) -> tuple[float | None, ...]:
    if item is None:
        return _NO_CUSTOMER
    state = item.get("state")
    state = state.strip().upper() if isinstance(state, str) else None
    since = item.get("customer_since")
    return (_float(item.get("simples_nacional")), _float(item.get("mei")), _float(item.get("final_consumer")),
            float(UFS.index(state)) if state in UFS else None, _day(since) if since is not None else None)


def _item_dated(item: Mapping[str, Any] | None, date_key: str, values) -> tuple[tuple[int, ...], tuple[tuple, ...]]:
    if item is None or item.get(date_key) is None:
        return (), ()
    return (_day(item[date_key]),), (values(item),)


def _limit_values(item: Mapping[str, Any]) -> tuple[float | None, float | None]:
    limit = _float(item.get("limit_amount"))
    return limit, (limit if limit is not None and limit > 0 else None)


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _day(value: date) -> int:
    return (value - _EPOCH_DATE).days


def is_empty(snapshot: CustomerSnapshot) -> bool:
    """Nothing at all is stored about the customer: no customer row, limit, report or order."""
    return (snapshot.customer == _NO_CUSTOMER and not snapshot.limit_days and not snapshot.report_days
            and not snapshot.instants)


def live_features(
    snapshot: CustomerSnapshot, *, ordered_at: datetime, amount: float, payment_terms_days: int
) -> dict[str, float | None]:
    """One order's features, keyed by `FEATURE_NAMES` in order, as `build_features` gives them.

    `ordered_at` is naive UTC (an aware value is converted to UTC). The order itself need not be
    in the snapshot's history; if it is, it is not seen (only earlier instants count).
    """
    return dict(zip(FEATURE_NAMES, _values(snapshot, ordered_at, amount, payment_terms_days), strict=True))


def features_row(
    snapshot: CustomerSnapshot,
    *,
    ordered_at: datetime,
    amount: float,
    payment_terms_days: int,
    names: Sequence[str] = FEATURE_NAMES,
) -> np.ndarray:
    """The order's features as a float32 (1, len(names)) matrix, nulls as NaN.

    Same values as `feature_matrix` on the batch row; pass a stored model's feature list.
    """
    values = _values(snapshot, ordered_at, amount, payment_terms_days)
    try:
        row = [values[_INDEX[name]] for name in names]
    except KeyError as exc:
        raise FeatureError(f"unknown feature {exc.args[0]!r}") from None
    return np.array([[np.nan if v is None else v for v in row]], dtype=np.float32)


# --- snapshot ----------------------------------------------------------------------------------


def _customer(customers: pl.DataFrame) -> tuple[float | None, ...]:
    """The last row given wins."""
    if customers.is_empty():
        return _NO_CUSTOMER
    state = pl.col("state").str.strip_chars().str.to_uppercase()
    return customers.tail(1).select(
        pl.col("simples_nacional", "mei", "final_consumer").cast(pl.Float64),
        state.replace_strict(UFS, range(len(UFS)), default=None, return_dtype=pl.Float64),
        pl.col("customer_since").cast(pl.Int32),
    ).row(0)


def _dated(
    frame: pl.DataFrame, date_col: str, values: list[pl.Expr]
) -> tuple[tuple[int, ...], tuple[tuple, ...]]:
    """Distinct days of `date_col`, ascending, and `values` of the last row given for each."""
    latest: dict[int, tuple] = {}
    for day, *row in frame.select(pl.col(date_col).cast(pl.Int32), *values).iter_rows():
        if day is not None:
            latest[day] = tuple(row)
    days = sorted(latest)
    return tuple(days), tuple(latest[day] for day in days)


def _history_steps(orders: pl.DataFrame) -> tuple[tuple[int, ...], tuple[tuple[int, ...], ...]]:
    """Distinct order instants, ascending, and the running totals after all orders of each."""
    status = pl.col("status").str.strip_chars().str.to_lowercase()
    rows = orders.drop_nulls("ordered_at").select(
        pl.col("ordered_at").cast(pl.Int64),
        (pl.col("amount").fill_null(0.0) * 100).round().cast(pl.Int64),
        status.is_in(["blocked", "billed"]).fill_null(False).cast(pl.Int64).alias("known"),
        (status == "blocked").fill_null(False).cast(pl.Int64).alias("blocked"),
    )
    instants: list[int] = []
    totals: list[tuple[int, int, int, int]] = []
    n = cents = known = blocked = 0
    for at, *step in sorted(rows.iter_rows()):
        n, cents, known, blocked = n + 1, cents + step[0], known + step[1], blocked + step[2]
        if instants and instants[-1] == at:
            totals[-1] = (n, cents, known, blocked)
        else:
            instants.append(at)
            totals.append((n, cents, known, blocked))
    return tuple(instants), tuple(totals)


# --- one order ---------------------------------------------------------------------------------


def _values(
    s: CustomerSnapshot, ordered_at: datetime, amount: float, payment_terms_days: int
) -> tuple[float | None, ...]:
    """Feature values in `FEATURE_NAMES` order."""
    if ordered_at.tzinfo is not None:
        ordered_at = ordered_at.astimezone(UTC).replace(tzinfo=None)
    delta = ordered_at - _EPOCH
    now = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    amount = float(amount)
    *flags, since = s.customer
    return (
        amount,
        float(payment_terms_days),
        *flags,
        None if since is None else float(delta.days - since),
        *_limit(s, delta.days, amount),
        *_report(s, delta.days),
        *_history(s, now, amount),
    )


def _limit(s: CustomerSnapshot, day: int, amount: float) -> tuple[float | None, ...]:
    """The limit in force on the order's day (latest `valid_from` <= day)."""
    i = bisect_right(s.limit_days, day)
    if not i:
        return _NO_LIMIT
    limit, divisor = s.limits[i - 1]
    ratio = None if divisor is None else amount / divisor
    return limit, ratio, float(day - s.limit_days[i - 1])


def _report(s: CustomerSnapshot, day: int) -> tuple[float | None, ...]:
    """The latest report queried on or before the order's day, and its age."""
    i = bisect_right(s.report_days, day)
    if not i:
        return _NO_REPORT
    return *s.reports[i - 1], float(day - s.report_days[i - 1])


def _history(s: CustomerSnapshot, now: int, amount: float) -> tuple[float | None, ...]:
    """Past behaviour from the last step strictly before `now`; windows are [now - d, now)."""
    i = bisect_left(s.instants, now)
    if not i:
        return _NO_HISTORY
    n, cents, known, blocked = s.totals[i - 1]
    mean = float(cents) / float(n * 100)
    return (
        float(n),
        float(blocked),
        float(blocked) / float(known) if known > 0 else None,
        mean,
        amount / mean if mean > 0 else None,
        float(cents - _cents_before(s, now - _30_DAYS)) / 100.0,
        float(cents - _cents_before(s, now - _90_DAYS)) / 100.0,
        float(now - s.instants[i - 1]) / 86_400_000_000.0,
    )


def _cents_before(s: CustomerSnapshot, instant: int) -> int:
    i = bisect_left(s.instants, instant)
    return s.totals[i - 1][1] if i else 0
