"""Render every error as RFC 9457 problem+json; never leak a stack trace."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match, Route

from app.context import request_id_var
from app.errors import AppError, error_entries

PROBLEM_JSON = "application/problem+json"


def problem(status: int, title: str, detail: str, request: Request, headers: dict[str, str] | None = None,
            **extra: Any) -> JSONResponse:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
        "request_id": request_id_var.get(),
    }
    body.update({k: v for k, v in extra.items() if v is not None})
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    return error_entries(exc.errors())


def install_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def _app_error(request: Request, exc: AppError) -> JSONResponse:
        return problem(exc.status_code, exc.title, exc.detail, request, headers=exc.headers, errors=exc.errors,
                       **exc.extra)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = validation_errors(exc)
        detail = f"The request has {len(errors)} invalid field(s): " + "; ".join(
            _describe(e) for e in errors[:5]
        )
        return problem(422, "Invalid input", detail, request, errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        """Routing errors (404, 405 with its Allow header) and FastAPI's own body errors."""
        headers = exc.headers
        if exc.status_code == 405:
            headers = {"Allow": ", ".join(allowed_methods(request))}
        title = {404: "Not found", 405: "Method not allowed"}.get(exc.status_code, "Bad request")
        detail = {404: f"No route {request.url.path}.",
                  405: f"{request.method} is not allowed here; allowed: {(headers or {}).get('Allow', '-')}."
                  }.get(exc.status_code, str(exc.detail))
        return problem(exc.status_code, title, detail, request, headers=headers)


def allowed_methods(request: Request) -> list[str]:
    """Every method of every route of this path (Starlette names only the first route's methods,
    and GET and POST of one path are often two routes)."""
    matching = [route for route in _flat(request.app.router.routes)
                if isinstance(route, Route) and route.matches(request.scope)[0] != Match.NONE]
    # A literal path (/v1/decisions/batch) wins over a template that also matches it
    # (/v1/decisions/{decision_id}), as the OpenAPI document lists them.
    literal = [route for route in matching if route.path == request.url.path]
    methods: set[str] = set()
    for route in literal or matching:
        methods |= route.methods or set()
    return sorted(methods)


def _flat(routes: list) -> Iterator:
    """Routes, with those of included routers (FastAPI >= 0.16x keeps them in their router)."""
    for route in routes:
        included = getattr(route, "original_router", None)
        yield from _flat(included.routes) if included is not None else (route,)


def _describe(error: dict[str, Any]) -> str:
    where = f"item {error['index']} field {error['field']}" if "index" in error else error["field"]
    return f"{where}: {error['message']}"
