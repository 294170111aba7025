"""Realistic Brazilian B2B demo data for CreditGate: customers, limits, Serasa reports, orders.

Everything is drawn from one seeded numpy Generator, fully vectorised, so a seed and an end
date always give the same four frames. Orders fall on business days in the ~2.5 years before
`end` (exclusive); limits and reports are dated on or before `end`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

from app.demo.arrays import CUSTOMER_INDEX
from app.demo.credit_limits import build_credit_limits
from app.demo.customers import build_customers
from app.demo.orders import build_orders
from app.demo.population import Timeline, build_population
from app.demo.serasa_reports import build_serasa_reports

KINDS = ("customers", "credit_limits", "serasa_reports", "orders")


@dataclass(frozen=True)
class DemoData:
    customers: pl.DataFrame
    credit_limits: pl.DataFrame
    serasa_reports: pl.DataFrame
    orders: pl.DataFrame

    def frames(self) -> dict[str, pl.DataFrame]:
        return {kind: getattr(self, kind) for kind in KINDS}


def generate(customers: int, orders: int, seed: int = 7, end: date | None = None) -> DemoData:
    """Generate `customers` customers and `orders` orders ending at `end` (default today)."""
    if customers < 1 or orders < 0:
        raise ValueError("need at least one customer and a non-negative number of orders")
    rng = np.random.default_rng(seed)
    population = build_population(rng, customers, Timeline.ending(end or date.today()))
    customer_frame = build_customers(rng, population)
    limits = build_credit_limits(rng, population)
    reports = build_serasa_reports(rng, population)
    order_frame = build_orders(rng, population, limits, reports, orders)
    ids = customer_frame["customer_id"]
    return DemoData(
        customers=customer_frame,
        credit_limits=_publish(limits, ids),
        serasa_reports=_publish(reports, ids),
        orders=_publish(order_frame, ids),
    )


def write(data: DemoData, out_dir: Path) -> list[Path]:
    """Write every frame as <kind>.csv and <kind>.parquet into out_dir; returns the paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    for kind, frame in data.frames().items():
        csv_path, parquet_path = out_dir / f"{kind}.csv", out_dir / f"{kind}.parquet"
        frame.write_csv(csv_path, datetime_format="%Y-%m-%dT%H:%M:%S")
        frame.write_parquet(parquet_path)
        paths += [csv_path, parquet_path]
    return paths


def _publish(frame: pl.DataFrame, customer_ids: pl.Series) -> pl.DataFrame:
    """Swap the internal customer index for the public customer_id (as the first id column)."""
    ids = customer_ids.gather(frame[CUSTOMER_INDEX]).alias("customer_id")
    published = frame.drop(CUSTOMER_INDEX)
    position = 1 if published.columns[0] == "order_id" else 0
    return published.insert_column(position, ids)
