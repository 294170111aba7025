"""Cache invalidation after commit, one style for every service.

A service that changes a company (its active model, its data version, a setting) or revokes a
token says so on its session (`company_changed`, `token_revoked`); once the transaction commits,
`publish` tells the listeners the composition root registered on the session factory (the
authentication cache). Nothing is said for a transaction that rolls back, and no service needs
to know which caches exist. Other replicas notice through the company row within the cache TTL.
"""

from __future__ import annotations

from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

LISTENERS = "change_listeners"
_COMPANIES = "changed_companies"
_TOKENS = "revoked_tokens"


class ChangeListener(Protocol):
    def company_changed(self, company_id: str) -> None: ...

    def token_revoked(self, jti: str) -> None: ...


def company_changed(session: AsyncSession, company_id: str) -> None:
    session.info.setdefault(_COMPANIES, set()).add(company_id)


def token_revoked(session: AsyncSession, jti: str) -> None:
    session.info.setdefault(_TOKENS, set()).add(jti)


def publish(session: AsyncSession) -> None:
    """Called once the session's transaction committed."""
    companies, tokens = session.info.pop(_COMPANIES, ()), session.info.pop(_TOKENS, ())
    for listener in session.info.get(LISTENERS, ()):
        for company_id in companies:
            listener.company_changed(company_id)
        for jti in tokens:
            listener.token_revoked(jti)
