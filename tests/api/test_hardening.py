"""Bad input answers a 4xx problem naming the field, never a 500; HTTP conformance; logs."""

from __future__ import annotations

import logging

import pytest

from tests.factories import batch, make_order

OVERFLOWING = ("9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+05:00")
SNEAKY = ("a\x00b", "a\x07b", "a\u202eb", "a\u2066b")


def order_to_decide(**changes) -> dict:
    return {"order": {"order_id": "O-1", "customer_id": "C-1", "amount": 100.0, "payment_terms_days": 28} | changes}


async def refused(client, method: str, path: str, field: str, status: int = 422, **kwargs) -> dict:
    response = await client.request(method, path, **kwargs)
    assert response.status_code == status, (path, response.text)
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    if field:
        assert any(e.get("field", "").endswith(field) for e in body.get("errors") or []), body
    return body


async def test_versions_beyond_the_database_integer_are_422(client, tenant):
    h = tenant.headers
    await refused(client, "GET", "/v1/models/2147483648", "version", headers=h)
    await refused(client, "POST", "/v1/models/2147483648/activate", "version", headers=h)
    await refused(client, "GET", "/v1/models/compare?versions=1,2147483648", "versions", headers=h)
    await refused(client, "POST", "/v1/decisions", "model_version", headers=h,
                  json=order_to_decide() | {"model_version": 2**31})


@pytest.mark.parametrize("value", OVERFLOWING)
async def test_instants_that_overflow_in_utc_are_422(client, tenant, value):
    h = tenant.headers
    dataset = (await client.post("/v1/datasets", json={}, headers=h)).json()["id"]
    body = await refused(client, "POST", f"/v1/datasets/{dataset}/orders", "ordered_at", headers=h,
                         json=batch([make_order(ordered_at=value)]))
    assert body["errors"][0]["index"] == 0
    await refused(client, "POST", "/v1/decisions", "order.ordered_at", headers=h,
                  json=order_to_decide(ordered_at=value))
    await refused(client, "POST", "/v1/decisions/batch", "ordered_at", headers=h,
                  json={"orders": [order_to_decide(ordered_at=value)]})
    for path in ("/v1/audit-events", "/v1/decisions"):
        for bound in ("since", "until"):
            await refused(client, "GET", path, bound, headers=h, params={bound: value})


@pytest.mark.parametrize("text", SNEAKY)
async def test_control_and_bidi_characters_are_422_everywhere(client, tenant, text):
    h = tenant.headers
    await refused(client, "GET", "/v1/decisions", "customer_id", headers=h, params={"customer_id": text})
    for name in ("action", "subject_type", "subject_id"):
        await refused(client, "GET", "/v1/audit-events", name, headers=h, params={name: text})
    await refused(client, "POST", "/v1/datasets", "name", headers=h, json={"name": text})
    await refused(client, "POST", "/v1/companies", "name", json={"name": text + "bc", "email": "x@example.com"})
    no_model = await client.post("/v1/models/1/evaluations", headers=h, json={"dataset_id": text})
    assert no_model.status_code == 404  # the version is looked up first; the schemathesis run covers the body
    await refused(client, "POST", "/v1/decisions", "order.customer_id", headers=h,
                  json=order_to_decide(customer_id=text))
    from urllib.parse import quote

    for path in (f"/v1/datasets/{quote(text)}", f"/v1/training-jobs/{quote(text)}", f"/v1/decisions/{quote(text)}"):
        response = await client.get(path, headers=h)
        assert response.status_code == 422, (path, response.text)


async def test_booleans_and_instants_are_not_coerced_from_numbers(client, tenant):
    h = tenant.headers
    await refused(client, "PATCH", "/v1/companies/me", "auto_activate_models", headers=h,
                  json={"auto_activate_models": 0})
    for value in ("0.5", "1700000000", "-3"):
        await refused(client, "GET", "/v1/audit-events", "until", headers=h, params={"until": value})
    accepted = await client.get("/v1/audit-events", headers=h, params={"until": "2030-01-01T00:00:00Z"})
    assert accepted.status_code == 200


