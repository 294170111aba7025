"""Every Prometheus metric of the service, defined once (served at /metrics, per process).

Services and transports import what they update from here; this module imports nothing of the
app. Labels stay few and bounded: no company, order or customer ids.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from prometheus_client import Counter, Gauge, Histogram

HTTP_REQUESTS = Counter("creditgate_http_requests_total", "HTTP requests", ["method", "route", "status"])
HTTP_LATENCY = Histogram(
    "creditgate_http_request_duration_seconds", "HTTP request latency", ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)

DECISIONS = Counter("creditgate_decisions_total", "Decisions made, by decision and model version",
                    ["decision", "model_version"])
DECISION_LATENCY = Histogram(
    "creditgate_decision_duration_seconds",
    "Server-side time of a decision request that answered 201 (kind: single or batch)", ["kind"],
    buckets=(0.0005, 0.001, 0.0015, 0.002, 0.003, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)

TRAINING_JOBS = Counter("creditgate_training_jobs_total", "Training jobs finished, by outcome", ["outcome"])
TRAINING_DURATION = Histogram(
    "creditgate_training_duration_seconds", "Training time of a finished job's last attempt, by outcome",
    ["outcome"], buckets=(1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200),
)
MODEL_LOAD = Histogram(
    "creditgate_model_load_seconds", "Time to load a model version for decisions (booster, TreeSHAP tables, check)",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)

ROWS_STORED = Counter("creditgate_rows_stored_total", "Uploaded rows stored, by kind", ["kind"])
BATCHES_DEAD_LETTERED = Counter("creditgate_batches_dead_lettered_total",
                                "Batches that could never be stored, by kind", ["kind"])
QUEUE_BACKLOG = Gauge("creditgate_queue_backlog",
                      "In-process queues: batches staged and not stored yet, jobs waiting for a runner", ["queue"])
CONSUMER_LAG = Gauge("creditgate_kafka_consumer_lag",
                     "Records behind the end of the topic on this replica's partitions (highwater - position)",
                     ["topic"])
OPEN_ALERTS = Gauge("creditgate_open_alerts", "Monitoring alerts open across companies, by kind (drift, performance)",
                    ["kind"])


_decision_counters: dict[tuple[str, int], Counter] = {}


def count_decisions(results: Iterable[Mapping[str, Any]]) -> None:
    """One increment per decision (its `decision` and `model_version`); the labelled children are
    looked up once per (decision, version)."""
    for result in results:
        key = (result["decision"], result["model_version"])
        counter = _decision_counters.get(key)
        if counter is None:
            counter = _decision_counters[key] = DECISIONS.labels(str(key[0]), str(key[1]))
        counter.inc()
