"""Orders: when, how much, on what terms, and whether credit was blocked."""

from __future__ import annotations

import numpy as np
import polars as pl

from app.demo.arrays import CUSTOMER_INDEX, choose_rows, latest_on_or_before, sort_key
from app.demo.population import Population
from app.demo.status import OrderSignals, decide_blocked, report_signals

PAYMENT_TERMS = np.array([0, 7, 14, 21, 28, 30, 45, 60, 90])
# Term shares per segment (FINAL_CONSUMER, MEI, SMALL, MEDIUM, LARGE).
_TERM_SHARES = np.array([
    [0.60, 0.10, 0.05, 0.03, 0.05, 0.12, 0.03, 0.02, 0.00],
    [0.25, 0.15, 0.12, 0.08, 0.12, 0.18, 0.05, 0.05, 0.00],
    [0.08, 0.08, 0.10, 0.10, 0.17, 0.25, 0.12, 0.08, 0.02],
    [0.03, 0.04, 0.06, 0.08, 0.15, 0.27, 0.18, 0.13, 0.06],
    [0.01, 0.02, 0.03, 0.05, 0.10, 0.25, 0.22, 0.20, 0.12],
])  # fmt: skip
_HOUR_WEIGHTS = np.array([4, 8, 10, 9, 5, 6, 9, 9, 7, 4], dtype=float)  # 08:00 to 17:59
_USUAL_TERMS_SHARE = 0.75
_SECONDS_PER_DAY = 86_400
_EXPOSURE_WINDOW_SECONDS = 30 * _SECONDS_PER_DAY
_MIN_AMOUNT = 50.0


def build_orders(
    rng: np.random.Generator,
    population: Population,
    limits: pl.DataFrame,
    reports: pl.DataFrame,
    count: int,
) -> pl.DataFrame:
    """Orders sorted by ordered_at (ids follow that order), plus an internal customer_index."""
    customer = _order_customers(rng, population, count)
    second = _order_seconds(rng, population, customer)
    by_customer = np.lexsort((second, customer))
    customer, second = customer[by_customer], second[by_customer]
    day = second // _SECONDS_PER_DAY
    limit = _in_force(limits, "valid_from", customer, day)["limit_amount"].to_numpy()
    amount = _amounts(rng, population, customer, day, limit)
    signals = OrderSignals(
        customer=customer,
        usage=(amount + _exposure(customer, second, amount)) / limit,
        tenure_years=(day - population.since[customer]) / 365.0,
        payment_terms=_payment_terms(rng, population, customer),
        **report_signals(_in_force(reports, "queried_at", customer, day)),
    )
    blocked = decide_blocked(rng, signals, population.size)
    return _frame(customer, second, amount, signals.payment_terms, blocked)


def _order_customers(
    rng: np.random.Generator, population: Population, count: int
) -> np.ndarray:
    """Bigger customers, and those active for longer, place more orders."""
    span = population.timeline.end - population.active_from
    weight = np.exp(0.55 * population.log_size) * span
    return rng.choice(population.size, size=count, p=weight / weight.sum())


def _order_seconds(
    rng: np.random.Generator, population: Population, customer: np.ndarray
) -> np.ndarray:
    """Seconds since 1970 on a business day in [active_from, end), during business hours."""
    start = population.active_from.astype("datetime64[D]")
    business_days = np.busday_count(start, np.datetime64(population.timeline.end, "D"))
    offset = np.floor(rng.random(len(customer)) * business_days[customer]).astype(np.int64)
    day = np.busday_offset(start[customer], offset, roll="forward").astype(np.int64)
    hour_weights = _HOUR_WEIGHTS / _HOUR_WEIGHTS.sum()
    hour = 8 + rng.choice(len(hour_weights), size=len(customer), p=hour_weights)
    return day * _SECONDS_PER_DAY + hour * 3_600 + rng.integers(0, 3_600, len(customer))


def _in_force(
    events: pl.DataFrame, date_column: str, customer: np.ndarray, day: np.ndarray
) -> pl.DataFrame:
    """Each order's latest event (limit or report) dated on or before its day."""
    event_day = events[date_column].cast(pl.Int32).to_numpy()
    index = latest_on_or_before(events[CUSTOMER_INDEX].to_numpy(), event_day, customer, day)
    if (index < 0).any():
        raise RuntimeError(f"an order precedes its customer's first {date_column}")
    return events[index]


def _amounts(
    rng: np.random.Generator,
    population: Population,
    customer: np.ndarray,
    day: np.ndarray,
    limit: np.ndarray,
) -> np.ndarray:
    """Sized so a customer's monthly orders use a customer-typical share of the limit in force.

    Scaling by the customer's order frequency keeps limit usage (and so the blocked share)
    stable whatever the orders-per-customer ratio; riskier moments push usage up.
    """
    months_active = (population.timeline.end - population.active_from) / 30.0
    counts = np.bincount(customer, minlength=population.size)
    orders_per_month = np.maximum(counts / months_active, 1.0)[customer]
    utilisation = rng.lognormal(np.log(0.45), 0.45, population.size)[customer]
    pressure = np.exp(0.2 * population.risk_at(customer, day))
    amount = limit * utilisation * pressure / orders_per_month * rng.lognormal(0.0, 0.6, len(day))
    return np.maximum(np.round(amount, 2), _MIN_AMOUNT)


def _exposure(customer: np.ndarray, second: np.ndarray, amount: np.ndarray) -> np.ndarray:
    """Amount of the same customer's orders in the 30 days before each order (sorted input)."""
    keys = sort_key(customer, second)
    window_keys = sort_key(customer, second - _EXPOSURE_WINDOW_SECONDS)
    window_start = np.searchsorted(keys, window_keys, side="left")
    running = np.concatenate([[0.0], np.cumsum(amount)])
    return np.maximum(running[np.arange(len(amount))] - running[window_start], 0.0)


def _payment_terms(
    rng: np.random.Generator, population: Population, customer: np.ndarray
) -> np.ndarray:
    """Each customer has usual terms; a quarter of its orders use other terms."""
    shares = _TERM_SHARES[population.segment]
    usual = choose_rows(rng, shares)[customer]
    other = choose_rows(rng, shares[customer])
    keep_usual = rng.random(len(customer)) < _USUAL_TERMS_SHARE
    return PAYMENT_TERMS[np.where(keep_usual, usual, other)]


def _frame(
    customer: np.ndarray,
    second: np.ndarray,
    amount: np.ndarray,
    terms: np.ndarray,
    blocked: np.ndarray,
) -> pl.DataFrame:
    chronological = np.argsort(second, kind="stable")
    return pl.DataFrame(
        {
            CUSTOMER_INDEX: customer[chronological].astype(np.int64),
            "ordered_at": pl.Series(second[chronological] * 1_000_000).cast(pl.Datetime("us")),
            "amount": amount[chronological],
            "payment_terms_days": terms[chronological].astype(np.int64),
            "blocked": blocked[chronological],
        }
    ).select(
        _order_ids().alias("order_id"),
        pl.exclude("blocked"),
        pl.when("blocked").then(pl.lit("blocked")).otherwise(pl.lit("billed")).alias("status"),
    )


def _order_ids() -> pl.Expr:
    """O0000001, O0000002, ... in row order."""
    return pl.lit("O") + pl.int_range(1, pl.len() + 1).cast(pl.String).str.zfill(7)
