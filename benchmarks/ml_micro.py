"""Timings of the ML layer on synthetic data (not collected by pytest).

Run from the repository root: `.venv/bin/python -m benchmarks.ml_micro`
"""

import statistics
import time
from collections.abc import Callable

import polars as pl

from app.ml.explain import reasons
from app.ml.features import FEATURE_NAMES, build_features, feature_matrix
from app.ml.history import History
from app.ml.live import item_snapshot, live_features, prepare_snapshot
from app.ml.training import TrainConfig, train
from tests.ml.synthetic import Dataset, make_dataset


def _seconds(fn: Callable[[], object], repeat: int) -> float:
    """Median wall time of `repeat` calls."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _features(data: Dataset) -> pl.DataFrame:
    return build_features(data.orders, data.history())


def _live_decision(data: Dataset, order_id: str, model) -> Callable[[], object]:
    """One decision as the service makes it: features from stored history, score, explain."""
    target = data.orders.filter(pl.col("order_id") == order_id).drop("status")
    own = data.history().where(pl.col("customer_id") == target["customer_id"].item())
    inputs = own.replace(orders=own["orders"].filter(pl.col("order_id") != order_id))

    def decide() -> object:
        row = build_features(target, inputs)
        X = feature_matrix(row)
        decision = model.decide(model.predict_proba(X))[0]
        return reasons(row.row(0, named=True), model.contributions(X)[0], FEATURE_NAMES, decision)

    return decide


def main() -> None:
    for n_orders, n_customers in ((100_000, 10_000), (1_000_000, 50_000)):
        data = make_dataset(n_orders, n_customers, seed=1)
        print(f"build_features {n_orders:>9,} orders: {_seconds(lambda data=data: _features(data), 3):.3f} s")
    data = make_dataset(100_000, 10_000, seed=1)
    features = _features(data)
    started = time.perf_counter()
    result = train(features, TrainConfig())
    print(
        f"train          100,000 orders: {time.perf_counter() - started:.3f} s "
        f"(fit {result.timings['fit_s']:.3f} s, {result.best_iteration + 1} trees, "
        f"hold-out AUC {result.metrics['roc_auc']:.3f})"
    )
    model = result.model(nthread=1)
    row = feature_matrix(features.tail(1))
    model.predict_proba(row), model.contributions(row)  # warm up
    predict_us = _seconds(lambda: model.predict_proba(row), 1000) * 1e6
    contribs_us = _seconds(lambda: model.contributions(row), 1000) * 1e6
    print(f"inplace_predict, 1 row, nthread=1: {predict_us:.0f} us (median of 1000)")
    print(f"pred_contribs,   1 row, nthread=1: {contribs_us:.0f} us (median of 1000)")
    decide = _live_decision(data, features["order_id"][-1], model)
    print(f"live decision (features + score + reasons): {_seconds(decide, 200) * 1e3:.2f} ms")
    _live_kernel(data, features["order_id"][-1])


def _live_kernel(data: Dataset, order_id: str) -> None:
    """The decision path's own feature kernel (app.ml.live) for the same order."""
    order = data.orders.filter(pl.col("order_id") == order_id).row(0, named=True)
    customer = pl.col("customer_id") == order["customer_id"]
    frames = {kind: frame.filter(customer) for kind, frame in data.history().items()}
    own = History(frames)
    snapshot = prepare_snapshot(order["customer_id"], own)
    kwargs = {k: order[k] for k in ("ordered_at", "amount", "payment_terms_days")}
    items = {kind: own[kind].row(0, named=True) for kind in ("customers", "credit_limits", "serasa_reports")}
    timings = {
        "live_features": (_seconds(lambda: live_features(snapshot, **kwargs), 20_000), 1e6, "us"),
        "item_snapshot (3 items)": (_seconds(lambda: item_snapshot(order["customer_id"], items), 20_000), 1e6, "us"),
        "prepare_snapshot": (_seconds(lambda: prepare_snapshot(order["customer_id"], own), 100), 1e3, "ms"),
        "History() + prepare_snapshot": (
            _seconds(lambda: prepare_snapshot(order["customer_id"], History(frames)), 100), 1e3, "ms"),
    }
    print(f"live kernel, customer with {own['orders'].height} orders (median):")
    for name, (seconds, scale, unit) in timings.items():
        print(f"  {name:<29} {seconds * scale:8.2f} {unit}")


if __name__ == "__main__":
    main()
