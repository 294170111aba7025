"""Who is calling: a bearer token verified once, then served from the authentication cache."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.domain.principal import Principal
from app.services.auth_cache import AuthCache
from app.services.companies import authenticate
from app.settings import Settings


class Authenticator:
    """The cache answers; on a miss one verification (in a short session of its own, so a
    decision served from memory opens no database session) fills it."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], settings: Settings, cache: AuthCache) -> None:
        self.sessions = sessions
        self.settings = settings
        self.cache = cache

    async def principal(self, raw_token: str) -> Principal:
        async def verify() -> Principal:
            async with self.sessions() as session:
                return await authenticate(session, self.settings, raw_token)

        return await self.cache.get_or_verify(raw_token, verify)
