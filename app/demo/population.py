"""The hidden side of the demo data: who each customer is and how risky over time.

Nothing here is written out. Segments, sizes, tenure and a latent risk that drifts month by
month drive the visible frames (limits, Serasa reports, orders). Dates are day numbers
(days since 1970-01-01) in int64 arrays so every step stays vectorised.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import IntEnum

import numpy as np

ORDER_WINDOW_DAYS = 913  # about 2.5 years of orders
REPORT_LEAD_DAYS = 365  # Serasa history starts up to a year before the order window
RISK_STEP_DAYS = 30

_EPOCH = date(1970, 1, 1)


class Segment(IntEnum):
    FINAL_CONSUMER = 0
    MEI = 1
    SMALL = 2
    MEDIUM = 3
    LARGE = 4


SEGMENT_SHARES = np.array([0.06, 0.14, 0.45, 0.27, 0.08])
# Median credit limit (BRL) and mean latent risk per segment, in Segment order.
_MEDIAN_LIMIT = np.array([3_000.0, 8_000.0, 30_000.0, 150_000.0, 800_000.0])
_RISK_MEAN = np.array([0.3, 0.4, 0.1, -0.2, -0.5])


@dataclass(frozen=True)
class Timeline:
    """Key day numbers: orders fall in [order_start, end), limits and reports on or before end."""

    end: int
    order_start: int
    history_start: int

    @classmethod
    def ending(cls, end: date) -> Timeline:
        end_day = day_number(end)
        order_start = end_day - ORDER_WINDOW_DAYS
        history_start = order_start - REPORT_LEAD_DAYS
        return cls(end=end_day, order_start=order_start, history_start=history_start)


@dataclass(frozen=True)
class Population:
    timeline: Timeline
    segment: np.ndarray  # int, Segment codes
    log_size: np.ndarray  # log of the customer's typical credit limit
    since: np.ndarray  # customer_since as day number
    active_from: np.ndarray  # first day an order may fall on
    risk_path: np.ndarray  # (customers, months) latent risk; higher is worse

    @property
    def size(self) -> int:
        return len(self.segment)

    def risk_at(self, customer: np.ndarray, day: np.ndarray) -> np.ndarray:
        """Latent risk of each customer on each day (clamped to the simulated months)."""
        step = (np.asarray(day) - self.timeline.history_start) // RISK_STEP_DAYS
        return self.risk_path[customer, np.clip(step, 0, self.risk_path.shape[1] - 1)]


def day_number(value: date) -> int:
    return (value - _EPOCH).days


def build_population(rng: np.random.Generator, customers: int, timeline: Timeline) -> Population:
    segment = rng.choice(len(SEGMENT_SHARES), size=customers, p=SEGMENT_SHARES)
    log_size = np.log(_MEDIAN_LIMIT[segment]) + rng.normal(0.0, 0.6, customers)
    since = _customer_since(rng, customers, timeline)
    tenure_years = np.maximum(timeline.order_start - since, 0) / 365.0
    loyalty = 0.15 * np.log1p(tenure_years)
    base_risk = _RISK_MEAN[segment] - loyalty + rng.normal(0.0, 0.9, customers)
    return Population(
        timeline=timeline,
        segment=segment,
        log_size=log_size,
        since=since,
        active_from=np.maximum(since + 1, timeline.order_start),
        risk_path=base_risk[:, None] + _risk_drift(rng, customers, timeline),
    )


def _customer_since(rng: np.random.Generator, customers: int, timeline: Timeline) -> np.ndarray:
    """35% join during the order window (leaving 45 days to order), the rest years before it."""
    joins_in_window = rng.random(customers) < 0.35
    in_window = timeline.order_start + rng.integers(0, ORDER_WINDOW_DAYS - 45, customers)
    years_before = np.minimum(rng.lognormal(np.log(3.0), 0.8, customers), 25.0)
    before = timeline.order_start - 1 - (years_before * 365).astype(np.int64)
    return np.where(joins_in_window, in_window, before).astype(np.int64)


def _risk_drift(rng: np.random.Generator, customers: int, timeline: Timeline) -> np.ndarray:
    """Mean-reverting monthly random walk (AR(1)) around each customer's base risk."""
    months = (timeline.end - timeline.history_start) // RISK_STEP_DAYS + 1
    shocks = rng.normal(0.0, 0.25, (customers, months))
    drift = np.empty((customers, months))
    drift[:, 0] = rng.normal(0.0, 0.5, customers)
    for month in range(1, months):
        drift[:, month] = 0.92 * drift[:, month - 1] + shocks[:, month]
    return drift
