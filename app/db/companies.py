"""Companies (tenants) and the tokens issued to them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Select, String, false, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, new_id, utcnow


class Company(Base):
    __tablename__ = "companies"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254), unique=True)
    is_active: Mapped[bool] = mapped_column(default=True)
    auto_activate_models: Mapped[bool] = mapped_column(default=True)
    # Queue a retraining on everything known when a monitoring alert is raised (app/services/alerts.py).
    retrain_on_alert: Mapped[bool] = mapped_column(default=False, server_default=false())
    # The active model version's id; the decision path compares it with its in-memory cache,
    # so every replica notices an activation on the next request.
    active_model_id: Mapped[str | None] = mapped_column(String(36))
    # The active credit policy's id (app/db/policies.py); none: the model's threshold decides.
    active_policy_id: Mapped[str | None] = mapped_column(String(36))
    # Bumped whenever a dataset of the company becomes valid: cached customer history is
    # keyed by it, so new uploads reach live decisions in every replica.
    data_version: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApiToken(Base):
    __tablename__ = "api_tokens"

    jti: Mapped[str] = mapped_column(String(36), primary_key=True)
    company_id: Mapped[str] = mapped_column(ForeignKey("companies.id"), index=True)
    issued_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


async def get_company_by_email(session: AsyncSession, email: str) -> Company | None:
    return await session.scalar(select(Company).where(Company.email == email))


async def get_token(session: AsyncSession, jti: str) -> ApiToken | None:
    return await session.get(ApiToken, jti)


TOKEN_PAGE_KEYS = (ApiToken.issued_at, ApiToken.jti)


def company_tokens(company_id: str) -> Select:
    return select(ApiToken).where(ApiToken.company_id == company_id)
