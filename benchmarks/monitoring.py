"""Monitoring of one model version at 1M stored decisions (100k with --quick).

A company's month of traffic is stored in bulk - decisions, their per-day monitoring counts
(computed by the service's own `count_decisions`, as the decision log does), outcomes of 10% and
reviews of 1% of them - then a real server answers `GET /v1/models/1/monitoring` for the month,
by day and by week. Baselines from the same run: the same server's /healthz (the HTTP floor) and
the least a scan-based design would do, reading the month's scores from the decisions table and
computing only the score PSI. Also: the decision log's extra work per 1,000 decisions written.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import numpy as np
from sqlalchemy import create_engine, func, insert, select

from app.client import CreditGateClient
from benchmarks.common import save, server, table

DAYS = 30
CHUNK = 20_000


def reference(rng: np.random.Generator, names: list[str]) -> dict:
    from app.ml.reference import percentiles

    features = {name: {"quantiles": percentiles(rng.gamma(2.0, 1.0 + i, 5_000)), "missing": 0.05, "n": 5_000}
                for i, name in enumerate(names)}
    return {"features": features, "score": {"quantiles": percentiles(rng.beta(2, 5, 5_000)), "n": 5_000}}


def chunk_of(rng: np.random.Generator, company_id: str, model_id: str, names: list[str], start: int, n: int,
             first_day: datetime, total: int) -> list[dict]:
    """Decisions start .. start + n of `total` spread evenly over DAYS days from `first_day`."""
    score = rng.beta(2, 5, n)
    values = rng.gamma(2.0, 1.2, (n, len(names)))
    values[rng.random((n, len(names))) < 0.05] = np.nan
    moments = np.datetime64(first_day, "s") + (np.arange(start, start + n) * (DAYS * 86_400 / total)).astype(
        "timedelta64[s]")
    rows = []
    for i in range(n):
        row_values = values[i].tolist()
        rows.append({
            "id": str(uuid.UUID(int=start + i + 1)), "company_id": company_id, "model_id": model_id, "model_version": 1,
            "customer_id": f"C{(start + i) % 5000}", "order_id": f"O{start + i}",
            "decision": "block" if score[i] >= 0.5 else "bill", "probability_block": float(score[i]),
            "threshold": 0.5, "request": {}, "reasons": {"reasons": [], "missing_features": []},
            "created_at": moments[i].item().replace(tzinfo=UTC),
            "features": {name: (None if v != v else v) for name, v in zip(names, row_values, strict=True)}})
    return rows


def populate(url: str, company_id: str, total: int, rng: np.random.Generator) -> dict:
    """Store a version, `total` decisions over DAYS days with their counts, outcomes and reviews."""
    from app.db.datasets import Dataset
    from app.db.decisions import Decision
    from app.db.model_versions import ModelVersion
    from app.db.monitoring import MonitoringCount, add_counts
    from app.db.outcomes import DecisionReview, Outcome
    from app.kit.days import epoch_day
    from app.ml.features import FEATURE_NAMES
    from app.services.monitoring import count_decisions, version_bins

    names = list(FEATURE_NAMES)
    ref = reference(rng, names)
    engine = create_engine(url.replace("+aiosqlite", ""))
    first_day = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0, tzinfo=None) - timedelta(
        days=DAYS - 1)
    timings = {"decisions_s": 0.0, "counts_s": 0.0, "outcomes_s": 0.0}
    with engine.begin() as connection:
        dataset_id, model_id = str(uuid.uuid4()), str(uuid.uuid4())
        connection.execute(insert(Dataset.__table__), [{"id": dataset_id, "company_id": company_id, "name": "bench",
                                                         "purpose": "training", "status": "trained",
                                                         "created_at": first_day, "updated_at": first_day}])
        connection.execute(insert(ModelVersion.__table__), [{
            "id": model_id, "company_id": company_id, "version": 1, "dataset_id": dataset_id, "status": "ready",
            "feature_names": {"names": names}, "params": {}, "threshold": 0.5, "booster": b"",
            "booster_format": "ubj", "metrics": {"roc_auc": 0.85}, "feature_importance": {}, "details": {},
            "training_seconds": 0.0, "created_at": first_day, "reference": ref}])
    bins = version_bins(model_id, company_id, 1, ref, {"roc_auc": 0.85})
    for start in range(0, total, CHUNK):
        rows = chunk_of(rng, company_id, model_id, names, start, min(CHUNK, total - start), first_day, total)
        started = time.perf_counter()
        counts = count_decisions(rows, bins)
        timings["counts_s"] += time.perf_counter() - started
        with engine.begin() as connection:
            started = time.perf_counter()
            connection.execute(insert(Decision.__table__), [r | {"features": {}} for r in rows])
            timings["decisions_s"] += time.perf_counter() - started
            started = time.perf_counter()
            asyncio.run(_add(connection, counts, add_counts))
            timings["counts_s"] += time.perf_counter() - started
            started = time.perf_counter()
            picked = rows[::10]
            connection.execute(insert(Outcome.__table__), [{
                "id": str(uuid.uuid4()), "company_id": company_id, "order_id": r["order_id"], "decision_id": r["id"],
                "model_id": model_id, "model_version": 1, "probability_block": r["probability_block"],
                "threshold": 0.5, "decided_at": r["created_at"], "decided_day": epoch_day(r["created_at"]),
                "current": True,
                "status": "blocked" if rng.random() < r["probability_block"] else "billed",
                "recorded_at": r["created_at"] + timedelta(days=20), "created_at": r["created_at"]} for r in picked])
            connection.execute(insert(DecisionReview.__table__), [{
                "id": str(uuid.uuid4()), "company_id": company_id, "decision_id": r["id"], "model_id": model_id,
                "decided_at": r["created_at"], "original": r["decision"], "decision": "bill", "reviewer": "bench",
                "note": "bench", "overrides": r["decision"] == "block", "created_at": r["created_at"]}
                for r in rows[::100]])
            timings["outcomes_s"] += time.perf_counter() - started
    with engine.connect() as connection:
        stored = connection.scalar(select(func.count()).select_from(Decision.__table__))
        count_rows = connection.scalar(select(func.count()).select_from(MonitoringCount.__table__))
    engine.dispose()
    return {"decisions": stored, "count_rows": count_rows, "model_id": model_id,
            "first_day": first_day.date().isoformat()} | {k: round(v, 1) for k, v in timings.items()}


async def _add(connection, counts, add_counts) -> None:
    """`add_counts` is async (the service's); run it over a sync connection through a tiny shim."""
    class Shim:
        bind = connection

        async def execute(self, statement, parameters=None):
            return connection.execute(statement, parameters) if parameters is not None else connection.execute(
                statement)

    await add_counts(Shim(), counts)


def timed_gets(url: str, path: str, headers: dict, params: dict, n: int) -> dict:
    times = []
    with httpx.Client(base_url=url, headers=headers, timeout=120) as http:
        for i in range(n + 1):
            started = time.perf_counter()
            response = http.get(path, params=params)
            elapsed = (time.perf_counter() - started) * 1000
            assert response.status_code == 200, response.text
            if i:  # the first request loads the version's bins
                times.append(elapsed)
    times.sort()
    return {"requests": n, "p50_ms": round(statistics.median(times), 1),
            "p95_ms": round(times[int(0.95 * (len(times) - 1))], 1), "max_ms": round(times[-1], 1),
            "body_bytes": len(response.content)}


def scan_baseline(url: str, company_id: str, model_id: str, since: datetime) -> dict:
    """What reading the month from the decisions table costs: the scores alone, score PSI only."""
    from app.db.decisions import Decision
    from app.ml.drift import bins_from_reference, psi
    from app.ml.reference import percentiles

    engine = create_engine(url.replace("+aiosqlite", ""))
    bins = bins_from_reference(percentiles(np.random.default_rng(0).beta(2, 5, 5_000)))
    started = time.perf_counter()
    with engine.connect() as connection:
        scores = np.array(connection.execute(select(Decision.probability_block).where(
            Decision.company_id == company_id, Decision.model_id == model_id,
            Decision.created_at >= since)).scalars().all())
    value = psi(bins.expected, dict(zip(*np.unique(bins.assign(scores), return_counts=True), strict=True)))
    elapsed = (time.perf_counter() - started) * 1000
    engine.dispose()
    return {"rows_read": len(scores), "ms": round(elapsed, 1), "score_psi": round(value, 4)}


def observer_cost(rng: np.random.Generator) -> dict:
    """The decision log's extra CPU per commit: binning 2,000 decisions (44 features, score, decision)."""
    from app.ml.features import FEATURE_NAMES
    from app.services.monitoring import count_decisions, version_bins

    names = list(FEATURE_NAMES)
    ref = reference(rng, names)
    bins = version_bins("m", "c", 1, ref, {})
    rows = chunk_of(rng, "c", "m", names, 0, 2_000, datetime(2026, 1, 1), 2_000)
    times = []
    for _ in range(20):
        started = time.perf_counter()
        counts = count_decisions(rows, bins)
        times.append((time.perf_counter() - started) * 1000)
    return {"decisions_per_commit": 2_000, "count_rows": len(counts),
            "ms_per_1000_decisions": round(statistics.median(times) / 2, 2)}


async def register(url: str) -> tuple[str, str]:
    async with CreditGateClient(url, timeout=60) as api:
        body = await api.register("Benchmark Monitoramento", f"bench-{uuid.uuid4().hex[:8]}@example.com")
    return body["company"]["id"], body["access_token"]["token"]


def run(quick: bool = False) -> None:
    total = 100_000 if quick else 1_000_000
    rng = np.random.default_rng(7)
    results: dict = {"observer": observer_cost(rng)}
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        from app.db.migrations import upgrade

        upgrade(url)
        env = {"CREDITGATE_DATABASE_URL": url, "CREDITGATE_DECISION_JOURNAL_DIR": f"{tmp}/journal",
               "CREDITGATE_MONITORING_INTERVAL_SECONDS": "0"}
        with server("app.main:create_app", env) as (base, _pid):
            company_id, token = asyncio.run(register(base))
            results["stored"] = populate(url, company_id, total, rng)
            headers = {"Authorization": f"Bearer {token}"}
            since = results["stored"]["first_day"]
            month = {"since": f"{since}T00:00:00Z"}
            results["monitoring_month_by_day"] = timed_gets(base, "/v1/models/1/monitoring", headers,
                                                            month | {"bucket": "day"}, 10)
            results["monitoring_month_by_week"] = timed_gets(base, "/v1/models/1/monitoring", headers,
                                                             month | {"bucket": "week"}, 10)
            results["baseline_healthz"] = timed_gets(base, "/healthz", {}, {}, 10)
        results["baseline_scan_scores_only"] = scan_baseline(url, company_id, results["stored"]["model_id"],
                                                             datetime.fromisoformat(since))
    results["quick"] = quick
    print(f"written {save('monitoring', results)}")
    report(results)


def report(results: dict) -> None:
    stored = results["stored"]
    print(f"\nstored: {stored['decisions']:,} decisions over {DAYS} days, {stored['count_rows']:,} count rows "
          f"(decisions {stored['decisions_s']} s, counts {stored['counts_s']} s, outcomes+reviews "
          f"{stored['outcomes_s']} s to store)")
    rows = [[label, r["requests"], r["p50_ms"], r["p95_ms"], r["max_ms"], r["body_bytes"]]
            for label, r in (("GET monitoring, month by day", results["monitoring_month_by_day"]),
                             ("GET monitoring, month by week", results["monitoring_month_by_week"]),
                             ("GET /healthz (HTTP floor)", results["baseline_healthz"]))]
    table("monitoring (one uvicorn worker, SQLite)", ["request", "n", "p50 ms", "p95 ms", "max ms", "bytes"], rows)
    scan = results["baseline_scan_scores_only"]
    print(f"\nbaseline, scan-based: reading {scan['rows_read']:,} scores of the month and their PSI alone: "
          f"{scan['ms']} ms")
    cost = results["observer"]
    print(f"decision log's monitoring work: {cost['ms_per_1000_decisions']} ms CPU per 1,000 decisions "
          f"({cost['count_rows']} count rows per 2,000-decision commit)")
