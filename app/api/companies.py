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
from app.schemas.common import Page, problem_responses
from app.schemas.companies import (
    CompanyCreate,
    CompanyRead,
    CompanyRegistered,
    CompanySettingsUpdate,
    TokenInfo,
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
    registration_key: Annotated[str | None, Header(alias="X-Registration-Key")] = None,
) -> CompanyRegistered:
    if settings.registration_key and registration_key != settings.registration_key:
        raise Forbidden("Registration requires a valid X-Registration-Key header.")
    company, issued = await service.register(session, settings, body.name, body.email)
    return CompanyRegistered(
        company=CompanyRead.model_validate(company),
        access_token=TokenRead(token=issued.token, jti=issued.jti, expires_at=issued.expires_at),
    )


@router.get("/me", response_model=CompanyRead, responses=problem_responses(401))
async def read_me(principal: CurrentPrincipal) -> CompanyRead:
    return CompanyRead.model_validate(principal.company)


@router.patch("/me", response_model=CompanyRead, responses=problem_responses(401, 422))
async def update_me(body: CompanySettingsUpdate, principal: CurrentPrincipal, session: SessionDep) -> CompanyRead:
    company = await service.update_settings(session, principal, body.auto_activate_models)
    return CompanyRead.model_validate(company)


@router.get("/me/tokens", response_model=Page[TokenInfo], responses=problem_responses(401, 422))
async def list_tokens(principal: CurrentPrincipal, session: SessionDep, page: PageParams) -> Page[TokenInfo]:
    tokens, next_cursor = await service.list_tokens(session, principal, page)
    return Page(items=[TokenInfo.model_validate(t) for t in tokens], next_cursor=next_cursor)


@router.post("/me/tokens", status_code=status.HTTP_201_CREATED, response_model=TokenRead,
             responses=problem_responses(401, 429), dependencies=[Depends(token_issuance_allowed)])
async def create_token(principal: CurrentPrincipal, session: SessionDep, settings: SettingsDep) -> TokenRead:
    issued = await service.create_token(session, settings, principal)
    return TokenRead(token=issued.token, jti=issued.jti, expires_at=issued.expires_at)


@router.delete("/me/tokens/{jti}", status_code=status.HTTP_204_NO_CONTENT, responses=problem_responses(401, 404))
async def revoke_token(jti: Annotated[str, Path(pattern=ID_PATTERN)], principal: CurrentPrincipal,
                       session: SessionDep) -> None:
    await service.revoke_token(session, principal, jti)
