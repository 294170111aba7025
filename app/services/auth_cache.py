"""Verified tokens kept for a few seconds, so a decision does not pay two database round trips
to authenticate. A revocation or a company change in this process is seen at once; one made by
another replica (or straight in the database) within `auth_cache_seconds` (0 turns caching off).

When an entry expires, the requests carrying that token at that moment share one verification
(single flight): under load, every connection of a client missed at once, and each opened a
database session of its own, which stalled them for hundreds of milliseconds every TTL."""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from app.domain.principal import Principal


class AuthCache:
    """Also the listener of committed company changes and revocations (app/db/changes.py)."""

    def __init__(self, ttl_seconds: float, capacity: int = 10_000) -> None:
        self.ttl = ttl_seconds
        self.capacity = capacity
        self._entries: OrderedDict[str, tuple[Principal, float]] = OrderedDict()
        self._verifying: dict[str, asyncio.Future[Principal]] = {}

    def get(self, raw_token: str) -> Principal | None:
        entry = self._entries.get(raw_token)
        if entry is None:
            return None
        principal, valid_until = entry
        if time.monotonic() >= valid_until:
            del self._entries[raw_token]
            return None
        return principal

    async def get_or_verify(self, raw_token: str, verify: Callable[[], Awaitable[Principal]]) -> Principal:
        """The cached principal, or the outcome of one `verify()` shared by every request that
        asks for the same token while it runs (its principal, or its error); a verified principal
        is kept until the TTL or its token's expiry, whichever comes first."""
        if (principal := self.get(raw_token)) is not None:
            return principal
        if (running := self._verifying.get(raw_token)) is not None:
            return await asyncio.shield(running)
        future: asyncio.Future[Principal] = asyncio.get_running_loop().create_future()
        self._verifying[raw_token] = future
        try:
            principal = await verify()
        except BaseException as exc:
            future.set_exception(exc if isinstance(exc, Exception) else RuntimeError("verification cancelled"))
            future.exception()  # retrieved: no "never retrieved" warning when nobody waits
            raise
        finally:
            self._verifying.pop(raw_token, None)
        future.set_result(principal)
        self._put(raw_token, principal)
        return principal

    def _put(self, raw_token: str, principal: Principal) -> None:
        if self.ttl <= 0:
            return
        token_expires_in = (principal.expires_at - datetime.now(UTC)).total_seconds()
        self._entries[raw_token] = (principal, time.monotonic() + min(self.ttl, token_expires_in))
        while len(self._entries) > self.capacity:
            self._entries.popitem(last=False)

    def token_revoked(self, jti: str) -> None:
        self._drop(lambda p: p.jti == jti)

    def company_changed(self, company_id: str) -> None:
        self._drop(lambda p: p.company.id == company_id)

    def clear(self) -> None:
        self._entries.clear()

    def _drop(self, matches) -> None:
        for key in [k for k, (p, _) in self._entries.items() if matches(p)]:
            del self._entries[key]
