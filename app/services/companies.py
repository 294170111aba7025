"""Company registration, settings and token lifecycle; authentication of a token."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import changes
from app.db import companies as companies_db
from app.db.base import utcnow
from app.db.companies import ApiToken, Company
from app.db.pages import fetch_page
from app.domain.principal import CompanyState, Principal
from app.errors import Conflict, NotFound, Unauthorized
from app.kit.pagination import PageRequest
from app.security import IssuedToken, TokenClaims, decode_token, issue_token
from app.services import audit
from app.settings import Settings

__all__ = ["ApiToken", "Company"]


def company_state(company: Company) -> CompanyState:
    return CompanyState(company.id, company.name, company.email, company.is_active, company.auto_activate_models,
                        company.active_model_id, company.data_version, company.created_at, company.active_policy_id,
                        company.retrain_on_alert)


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
    audit.record(session, company_id=company.id, action="company.registered", subject_type="company",
                 subject_id=company.id, summary={"name": company.name}, actor=issued.jti)
    return company, issued


async def create_token(session: AsyncSession, settings: Settings, principal: Principal) -> IssuedToken:
    issued = _store_token(session, settings, principal.company.id)
    audit.record(session, company_id=principal.company.id, action="token.issued", subject_type="token",
                 subject_id=issued.jti, summary={"expires_at": issued.expires_at.isoformat()},
                 actor=principal.jti)
    return issued


async def revoke_token(session: AsyncSession, principal: Principal, jti: str) -> ApiToken:
    token = await companies_db.get_token(session, jti)
    if token is None or token.company_id != principal.company.id:
        raise NotFound(f"Token {jti} was not found.")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        audit.record(session, company_id=principal.company.id, action="token.revoked", subject_type="token",
                     subject_id=jti, actor=principal.jti)
        changes.token_revoked(session, jti)
    return token


async def list_tokens(session: AsyncSession, principal: Principal,
                      page: PageRequest) -> tuple[list[ApiToken], str | None]:
    query = companies_db.company_tokens(principal.company.id)
    return await fetch_page(session, query, companies_db.TOKEN_PAGE_KEYS, page)


async def authenticate(session: AsyncSession, settings: Settings, raw_token: str) -> Principal:
    """Verify the JWT, then that its jti is known, unrevoked and unexpired, and its company active."""
    claims: TokenClaims = decode_token(settings, raw_token)
    token = await companies_db.get_token(session, claims.jti)
    if token is None or token.company_id != claims.company_id:
        raise Unauthorized("The token is not valid: unknown token id.")
    if token.revoked_at is not None:
        raise Unauthorized("The token has been revoked.")
    if token.expires_at <= utcnow():
        raise Unauthorized("The token has expired; request a new one.")
    company = await session.get(Company, claims.company_id)
    if company is None or not company.is_active:
        raise Unauthorized("The company of this token is deactivated.")
    expires_at = min(claims.expires_at, token.expires_at)
    return Principal(company=company_state(company), jti=claims.jti, expires_at=expires_at)


def _store_token(session: AsyncSession, settings: Settings, company_id: str) -> IssuedToken:
    issued = issue_token(settings, company_id)
    session.add(ApiToken(jti=issued.jti, company_id=company_id, issued_at=issued.issued_at,
                         expires_at=issued.expires_at))
    return issued


SETTINGS = ("auto_activate_models", "retrain_on_alert")


async def update_settings(session: AsyncSession, principal: Principal, values: dict[str, bool]) -> Company:
    """Change the named settings (`SETTINGS`); one audit event with what changed, and the
    company's cached state forgotten after commit."""
    company = await session.get(Company, principal.company.id)
    changed = {name: value for name, value in values.items()
               if name in SETTINGS and getattr(company, name) != value}
    if changed:
        for name, value in changed.items():
            setattr(company, name, value)
        audit.record(session, company_id=company.id, action="company.settings_changed", subject_type="company",
                     subject_id=company.id, summary=changed, actor=principal.jti)
        changes.company_changed(session, company.id)
    return company
