"""When the client tries a request again: transient failures, with exponential backoff, for a total time.

Transient: a connection that failed, a timeout, 429 (after its `Retry-After`) and 500/502/503/504.
A request that may have been processed (a POST that reached the server) is retried only when the
caller says it is idempotent (batches carry their `batch_id`); a connection never made or a 429
is safe to retry for every method.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

RETRY_STATUSES = frozenset({500, 502, 503, 504})  # retried when the request is idempotent
TRANSIENT_STATUSES = RETRY_STATUSES | {429}
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout)  # the server never saw the request


@dataclass(frozen=True)
class RetryNotice:
    """Told to `on_retry` before each wait: what failed, how long the client waits, and the budget left."""

    method: str
    path: str
    reason: str
    delay: float
    remaining: float


@dataclass(frozen=True)
class RetryPolicy:
    total_seconds: float = 60.0  # from the first failure of a request; 0: never retry
    first_delay: float = 0.25
    max_delay: float = 10.0
    max_retries: int | None = None  # None: as many as the time allows
    on_retry: Callable[[RetryNotice], None] | None = None

    def may_retry(self, method: str, idempotent: bool | None, failure: httpx.Response | Exception) -> bool:
        """Whether this failure of this request is worth another attempt."""
        if idempotent is False or self.total_seconds <= 0:
            return False
        safe = idempotent or (idempotent is None and method in IDEMPOTENT_METHODS)
        if isinstance(failure, httpx.Response):
            return failure.status_code == 429 or (safe and failure.status_code in RETRY_STATUSES)
        return isinstance(failure, httpx.TransportError) and (safe or isinstance(failure, NOT_SENT))

    def delay(self, attempt: int, failure: httpx.Response | Exception) -> float:
        """Exponential backoff with jitter; never shorter than the server's `Retry-After`."""
        backoff = min(self.first_delay * 2**attempt, self.max_delay) * random.uniform(0.5, 1.0)
        asked = retry_after(failure) if isinstance(failure, httpx.Response) else None
        return max(backoff, asked or 0.0)


def retry_after(response: httpx.Response) -> float | None:
    """`Retry-After` in seconds (delta-seconds or an HTTP date), if the response has one."""
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - datetime.now(UTC)).total_seconds(), 0.0)


def describe(failure: httpx.Response | Exception) -> str:
    """A few words on what failed: `503 Service Unavailable`, `could not connect`..."""
    if isinstance(failure, httpx.Response):
        return f"{failure.status_code} {failure.reason_phrase}".strip()
    return transport_reason(failure)


def transport_reason(error: Exception) -> str:
    text = str(error) or type(error).__name__
    if isinstance(error, httpx.ConnectError):
        return "could not connect (connection refused or host unreachable)"
    if isinstance(error, httpx.TimeoutException):
        return f"timed out ({type(error).__name__})"
    return text
