"""Dependencies injected through Annotated aliases."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.engine import after_commit, transaction
from app.errors import Unauthorized
from app.services.companies import Principal, authenticate
from app.settings import Settings


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One transaction per request: commit on success, roll back on any error; callbacks in
    ``session.info["after_commit"]`` run after the commit. With ``scope="function"`` (below) all of
    it happens before the response is sent, so a 2xx means the change is durable."""
    async with transaction(request.app.state.sessions) as session:
        yield session


SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]

bearer = HTTPBearer(auto_error=False, description="The JWT returned by POST /v1/companies.")


async def get_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    """The caller, from the authentication cache or, on a miss, read in a short session of its own
    (so a decision served from memory opens no database session at all)."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("Send the token as 'Authorization: Bearer <token>'.")
    cache, token = request.app.state.auth_cache, credentials.credentials

    async def verify() -> Principal:
        async with request.app.state.sessions() as session:
            return await authenticate(session, request.app.state.settings, token, cache)

    return await cache.get_or_verify(token, verify)


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


def forget_company(request: Request, session: AsyncSession, company_id: str) -> None:
    """Once committed, drop cached principals of a company whose state just changed."""
    async def forget() -> None:
        request.app.state.auth_cache.invalidate_company(company_id)

    after_commit(session, forget)


def forget_token(request: Request, session: AsyncSession, jti: str) -> None:
    async def forget() -> None:
        request.app.state.auth_cache.invalidate_token(jti)

    after_commit(session, forget)
