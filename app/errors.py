"""One error hierarchy, rendered as RFC 9457 problem+json by one handler."""

from __future__ import annotations

from typing import Any


class AppError(Exception):
    status_code = 400
    title = "Bad request"

    def __init__(self, detail: str, *, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors


class InvalidInput(AppError):
    status_code = 422
    title = "Invalid input"


class Unauthorized(AppError):
    status_code = 401
    title = "Unauthorized"


class Forbidden(AppError):
    status_code = 403
    title = "Forbidden"


class NotFound(AppError):
    status_code = 404
    title = "Not found"


class Conflict(AppError):
    status_code = 409
    title = "Conflict"


class PayloadTooLarge(AppError):
    status_code = 413
    title = "Payload too large"


class ServiceUnavailable(AppError):
    status_code = 503
    title = "Service unavailable"
