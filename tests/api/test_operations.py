from __future__ import annotations

import json
import logging


async def test_healthz_and_readyz(client):
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["database"] in {"sqlite", "postgresql"}


async def test_request_id_echoed_or_generated(client):
    response = await client.get("/healthz", headers={"X-Request-ID": "abc-1"})
    assert response.headers["x-request-id"] == "abc-1"
    assert response.headers["server-timing"].startswith("app;dur=")
    generated = await client.get("/healthz")
    assert len(generated.headers["x-request-id"]) == 32


async def test_metrics_by_route(client, tenant):
    await client.get("/v1/companies/me", headers=tenant.headers)
    text = (await client.get("/metrics")).text
    assert 'creditgate_http_requests_total{method="GET",route="/v1/companies/me",status="200"}' in text
    assert "creditgate_http_request_duration_seconds_bucket" in text


async def test_docs_served_without_cdn(client):
    docs = await client.get("/docs")
    assert docs.status_code == 200
    assert "cdn" not in docs.text.lower() and "http" not in docs.text.split("<script")[1][:200].lower()
    assert (await client.get("/docs-assets/swagger-ui-bundle.js")).status_code == 200
    redoc = await client.get("/redoc")
    assert "/docs-assets/redoc.standalone.js" in redoc.text
    assert (await client.get("/docs-assets/redoc.standalone.js")).status_code == 200
    spec = (await client.get("/openapi.json")).json()
    assert "HTTPBearer" in spec["components"]["securitySchemes"]


async def test_unknown_route_is_problem_json(client):
    response = await client.get("/v1/nothing-here")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_body_too_large_is_413(client):
    response = await client.post("/v1/companies", content=b"x" * 3_000_000,
                                 headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert "limit" in response.json()["detail"]


async def test_unexpected_error_never_leaks_a_stack_trace(app, client, caplog):
    @app.get("/boom-for-test", include_in_schema=False)
    async def boom():
        raise RuntimeError("secret internal detail")

    with caplog.at_level(logging.ERROR):
        response = await client.get("/boom-for-test", headers={"X-Request-ID": "boom-1"})
    assert any("secret internal detail" in (r.exc_text or str(r.exc_info)) for r in caplog.records)
    assert response.status_code == 500
    body = response.json()
    assert "secret internal detail" not in json.dumps(body)
    assert "Traceback" not in response.text
    assert body["request_id"] == "boom-1"


def test_json_log_lines_carry_request_id():
    from app.context import request_id_var
    from app.logs import JsonFormatter

    token = request_id_var.set("rid-7")
    try:
        record = logging.LogRecord("app", logging.INFO, __file__, 1, "hello %s", ("x",), None)
        record.route = "/v1/x"
        line = json.loads(JsonFormatter().format(record))
    finally:
        request_id_var.reset(token)
    assert line["message"] == "hello x"
    assert line["request_id"] == "rid-7"
    assert line["route"] == "/v1/x"
