"""Pure-ASGI middleware: request id, access log (with the caller's company), Prometheus metrics,
body size limit."""

from __future__ import annotations

import logging
import re
import time
import uuid
import weakref

import orjson
from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app import metrics
from app.context import company_id_var, request_id_var
from app.errors import PayloadTooLarge

logger = logging.getLogger("app.access")

# Decision requests also feed the decision latency histogram (successful ones only).
DECISION_LATENCY = {("POST", "/v1/decisions", 201): metrics.DECISION_LATENCY.labels("single"),
                    ("POST", "/v1/decisions/batch", 201): metrics.DECISION_LATENCY.labels("batch")}


# Bulk files (app/api/files.py) have their own, larger limit.
FILE_ROUTE = re.compile(r"^/v1/datasets/[^/]+/[^/]+/files$")
CLIENT_CLOSED = 499  # nginx's code for "the client closed the connection before the answer"


class _Exchange:
    """What the middleware learns about one request while it runs."""

    __slots__ = ("status", "started_response", "too_large", "disconnected")

    def __init__(self) -> None:
        self.status = 500
        self.started_response = False
        self.too_large = False
        self.disconnected = False


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, max_body_bytes: int, max_file_bytes: int | None = None) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_file_bytes = max_file_bytes or max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _incoming_request_id(scope) or uuid.uuid4().hex
        token = request_id_var.set(request_id)
        company_token = company_id_var.set(None)  # set by the authentication dependency, for the log line
        limit = self.max_file_bytes if FILE_ROUTE.match(scope["path"]) else self.max_body_bytes
        started = time.perf_counter()
        exchange = _Exchange()

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                if exchange.too_large:  # the app saw a body error; the truth is a body over the limit
                    exchange.started_response = True
                    await _send_problem(send_with_headers, 413, "Payload too large", _too_large(limit), request_id)
                    return
                exchange.status, exchange.started_response = message["status"], True
            elif exchange.too_large:
                return  # the replaced response's body
            await send_with_headers(message)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                exchange.status = message["status"]
                elapsed_ms = (time.perf_counter() - started) * 1000
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-request-id", request_id.encode()),
                    (b"server-timing", f"app;dur={elapsed_ms:.3f}".encode()),
                ]
            await send(message)

        try:
            if _declared_length(scope) > limit:
                exchange.started_response = True
                await _send_problem(send_with_headers, 413, "Payload too large", _too_large(limit), request_id)
                return
            await self.app(scope, _watched(receive, limit, exchange), send_with_id)
        except Exception:
            if exchange.disconnected:
                exchange.status = CLIENT_CLOSED
            else:
                logger.exception("unhandled error", extra={"path": scope.get("path")})
                if not exchange.started_response:
                    detail = "An unexpected error occurred; quote the request id when reporting it."
                    await _send_problem(send_with_headers, 500, "Internal error", detail, request_id)
        finally:
            if exchange.disconnected and (not exchange.started_response or exchange.status >= 400):
                exchange.status = CLIENT_CLOSED  # whatever the app answered, nobody was there to read it
            _observe(scope, exchange.status, time.perf_counter() - started)
            company_id_var.reset(company_token)
            request_id_var.reset(token)


_counters: dict[tuple[str, str, int], object] = {}
_histograms: dict[tuple[str, str], object] = {}


def _observe(scope: Scope, status: int, elapsed: float) -> None:
    route = _route_of(scope)
    method = scope["method"]
    # Labelled children are looked up once: labels() costs more than the increment itself.
    counter = _counters.get((method, route, status))
    if counter is None:
        counter = _counters[method, route, status] = metrics.HTTP_REQUESTS.labels(method, route, str(status))
    histogram = _histograms.get((method, route))
    if histogram is None:
        histogram = _histograms[method, route] = metrics.HTTP_LATENCY.labels(method, route)
    counter.inc()
    histogram.observe(elapsed)
    if (decision := DECISION_LATENCY.get((method, route, status))) is not None:
        decision.observe(elapsed)
    if route not in ("/metrics", "/healthz"):
        message = "client disconnected" if status == CLIENT_CLOSED else "request"
        logger.info(message, extra={"method": method, "route": route, "status": status,
                                    "ms": round(elapsed * 1000, 3)})


def _route_of(scope: Scope) -> str:
    """The matched route's template. FastAPI names its own routes in the scope; a plain Starlette
    route (/openapi.json) or a mount (/docs-assets) is found again by the endpoint it selected."""
    route = scope.get("route")
    if route is not None:
        return route.path
    endpoint = scope.get("endpoint")
    if endpoint is None or "app" not in scope:
        return "unmatched"
    return _plain_route_paths(scope["app"]).get(endpoint, "unmatched")


_plain_paths: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _plain_route_paths(app) -> dict[object, str]:
    """Endpoint (or mounted app) -> route template, for the routes that are not FastAPI's, per app."""
    paths = _plain_paths.get(app)
    if paths is None:
        paths = _plain_paths[app] = {}
        for route in app.routes:
            if isinstance(route, Mount):
                paths[route.app] = route.path + "/{path}"
            elif getattr(route, "endpoint", None) is not None:
                paths.setdefault(route.endpoint, route.path)
    return paths


def _incoming_request_id(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            candidate = value.decode("latin-1").strip()
            if 0 < len(candidate) <= 64 and candidate.isprintable():
                return candidate
    return None


def _declared_length(scope: Scope) -> int:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return 0
    return 0


def _watched(receive: Receive, limit: int, exchange: _Exchange) -> Receive:
    """The request body, refused once it passes `limit` bytes (also when sent in chunks without a
    Content-Length); a client that hangs up is noted, not treated as a server error."""
    seen = 0

    async def wrapped() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                exchange.too_large = True
                raise PayloadTooLarge(_too_large(limit))
        elif message["type"] == "http.disconnect":
            exchange.disconnected = True
        return message

    return wrapped


def _too_large(limit: int) -> str:
    return (f"The request body exceeds the limit of {limit} bytes; send at most 500 items per batch, or a larger "
            "history as a file (POST /v1/datasets/{id}/{kind}/files).")


async def _send_problem(send: Send, status: int, title: str, detail: str, request_id: str) -> None:
    body = orjson.dumps(
        {"type": "about:blank", "title": title, "status": status, "detail": detail, "request_id": request_id}
    )
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/problem+json")],
        }
    )
    await send({"type": "http.response.body", "body": body})
