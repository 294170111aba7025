"""Rate limits on the calls an attacker repeats (registration, token issuance), with the
`limits` library's moving window: `hit` refuses the call beyond the rate with a 429 that says
when to retry."""

from __future__ import annotations

import math
import time

import limits
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string

from app.errors import TooManyRequests


class RateLimits:
    def __init__(self, rates: dict[str, str], storage: str = "memory://") -> None:
        """`rates`: name -> "10/hour" (an empty rate turns that limit off)."""
        self._rates = {name: limits.parse(rate) for name, rate in rates.items() if rate}
        # The asyncio flavour of a storage is named "async+<scheme>" (async+memory://, async+redis://).
        uri = storage if storage.startswith("async+") else f"async+{storage}"
        self._limiter = MovingWindowRateLimiter(storage_from_string(uri))

    async def hit(self, name: str, *keys: str) -> None:
        """Count one call against each key (e.g. the client address and the company); the first
        key over its rate refuses the call."""
        rate = self._rates.get(name)
        if rate is None:
            return
        for key in keys:
            if not await self._limiter.hit(rate, name, key):
                stats = await self._limiter.get_window_stats(rate, name, key)
                retry_after = max(1, math.ceil(stats.reset_time - time.time()))
                raise TooManyRequests(f"Too many {name} requests from this {key.split(':', 1)[0]} "
                                      f"(at most {rate}); retry in {retry_after} s.",
                                      headers={"Retry-After": str(retry_after)})
