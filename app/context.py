"""Per-request context shared by logging and the audit service."""

from __future__ import annotations

from contextvars import ContextVar

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
# The authenticated caller's company (set by app/api/deps.py::get_principal), for log lines.
company_id_var: ContextVar[str | None] = ContextVar("company_id", default=None)
