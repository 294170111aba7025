"""Company registration and token lifecycle."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import companies as companies_db
from app.db.base import utcnow
from app.db.companies import ApiToken, Company
from app.errors import Conflict, NotFound, Unauthorized
from app.security import IssuedToken, TokenClaims, decode_token, issue_token
from app.services import audit
from app.services.auth_cache import AuthCache
from app.settings import Settings


@dataclass(frozen=True)
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

    @classmethod
    def of(cls, company: Company) -> CompanyState:
        return cls(company.id, company.name, company.email, company.is_active, company.auto_activate_models,
                   company.active_model_id, company.data_version, company.created_at)


@dataclass(frozen=True)
class Principal:
    """Who is calling: the company and the token it used."""

    company: CompanyState
    jti: str


async def register(
    session: AsyncSession, settings: Settings, name: str, email: str
) -> tuple[Company, IssuedToken]:
    email = email.strip().lower()
    if await companies_db.get_company_by_email(session, email) is not None:
        raise Conflict(f"A company with e-mail {email} is already registered.")
    company = Company(name=name.strip(), email=email)
    session.add(company)
    try:
        await session.flush()
    except IntegrityError as exc:  # a concurrent registration won the race
        raise Conflict(f"A company with e-mail {email} is already registered.") from exc
    issued = _store_token(session, settings, company.id)
    audit.record(
        session,
        company_id=company.id,
        action="company.registered",
        subject_type="company",
        subject_id=company.id,
        summary={"name": company.name},
        actor=issued.jti,
    )
    return company, issued


async def create_token(session: AsyncSession, settings: Settings, principal: Principal) -> IssuedToken:
    issued = _store_token(session, settings, principal.company.id)
    audit.record(
        session,
        company_id=principal.company.id,
        action="token.issued",
        subject_type="token",
        subject_id=issued.jti,
        summary={"expires_at": issued.expires_at.isoformat()},
        actor=principal.jti,
    )
    return issued


async def revoke_token(session: AsyncSession, principal: Principal, jti: str) -> ApiToken:
    token = await companies_db.get_token(session, jti)
    if token is None or token.company_id != principal.company.id:
        raise NotFound(f"Token {jti} was not found.")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        audit.record(
            session,
            company_id=principal.company.id,
            action="token.revoked",
            subject_type="token",
            subject_id=jti,
            actor=principal.jti,
        )
    return token


async def list_tokens(session: AsyncSession, principal: Principal) -> list[ApiToken]:
    return await companies_db.list_tokens(session, principal.company.id)


async def authenticate(session: AsyncSession, settings: Settings, raw_token: str,
                       cache: AuthCache | None = None) -> Principal:
    """Verify the JWT, then that its jti is known, unrevoked and its company active."""
    if cache is not None and (principal := cache.get(raw_token)) is not None:
        return principal
    claims: TokenClaims = decode_token(settings, raw_token)
    token = await companies_db.get_token(session, claims.jti)
    if token is None or token.company_id != claims.company_id:
        raise Unauthorized("The token is not valid: unknown token id.")
    if token.revoked_at is not None:
        raise Unauthorized("The token has been revoked.")
    company = await session.get(Company, claims.company_id)
    if company is None or not company.is_active:
        raise Unauthorized("The company of this token is deactivated.")
    principal = Principal(company=CompanyState.of(company), jti=claims.jti)
    if cache is not None:
        cache.put(raw_token, principal, (claims.expires_at - utcnow()).total_seconds())
    return principal


def _store_token(session: AsyncSession, settings: Settings, company_id: str) -> IssuedToken:
    issued = issue_token(settings, company_id)
    session.add(
        ApiToken(
            jti=issued.jti,
            company_id=company_id,
            issued_at=issued.issued_at,
            expires_at=issued.expires_at,
        )
    )
    return issued


async def update_settings(session: AsyncSession, principal: Principal, auto_activate: bool) -> Company:
    company = await session.get(Company, principal.company.id)
    if company.auto_activate_models != auto_activate:
        company.auto_activate_models = auto_activate
        audit.record(
            session,
            company_id=company.id,
            action="company.settings_changed",
            subject_type="company",
            subject_id=company.id,
            summary={"auto_activate_models": auto_activate},
            actor=principal.jti,
        )
    return company