async def test_405_names_the_allowed_methods(client, tenant):
    response = await client.put("/v1/datasets", headers=tenant.headers)
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, POST"  # two routes of one path: both named
    batch = await client.put("/v1/decisions/batch", headers=tenant.headers)
    assert batch.headers["allow"] == "POST"  # not the GET of /v1/decisions/{decision_id}
    assert response.headers["content-type"].startswith("application/problem+json")

    # a concrete path before a templated one (OpenAPI's rule): not the GET of /v1/decisions/{id}
    batch = await client.options("/v1/decisions/batch", headers=tenant.headers)
    assert batch.status_code == 405 and batch.headers["allow"] == "POST"


@pytest.mark.parametrize("path", ["/v1/decisions", "/v1/decisions/batch", "/v1/datasets", "/v1/companies",
                                  "DATASET/orders"])
async def test_malformed_json_is_the_same_422_on_every_route(client, tenant, path):
    if path.startswith("DATASET"):
        dataset = (await client.post("/v1/datasets", json={}, headers=tenant.headers)).json()["id"]
        path = path.replace("DATASET", f"/v1/datasets/{dataset}")
    body = await refused(client, "POST", path, "body", content=b'{"order": ',
                         headers=tenant.headers | {"content-type": "application/json"})
    assert body["errors"][0]["type"] == "json_invalid"


@pytest.mark.parametrize("path", ["/v1/decisions", "/v1/decisions/batch", "/v1/datasets", "/v1/companies",
                                  "DATASET/orders", "/v1/models/1/evaluations"])
async def test_an_oversized_chunked_body_is_413_on_every_route(client, tenant, settings, path):
    """Every route that reads a body (a route without one never reads it, and ignores it)."""
    if path.startswith("DATASET"):
        dataset = (await client.post("/v1/datasets", json={}, headers=tenant.headers)).json()["id"]
        path = path.replace("DATASET", f"/v1/datasets/{dataset}")

    async def chunks():  # no Content-Length: the limit is found while reading
        for _ in range(settings.max_body_bytes // 100_000 + 2):
            yield b" " * 100_000

    await refused(client, "POST", path, "", status=413, content=chunks(),
                  headers=tenant.headers | {"content-type": "application/json"})


async def test_an_unhandled_error_logs_no_sql_parameters(client, tenant, monkeypatch, caplog):
    from sqlalchemy import text

    from app.services import companies

    async def broken(session, principal, auto_activate):
        await session.execute(text("SELECT * FROM no_such_table WHERE email = :email"),
                              {"email": "segredo@cliente.com.br"})

    monkeypatch.setattr(companies, "update_settings", broken)
    with caplog.at_level(logging.ERROR, logger="app.access"):
        response = await client.patch("/v1/companies/me", json={"auto_activate_models": True}, headers=tenant.headers)
    assert response.status_code == 500 and "no_such_table" not in response.text
    logged = "\n".join(caplog.text for _ in [0])
    assert "no_such_table" in logged  # the statement is there for whoever debugs
    assert "segredo@cliente.com.br" not in logged and "hidden" in logged


async def test_a_client_that_hangs_up_is_not_a_server_error(app, caplog):
    """The client goes away before sending its body: a 499 in the metrics, no ERROR line."""
    from prometheus_client import REGISTRY

    def count(status: str) -> float:
        return REGISTRY.get_sample_value("creditgate_http_requests_total",
                                         {"method": "POST", "route": "/v1/companies", "status": status}) or 0.0

    before_499, before_500 = count("499"), count("500")

    async def receive():
        return {"type": "http.disconnect"}

    sent = []

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
             "scheme": "http", "path": "/v1/companies", "raw_path": b"/v1/companies", "query_string": b"",
             "root_path": "", "headers": [(b"content-type", b"application/json"), (b"host", b"test")],
             "client": ("127.0.0.1", 1), "server": ("test", 80), "state": {}, "app": app}
    with caplog.at_level(logging.INFO):
        await app(scope, receive, send)
    assert count("499") == before_499 + 1 and count("500") == before_500
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_json_log_lines_carry_no_ansi_colours():
    from app.logs import JsonFormatter

    record = logging.LogRecord("uvicorn.error", logging.INFO, __file__, 1, "Started server process [%d]", (42,), None)
    record.color_message = "Started server process [\x1b[36m%d\x1b[0m]"
    line = JsonFormatter().format(record)
    assert "\x1b[" not in line and "\\u001b" not in line and "Started server process [42]" in line
