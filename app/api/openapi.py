"""The OpenAPI document generated clients and Swagger users rely on.

FastAPI describes the successes well; the errors are ours to describe: every error response of
every operation is `application/problem+json` with the one `Problem` schema (422 included, with
its `errors` list - FastAPI's own `HTTPValidationError` is never sent, so it is not documented),
and each operation lists the errors it can answer: 401 when it needs a token, 422 when it takes
parameters or a body, 413 when it reads a body.

Request bodies carry their schema's first example as the media type's `example`, which Swagger UI
pre-fills for "Try it out" (the examples live with their schemas in app/schemas).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
PROBLEM_CONTENT = {"application/problem+json": {"schema": PROBLEM_REF}}
DESCRIPTIONS = {
    "400": "The body could not be read", "401": "Missing, invalid, expired or revoked token",
    "403": "Not allowed", "404": "Not found (also another company's id)", "409": "Conflict with the current state",
    "413": "Body over the size limit", "422": "Invalid input: `errors` names each field (and item index)",
    "429": "Too many requests: see Retry-After", "503": "A dependency is unavailable; retry later",
}
METHODS = ("get", "post", "put", "patch", "delete")


def route_operation_id(route: APIRoute) -> str:
    """Short, stable operation ids (`decide`, `upload_orders`): the route function's name."""
    return route.name


def install_openapi(app: FastAPI, extra_schemas: dict[str, Any]) -> None:
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            components.update(extra_schemas)
            for item in schema.get("paths", {}).values():
                for method in METHODS:
                    if method in item:
                        _document_errors(item[method])
                        _lift_body_example(item[method], components)
            for unused in ("HTTPValidationError", "ValidationError"):
                components.pop(unused, None)
        return app.openapi_schema

    app.openapi = openapi


def _lift_body_example(operation: dict[str, Any], components: dict[str, Any]) -> None:
    for media in operation.get("requestBody", {}).get("content", {}).values():
        schema = media.get("schema", {})
        # an optional body is `anyOf: [{$ref}, {type: null}]`: its example is the referenced one's
        ref = schema.get("$ref") or next((s["$ref"] for s in schema.get("anyOf", ()) if "$ref" in s), "")
        examples = components.get(ref.rsplit("/", 1)[-1], {}).get("examples")
        if examples and "example" not in media:
            media["example"] = examples[0]


def _document_errors(operation: dict[str, Any]) -> None:
    responses = operation.setdefault("responses", {})
    responses.pop("default", None)
    if operation.get("security"):
        responses.setdefault("401", {})
    if operation.get("parameters") or "requestBody" in operation:
        responses.setdefault("422", {})
    if "requestBody" in operation:
        responses.setdefault("413", {})
        responses.setdefault("400", {})
    for code, response in list(responses.items()):
        if code[0] in "45":
            responses[code] = {"description": DESCRIPTIONS.get(code) or response.get("description") or "Error",
                               "content": PROBLEM_CONTENT}
