"""Retraining from everything known: the company's valid training datasets plus the decided
orders whose outcome arrived, one fact per order (the latest wins), with the same point-in-time
features as any training. Runs inside the training process pool (`train_company`)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

import polars as pl

from app.db import retraining as retraining_db
from app.db.engine import make_engine, make_sessionmaker
from app.db.history import Rows
from app.ml.features import build_features
from app.ml.history import History
from app.ml.schema import conform
from app.ml.training import TrainConfig, train

KEYS = {"customers": ["customer_id"], "credit_limits": ["customer_id", "valid_from"],
        "serasa_reports": ["customer_id", "queried_at"], "orders": ["order_id"]}
FACT_AT = "_fact_at"


async def _load(database_url: str, company_id: str) -> tuple[list[tuple], dict[str, dict[str, Rows]], list[tuple]]:
    engine = make_engine(database_url)
    try:
        async with make_sessionmaker(engine)() as session:
            datasets = await retraining_db.training_datasets(session, company_id)
            rows = await retraining_db.datasets_rows(session, [d for d, _ in datasets])
            outcomes = await retraining_db.decided_outcomes(session, company_id)
            return datasets, rows, outcomes
    finally:
        await engine.dispose()


def _naive(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def merge(datasets: list[tuple[str, datetime]], rows: dict[str, dict[str, Rows]],
          outcomes: list[tuple]) -> tuple[dict[str, pl.DataFrame], dict[str, Any]]:
    """One history from every dataset and outcome: each natural key once, the latest fact kept
    (a later upload over an earlier one; an outcome over an upload when recorded after it)."""
    frames: dict[str, list[pl.DataFrame]] = {kind: [] for kind in KEYS}
    for dataset_id, uploaded_at in datasets:
        for kind, kind_rows in rows[dataset_id].items():
            frame = conform(kind, pl.DataFrame(kind_rows.rows, schema=kind_rows.columns, orient="row",
                                               infer_schema_length=None))
            frames[kind].append(frame.with_columns(pl.lit(_naive(uploaded_at)).cast(pl.Datetime("us")).alias(FACT_AT)))
    known = [_outcome_order(*outcome) for outcome in outcomes]
    if known:
        frame = conform("orders", pl.DataFrame([k[0] for k in known], orient="row",
                                                schema=["order_id", "customer_id", "ordered_at", "amount",
                                                        "payment_terms_days", "status"]))
        frames["orders"].append(frame.with_columns(pl.Series(FACT_AT, [k[1] for k in known], pl.Datetime("us"))))
    merged, dropped = {}, {}
    for kind, parts in frames.items():
        if not parts:
            raise ValueError("the company has no valid training dataset to retrain from")
        whole = pl.concat(parts, how="vertical")
        unique = whole.sort(FACT_AT, maintain_order=True).unique(subset=KEYS[kind], keep="last", maintain_order=True)
        dropped[kind] = whole.height - unique.height
        merged[kind] = unique.drop(FACT_AT)
    from_outcomes = merged["orders"].join(
        pl.DataFrame({"order_id": [k[0][0] for k in known]}, schema={"order_id": pl.String}).unique(),
        on="order_id", how="semi").height if known else 0
    sources = {"datasets": [d for d, _ in datasets], "outcomes": len(outcomes),
               "orders_from_outcomes": from_outcomes, "duplicates_dropped": dropped}
    return merged, sources


def _outcome_order(order_id: str, customer_id: str, request: dict, decided_at: datetime, status: str,
                   recorded_at: datetime) -> tuple[tuple, datetime]:
    """The order as decided (its request, `ordered_at` defaulting to the decision's time) with the
    outcome as its label; and when that fact was known."""
    order = request.get("order", {})
    ordered_at = order.get("ordered_at")
    when = datetime.fromisoformat(ordered_at) if isinstance(ordered_at, str) else decided_at
    return ((order_id, customer_id, _naive(when), float(order.get("amount", 0.0)),
             int(order.get("payment_terms_days", 0)), status), _naive(recorded_at))


def train_company(database_url: str, company_id: str, config: dict[str, Any]) -> dict[str, Any]:
    """Train on everything known of the company (the training pool's entry point)."""
    started = time.perf_counter()
    frames, sources = merge(*asyncio.run(_load(database_url, company_id)))
    history = History(frames)
    loaded = time.perf_counter()
    features = build_features(history["orders"], history)
    timings = {"load_s": loaded - started, "features_s": time.perf_counter() - loaded}
    result = train(features, TrainConfig(**config))
    out = asdict(result)
    out["timings"] = {**timings, **result.timings}
    out["sources"] = sources
    return out
