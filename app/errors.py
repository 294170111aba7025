"""One error hierarchy, rendered as RFC 9457 problem+json by one handler."""

from __future__ import annotations

from typing import Any


class AppError(Exception):
    status_code = 400
    title = "Bad request"

    def __init__(self, detail: str, *, errors: list[dict[str, Any]] | None = None,
                 headers: dict[str, str] | None = None, extra: dict[str, Any] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors
        self.headers = headers
        self.extra = extra or {}  # more members of the problem document (e.g. errors_total)


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


class TooManyRequests(AppError):
    status_code = 429
    title = "Too many requests"


class PayloadTooLarge(AppError):
    status_code = 413
    title = "Payload too large"


class UnsupportedMediaType(AppError):
    status_code = 415
    title = "Unsupported media type"


class ServiceUnavailable(AppError):
    status_code = 503
    title = "Service unavailable"


# Tags of discriminated unions (a policy's condition tree) that pydantic puts in an error's path
# after a list index; they name no field, so the path a client reads skips them.
UNION_TAGS = frozenset({"condition", "group"})


def _is_tag(loc: tuple, i: int) -> bool:
    return loc[i] in UNION_TAGS and i > 0 and isinstance(loc[i - 1], int)


def error_entries(errors) -> list[dict[str, Any]]:
    """Each failing field with its path; items of a batch also get their index and field."""
    out = []
    for err in errors:
        if err.get("type") == "json_invalid":  # malformed JSON: the same entry on every route
            out.append({"loc": ["body"], "field": "body", "type": "json_invalid",
                        "message": f"the body is not valid JSON: {err.get('msg', 'invalid')}"})
            continue
        loc = [part for i, part in enumerate(err.get("loc", ())) if part != "body" and not _is_tag(err["loc"], i)]
        entry: dict[str, Any] = {"loc": loc, "message": err.get("msg", "invalid"), "type": err.get("type")}
        if len(loc) >= 2 and loc[0] == "items" and isinstance(loc[1], int):
            entry["index"] = loc[1]
            entry["field"] = ".".join(str(p) for p in loc[2:]) or None
        else:
            entry["field"] = ".".join(str(p) for p in loc) or None
        out.append(entry)
    return out


def not_found(what: str, identifier: object) -> NotFound:
    """The one 404 of a resource: another company's id answers exactly like an id that never existed."""
    return NotFound(f"{what} {identifier} was not found.")
