"""Vectorised helpers shared by the demo builders: event days, point-in-time lookups, sampling."""

from __future__ import annotations

import numpy as np
import polars as pl

CUSTOMER_INDEX = "customer_index"  # internal column linking rows to customers, never published
_CUSTOMER_STRIDE = np.int64(2**34)  # room for day numbers and seconds since 1970 until year 2514


def sort_key(customer: np.ndarray, moment: np.ndarray) -> np.ndarray:
    """One int64 that sorts by customer, then by moment (day number or second)."""
    return customer.astype(np.int64) * _CUSTOMER_STRIDE + moment.astype(np.int64)


def latest_on_or_before(
    event_customer: np.ndarray, event_moment: np.ndarray, customer: np.ndarray, moment: np.ndarray
) -> np.ndarray:
    """Index of each query's latest event of the same customer at or before its moment, or -1.

    Events must be sorted by customer, then moment.
    """
    event_keys = sort_key(event_customer, event_moment)
    index = np.searchsorted(event_keys, sort_key(customer, moment), side="right") - 1
    found = (index >= 0) & (event_customer[np.maximum(index, 0)] == customer)
    return np.where(found, index, -1)


def event_days(starts: np.ndarray, gaps: np.ndarray, last: int) -> tuple[np.ndarray, np.ndarray]:
    """Days start, start + gap1, start + gap1 + gap2, ... up to `last` for every customer.

    ``gaps`` is a (customers, k) matrix. Returns (customer index, day) arrays sorted by
    customer, then day; a customer whose start is after `last` gets no event.
    """
    offsets = np.concatenate([np.zeros((len(starts), 1), np.int64), gaps.cumsum(axis=1)], axis=1)
    days = starts[:, None] + offsets
    keep = days <= last
    customers = np.broadcast_to(np.arange(len(starts))[:, None], days.shape)
    return customers[keep], days[keep]


def date_series(name: str, days: np.ndarray) -> pl.Series:
    """Day numbers as a polars Date column."""
    return pl.Series(name, days.astype(np.int32)).cast(pl.Date)


def choose_rows(rng: np.random.Generator, probabilities: np.ndarray) -> np.ndarray:
    """One index per row, drawn from that row's categorical distribution."""
    cumulative = probabilities.cumsum(axis=1)
    draws = rng.random(len(probabilities))[:, None] * cumulative[:, -1:]
    return (draws > cumulative).sum(axis=1)
