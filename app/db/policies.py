"""Credit policies: versioned per company, one active (the company row names it)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Select, String, UniqueConstraint, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, new_id, utcnow


class Policy(Base):
    __tablename__ = "policies"
    __table_args__ = (UniqueConstraint("company_id", "version"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    company_id: Mapped[str] = mapped_column(ForeignKey("companies.id"))
    version: Mapped[int]
    name: Mapped[str] = mapped_column(String(200))
    body: Mapped[dict[str, Any]]  # the validated PolicyCreate, as JSON (app/schemas/policies.py)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    activated_at: Mapped[datetime | None]


PAGE_KEYS = (Policy.version,)


def company_policies(company_id: str) -> Select:
    return select(Policy).where(Policy.company_id == company_id)


async def get_version(session: AsyncSession, company_id: str, version: int) -> Policy | None:
    return await session.scalar(select(Policy).where(Policy.company_id == company_id, Policy.version == version))

