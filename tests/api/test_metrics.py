"""/metrics carries the domain's metrics: after an upload, a training and decisions, each counter
and histogram has moved; docs assets and /openapi.json are counted under their routes; request
log lines name the caller's company; decisions say their language in Content-Language."""

from __future__ import annotations

import json
import logging

import pytest
from prometheus_client.parser import text_string_to_metric_families

from app.demo import generate
from app.logs import JsonFormatter
from tests.e2e.conftest import frames_of, new_client
from tests.e2e.test_training_flow import train_and_wait

ORDER = {"order_id": "M-1", "customer_id": "C000001", "amount": 12_000.0, "payment_terms_days": 28}


@pytest.fixture(scope="module")
def frames() -> dict:
    return frames_of(generate(customers=100, orders=1_500, seed=17))


async def samples(client) -> dict[tuple, float]:
    text = (await client.get("/metrics")).text
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(snapshot: dict, name: str, **labels: str) -> float:
    return snapshot.get((name, tuple(sorted(labels.items()))), 0.0)


def moved(before: dict, after: dict, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


async def test_domain_metrics_move_after_an_upload_a_training_and_decisions(app, client, frames):
    before = await samples(client)
    api = await new_client(app)
    async with api:
        assert (await train_and_wait(app, api, frames))["status"] == "trained"
        single = await api.http.post("/v1/decisions", json={"order": ORDER}, headers={"Accept-Language": "pt-BR"})
        assert single.status_code == 201 and single.headers["content-language"] == "pt-BR"
        orders = [{"order": ORDER | {"order_id": f"M-{n}"}} for n in (2, 3, 4)]
        batch = await api.http.post("/v1/decisions/batch", json={"orders": orders},
                                    headers={"Accept-Language": "fr-FR, pt-BR;q=0.5"})
        assert batch.status_code == 201 and batch.headers["content-language"] == "pt-BR"
        unknown = await api.http.post("/v1/decisions", json={"order": ORDER | {"order_id": "M-5"}},
                                      headers={"Accept-Language": "de"})
        assert unknown.headers["content-language"] == "en"  # unknown: English, and said so
    after = await samples(client)

    for kind, frame in frames.items():
        assert moved(before, after, "creditgate_rows_stored_total", kind=kind) == frame.height
    assert moved(before, after, "creditgate_training_jobs_total", outcome="succeeded") == 1
    assert moved(before, after, "creditgate_training_duration_seconds_count", outcome="succeeded") == 1
    assert moved(before, after, "creditgate_training_duration_seconds_sum", outcome="succeeded") > 0
    decided = sum(moved(before, after, "creditgate_decisions_total", decision=d, model_version="1")
                  for d in ("bill", "block"))
    assert decided == 5
    assert moved(before, after, "creditgate_decision_duration_seconds_count", kind="single") == 2
    assert moved(before, after, "creditgate_decision_duration_seconds_count", kind="batch") == 1
    assert moved(before, after, "creditgate_model_load_seconds_count") >= 1  # the new version, loaded once
    assert value(after, "creditgate_queue_backlog", queue="batches") == 0  # all stored
    assert ("creditgate_queue_backlog", (("queue", "jobs"),)) in after
    text = (await client.get("/metrics")).text
    assert "# TYPE creditgate_batches_dead_lettered_total counter" in text
    assert "# TYPE creditgate_kafka_consumer_lag gauge" in text


async def test_docs_assets_and_the_openapi_document_are_counted_under_their_routes(client):
    before = await samples(client)
    assert (await client.get("/openapi.json")).status_code == 200
    assert (await client.get("/docs-assets/swagger-ui.css")).status_code == 200
    assert (await client.get("/no-such-route")).status_code == 404
    after = await samples(client)
    counted = "creditgate_http_requests_total"
    assert moved(before, after, counted, method="GET", route="/openapi.json", status="200") == 1
    assert moved(before, after, counted, method="GET", route="/docs-assets/{path}", status="200") == 1
    assert moved(before, after, counted, method="GET", route="unmatched", status="404") == 1
    assert moved(before, after, counted, method="GET", route="unmatched", status="200") == 0


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[dict] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(JsonFormatter().format(record)))


async def test_request_log_lines_carry_the_callers_company(client, tenant):
    access = logging.getLogger("app.access")
    handler, level = Lines(), access.level
    access.addHandler(handler)
    access.setLevel(logging.INFO)
    try:
        await client.get("/v1/companies/me", headers=tenant.headers)
        await client.get("/v1/datasets", headers={"Authorization": "Bearer not-a-token"})
        await client.get("/openapi.json")
    finally:
        access.removeHandler(handler)
        access.setLevel(level)
    me, refused, anonymous = handler.lines
    assert me["route"] == "/v1/companies/me" and me["company_id"] == tenant.company_id
    assert refused["status"] == 401 and "company_id" not in refused
    assert anonymous["route"] == "/openapi.json" and "company_id" not in anonymous
