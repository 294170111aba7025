"""Timings of the ML layer on synthetic data (not collected by pytest), and of the decision's
result stage in process (reasons with their comparisons, calibration, one whole decision through
`DecisionEngine.decide` in a test app on SQLite).

Run from the repository root: `.venv/bin/python -m benchmarks.ml_micro [--result-stage-only]`
"""

import asyncio
import statistics
import sys
import tempfile
import time
import timeit
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import polars as pl

from app.ml.explain import reasons
from app.ml.features import FEATURE_NAMES, build_features, feature_matrix
from app.ml.history import History
from app.ml.live import item_snapshot, live_features, prepare_snapshot
from app.ml.reference import Reference
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


def _live_decision(data: Dataset, order_id: str, model, calibrator, reference) -> Callable[[], object]:
    """One decision as the service makes it: features from stored history, score, explain."""
    target = data.orders.filter(pl.col("order_id") == order_id).drop("status")
    own = data.history().where(pl.col("customer_id") == target["customer_id"].item())
    inputs = own.replace(orders=own["orders"].filter(pl.col("order_id") != order_id))

    def decide() -> object:
        row = build_features(target, inputs)
        X = feature_matrix(row)
        decision = model.decide(calibrator(model.predict_proba(X)))[0]
        return reasons(row.row(0, named=True), model.contributions(X)[0], FEATURE_NAMES, decision,
                       reference=reference)

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
    reference = Reference.from_json(result.reference)
    decide = _live_decision(data, features["order_id"][-1], model, result.calibrator(), reference)
    print(f"live decision (features + score + reasons): {_seconds(decide, 200) * 1e3:.2f} ms")
    _live_kernel(data, features["order_id"][-1])
    _reasons(features, result)


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


def _cpu(fn: Callable[[], object], number: int, repeat: int = 9) -> float:
    """Least CPU time of one call over `repeat` runs of `number` calls (the machine is shared)."""
    return min(timeit.Timer(fn, timer=time.process_time).repeat(number=number, repeat=repeat)) / number


def _reasons(features: pl.DataFrame, result) -> None:
    """reasons() as the result stage calls it, over 200 rows, with and without the comparisons,
    and the calibration of one probability."""
    model, calibrator = result.model(nthread=1), result.calibrator()
    reference = Reference.from_json(result.reference)
    tail = features.tail(200)
    X = feature_matrix(tail)
    raw, contributions = model.predict_proba(X), model.contributions(X)
    decisions = ["block" if p >= result.threshold else "bill" for p in calibrator(raw)]
    rows = [tail.row(i, named=True) for i in range(tail.height)]
    names = list(FEATURE_NAMES)

    def run(ref) -> Callable[[], None]:
        return lambda: [reasons(r, c, names, d, "en", reference=ref) for r, c, d in zip(rows, contributions,
                                                                                          decisions, strict=True)]
    with_ref, without = _cpu(run(reference), 5) / len(rows), _cpu(run(None), 5) / len(rows)
    one = raw[:1]
    print(f"reasons(), per decision (200 rows, least CPU of 9 runs): {with_ref * 1e6:.1f} us with the "
          f"comparisons, {without * 1e6:.1f} us without; calibration of one probability "
          f"{_cpu(lambda: calibrator(one), 20_000) * 1e6:.2f} us")


def decide_in_process() -> None:
    """One decision through `DecisionEngine.decide` in a test app (SQLite, journal on, demo data of
    250 customers / 6,000 orders): least and median CPU per decision over 9 runs of 300."""
    from app.db.migrations import upgrade

    tmp = Path(tempfile.mkdtemp())
    url = f"sqlite+aiosqlite:///{tmp / 'micro.db'}"
    upgrade(url)
    asyncio.run(_decide(url, tmp))


async def _decide(url: str, tmp: Path) -> None:
    from app.client import CreditGateClient
    from app.db.companies import Company
    from app.demo import generate
    from app.domain.principal import CompanyState, Principal
    from app.main import create_app
    from app.schemas.decisions import DecisionRequest
    from app.services import decision_pipeline as stage
    from app.settings import Settings

    settings = Settings(_env_file=None, env="test", database_url=url, log_level="WARNING", kafka_bootstrap_servers="",
                        jwt_secret="micro-benchmark-secret-0123456789abcdefghij", min_orders_per_outcome=5,
                        decision_journal_dir=str(tmp / "journal"))
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        runtime = app.state.runtime
        async with CreditGateClient("http://micro", transport=httpx.ASGITransport(app=app)) as client:
            await client.register("Micro", "micro@example.com")
            data = generate(customers=250, orders=6000, seed=11)
            dataset = await client.create_dataset()
            await client.upload_frames(dataset["id"], data.frames())
            await runtime.batch_queue.drain()
            await client.wait_for_dataset(dataset["id"], ("valid", "trained", "failed"), timeout=120)
            await runtime.jobs.wait_idle()
            await client.wait_for_dataset(dataset["id"], ("trained", "failed"), timeout=300)
            company_id = (await client.me())["id"]
        async with runtime.sessions() as session:
            c = await session.get(Company, company_id)
            state = CompanyState(c.id, c.name, c.email, c.is_active, c.auto_activate_models, c.active_model_id,
                                 c.data_version, c.created_at)
        principal = Principal(state, "micro", datetime.now(UTC) + timedelta(days=1))
        orders = data.orders.tail(40).to_dicts()
        requests = [DecisionRequest.model_validate({"order": {
            "order_id": f"M{n}", "customer_id": o["customer_id"], "amount": o["amount"],
            "payment_terms_days": o["payment_terms_days"]}}) for n, o in enumerate(orders)]
        engine = runtime.decisions
        for request in requests:  # warm: models, snapshots
            await engine.decide(principal, [request], "en")
        model = await engine.models.get(state.active_model_id)
        now = datetime.now(UTC).replace(tzinfo=None)
        stored = await engine.customers.get(state.id, state.data_version, [requests[0].order.customer_id])
        row = stage.features(0, requests[0], stored[requests[0].order.customer_id], now)
        scores = stage.score(model, [row])
        verdict = stage.MODEL_THRESHOLD.apply(model, [row], scores)[0]
        probability, contributions = float(scores.probability[0]), scores.contributions[0]
        result_us = _cpu(lambda: stage.result(requests[0], row, model, probability, contributions, verdict, "en", now),
                         2000) * 1e6
        score_us = _cpu(lambda: stage.score(model, [row]), 2000) * 1e6
        runs = []
        for run in range(9):  # order ids never decided before: a repeat would be answered from memory
            fresh = [DecisionRequest.model_validate({"order": requests[k % len(requests)].order.model_dump() | {
                "order_id": f"M{run}-{k}"}}) for k in range(300)]
            started = time.process_time()
            for request in fresh:
                await engine.decide(principal, [request], "en")
            runs.append((time.process_time() - started) / 300)
        await engine.log.flush()
    print(f"stage.result {result_us:.1f} us, stage.score (with calibration) {score_us:.1f} us; "
          f"DecisionEngine.decide, one order: least {min(runs) * 1e6:.0f} us, median "
          f"{statistics.median(runs) * 1e6:.0f} us CPU")


def result_stage() -> None:
    """The result stage alone: reasons() on a smaller synthetic model, then a whole decision."""
    features = _features(make_dataset(20_000, 2_000, seed=1))
    _reasons(features, train(features, TrainConfig()))
    decide_in_process()


if __name__ == "__main__":
    if "--result-stage-only" in sys.argv:
        result_stage()
    else:
        main()
        decide_in_process()
