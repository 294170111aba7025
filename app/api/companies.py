"""Company registration, profile and tokens."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, status

from app.api.deps import (
    CurrentPrincipal,
    PageParams,
    SessionDep,
    SettingsDep,
    registration_allowed,
    token_issuance_allowed,
)
from app.api.resources import ID_PATTERN
from app.errors import Forbidden
from app.schemas.common import problem_responses
from app.schemas.companies import (
    CompanyCreate,
    CompanyRead,
    CompanyRegistered,
    CompanySettingsUpdate,
    TokenInfo,
    TokenPage,
    TokenRead,
)
from app.services import companies as service

router = APIRouter(prefix="/v1/companies", tags=["companies"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=CompanyRegistered,
             responses=problem_responses(403, 409, 422, 429), summary="Register a company and receive its first token",
             dependencies=[Depends(registration_allowed)])
async def register_company(
    body: CompanyCreate,
    session: SessionDep,
    settings: SettingsDep,
    registration_key: Annotated[str | None, Header(alias="X-Registration-Key",
                                                   description="required when the server sets a registration "
                                                               "key")] = None,
) -> CompanyRegistered:
    """Creates the company and returns its first access token (send it as `Authorization: Bearer
    <token>`; in Swagger UI, paste it into **Authorize**). An e-mail already registered is a 409."""
    if settings.registration_key and registration_key != settings.registration_key:
        raise Forbidden("Registration requires a valid X-Registration-Key header.")
    company, issued = await service.register(session, settings, body.name, body.email)
    return CompanyRegistered(
        company=CompanyRead.model_validate(company),
        access_token=TokenRead(token=issued.token, jti=issued.jti, expires_at=issued.expires_at),
    )


@router.get("/me", response_model=CompanyRead, responses=problem_responses(401),
            summary="Read the calling company")
async def read_company(principal: CurrentPrincipal) -> CompanyRead:
    """The company the token belongs to, with its settings."""
    return CompanyRead.model_validate(principal.company)


@router.patch("/me", response_model=CompanyRead, responses=problem_responses(401, 422),
              summary="Change the calling company's settings")
async def update_company(body: CompanySettingsUpdate, principal: CurrentPrincipal,
                         session: SessionDep) -> CompanyRead:
    """`auto_activate_models`: whether each newly trained version becomes the active one at once
    (otherwise activate it with `activate_model`). `retrain_on_alert` (default off): whether a
    monitoring alert (drift or performance) queues a retraining on everything known, as
    `retrain` does - one job at a time, within the bound on queued trainings. Settings left out
    keep their value; naming none is a 422."""
    company = await service.update_settings(session, principal, body.changes())
    return CompanyRead.model_validate(company)


@router.get("/me/tokens", response_model=TokenPage, responses=problem_responses(401, 422),
            summary="List the company's tokens")
async def list_tokens(principal: CurrentPrincipal, session: SessionDep, page: PageParams) -> TokenPage:
    """Every token issued to the company (never the token itself): its id (`jti`), issue and expiry
    times, and whether it was revoked."""
    tokens, next_cursor = await service.list_tokens(session, principal, page)
    return TokenPage(items=[TokenInfo.model_validate(t) for t in tokens], next_cursor=next_cursor)


@router.post("/me/tokens", status_code=status.HTTP_201_CREATED, response_model=TokenRead,
             responses=problem_responses(401, 429), dependencies=[Depends(token_issuance_allowed)],
             summary="Issue another token")
async def create_token(principal: CurrentPrincipal, session: SessionDep, settings: SettingsDep) -> TokenRead:
    """A new token for the calling company, e.g. one per system that calls the API (each can be
    revoked alone). Rate limited: a 429 says when to retry."""
    issued = await service.create_token(session, settings, principal)
    return TokenRead(token=issued.token, jti=issued.jti, expires_at=issued.expires_at)


@router.delete("/me/tokens/{jti}", status_code=status.HTTP_204_NO_CONTENT, responses=problem_responses(401, 404),
               summary="Revoke a token")
async def revoke_token(jti: Annotated[str, Path(pattern=ID_PATTERN, description="the token's id (jti)",
                                                 examples=["0b6f2d5c-8e1a-4f3b-9c7d-2a4e6f8b0c1d"])],
                       principal: CurrentPrincipal, session: SessionDep) -> None:
    """The token stops working at once in this process and within `AUTH_CACHE_SECONDS` in the
    others. Revoking the token of the request itself is allowed."""
    await service.revoke_token(session, principal, jti)
