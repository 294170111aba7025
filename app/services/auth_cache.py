"""Verified tokens kept for a few seconds, so a decision does not pay two database round trips
to authenticate. A revocation or a company change in this process is seen at once; one made by
another replica (or straight in the database) within `auth_cache_seconds` (0 turns caching off)."""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.services.companies import Principal


class AuthCache:
    def __init__(self, ttl_seconds: float, capacity: int = 10_000) -> None:
        self.ttl = ttl_seconds
        self.capacity = capacity
        self._entries: OrderedDict[str, tuple[Principal, float]] = OrderedDict()

    def get(self, raw_token: str) -> Principal | None:
        entry = self._entries.get(raw_token)
        if entry is None:
            return None
        principal, valid_until = entry
        if time.monotonic() >= valid_until:
            del self._entries[raw_token]
            return None
        return principal

    def put(self, raw_token: str, principal: Principal, token_expires_in: float) -> None:
        if self.ttl <= 0:
            return
        self._entries[raw_token] = (principal, time.monotonic() + min(self.ttl, token_expires_in))
        while len(self._entries) > self.capacity:
            self._entries.popitem(last=False)

    def invalidate_token(self, jti: str) -> None:
        self._drop(lambda p: p.jti == jti)

    def invalidate_company(self, company_id: str) -> None:
        self._drop(lambda p: p.company.id == company_id)

    def clear(self) -> None:
        self._entries.clear()

    def _drop(self, matches) -> None:
        for key in [k for k, (p, _) in self._entries.items() if matches(p)]:
            del self._entries[key]
