"""An async Python client for the CreditGate API (httpx), used by the CLI, tests and benchmarks."""

from app.client.api import ApiError, CreditGateClient

__all__ = ["ApiError", "CreditGateClient"]
