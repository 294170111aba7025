"""Cache invalidation after commit, one style for every service.

A service that changes a company (its active model, its data version, a setting) or revokes a
token says so on its session (`company_changed`, `token_revoked`); once the transaction commits,
`publish` tells the listeners the composition root registered on the session factory (the
authentication cache). Nothing is said for a transaction that rolls back, and no service needs
to know which caches exist.

Other replicas: on PostgreSQL, `announce` adds a `pg_notify` per change to the transaction itself
(delivered only if it commits) and every process listens (app/db/change_feed.py), so an activation
or a revocation reaches the other replicas' caches within milliseconds; elsewhere, and should a
notification be lost, they notice through the company row within the cache TTL.
"""

from __future__ import annotations

from typing import Protocol

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

LISTENERS = "change_listeners"
CHANNEL = "creditgate_changes"
_COMPANIES = "changed_companies"
_TOKENS = "revoked_tokens"


class ChangeListener(Protocol):
    def company_changed(self, company_id: str) -> None: ...

    def token_revoked(self, jti: str) -> None: ...


def company_changed(session: AsyncSession, company_id: str) -> None:
    session.info.setdefault(_COMPANIES, set()).add(company_id)


def token_revoked(session: AsyncSession, jti: str) -> None:
    session.info.setdefault(_TOKENS, set()).add(jti)


async def announce(session: AsyncSession) -> None:
    """Before the commit: tell the other processes too (PostgreSQL NOTIFY, part of the transaction)."""
    companies, tokens = session.info.get(_COMPANIES, ()), session.info.get(_TOKENS, ())
    if not (companies or tokens) or session.bind.dialect.name != "postgresql":
        return
    for payload in [f"company {c}" for c in sorted(companies)] + [f"token {t}" for t in sorted(tokens)]:
        await session.execute(text("SELECT pg_notify(:channel, :payload)"), {"channel": CHANNEL, "payload": payload})


def deliver(listeners, payload: str) -> None:
    """A notification from another process (or this one), to the listeners of this process."""
    what, _, key = payload.partition(" ")
    for listener in listeners:
        if what == "company":
            listener.company_changed(key)
        elif what == "token":
            listener.token_revoked(key)


def publish(session: AsyncSession) -> None:
    """Called once the session's transaction committed."""
    companies, tokens = session.info.pop(_COMPANIES, ()), session.info.pop(_TOKENS, ())
    for listener in session.info.get(LISTENERS, ()):
        for company_id in companies:
            listener.company_changed(company_id)
        for jti in tokens:
            listener.token_revoked(jti)
