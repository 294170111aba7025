"""The report page: curves and page render time and size on a trained version's hold-out, and what
recording the importance (mean absolute contribution on the hold-out) adds to a training.

Baseline, same run: one bare matplotlib figure with one line saved as SVG - the floor each of the
page's six charts pays.
"""

from __future__ import annotations

import io
import statistics
import time

from matplotlib.figure import Figure

from app.demo import generate
from app.ml.artifacts import ScoreSample
from app.ml.curves import curves
from app.ml.features import build_features, feature_matrix
from app.ml.history import History
from app.ml.training import TrainConfig, mean_abs_contribution, split_by_time, train
from app.services.reports import Slice, curves_read, render
from benchmarks.common import save, table

REPEATS = 5


def _median(fn, repeats: int = REPEATS) -> tuple[float, object]:
    times, value = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), value


def _bare_svg() -> bytes:
    figure = Figure(figsize=(5.2, 3.6))
    figure.add_subplot().plot([0, 1], [0, 1])
    out = io.BytesIO()
    figure.savefig(out, format="svg")
    return out.getvalue()


def run(quick: bool = False) -> None:
    sizes = [(500, 20_000)] if quick else [(500, 20_000), (2_000, 100_000)]
    results = []
    for customers, orders in sizes:
        data = generate(customers=customers, orders=orders, seed=13)
        features = build_features(data.orders, History(data.frames()))
        config = TrainConfig()
        trained = train(features, config)
        holdout = ScoreSample.from_bytes(trained.holdout)
        model = trained.model(nthread=config.nthread)
        holdout_x = feature_matrix(split_by_time(features, config).holdout)
        importance_s, _ = _median(lambda: mean_abs_contribution(model, holdout_x), 3)  # noqa: B023
        scored = Slice(sample=holdout, threshold=trained.threshold, model_version=1, evaluation_id=None,
                       importance=trained.metrics["mean_abs_contribution"], importance_kind="mean_abs_contribution",
                       title="Model version 1: hold-out report", subtitle="benchmark", facts=())
        first = time.perf_counter()
        page = render(scored)
        first_s = time.perf_counter() - first
        page_s, _ = _median(lambda: render(scored))  # noqa: B023
        curves_s, _ = _median(lambda: curves(holdout.label, holdout.probability, trained.threshold))  # noqa: B023
        json_s, body = _median(lambda: curves_read(scored).model_dump_json())  # noqa: B023
        bare_s, _ = _median(_bare_svg)
        results.append({
            "orders": orders, "holdout_orders": len(holdout), "curves_ms": round(curves_s * 1000, 2),
            "curves_json_ms": round(json_s * 1000, 2), "curves_json_bytes": len(body),
            "page_first_s": round(first_s, 3), "page_s": round(page_s, 3), "page_bytes": len(page.encode()),
            "bare_svg_chart_s": round(bare_s, 4), "page_vs_6_bare_charts": round(page_s / (6 * bare_s), 2),
            "importance_at_training_s": round(importance_s, 3),
            "training_evaluate_s": round(trained.timings["evaluate_s"], 3),
        })
    table("report page", ["orders", "hold-out", "curves ms", "JSON ms", "JSON bytes", "page s (first)", "page s",
                          "page bytes", "6 bare charts s", "importance s"],
          [[r["orders"], r["holdout_orders"], r["curves_ms"], r["curves_json_ms"], r["curves_json_bytes"],
            r["page_first_s"], r["page_s"], r["page_bytes"], round(6 * r["bare_svg_chart_s"], 3),
            r["importance_at_training_s"]] for r in results])
    print(f"wrote {save('reports', {'sizes': results})}")
