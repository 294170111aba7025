"""Who is calling: the company's state as read when its token was verified, and the token used.

Plain values with no service or database behind them, so the authentication cache, the services
and the routes can share them without importing one another."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class CompanyState:
    """The caller's company as read when its token was verified (a value, safe to cache)."""

    id: str
    name: str
    email: str
    is_active: bool
    auto_activate_models: bool
    active_model_id: str | None
    data_version: int
    created_at: datetime
    active_policy_id: str | None = None
    retrain_on_alert: bool = False


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the company and the token it used (its id and expiry)."""

    company: CompanyState
    jti: str
    expires_at: datetime
