from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import EmailStr, Field, StringConstraints

from app.schemas.common import ReadModel, RequestModel
from app.schemas.types import NO_CONTROL_CHARACTERS


class CompanyCreate(RequestModel):
    name: Annotated[str, StringConstraints(min_length=2, max_length=200, pattern=NO_CONTROL_CHARACTERS)] = Field(
        examples=["Distribuidora Exemplo Ltda"])
    email: EmailStr = Field(examples=["credito@exemplo.com.br"])


class CompanyRead(ReadModel):
    id: str
    name: str
    email: str
    is_active: bool
    auto_activate_models: bool
    created_at: datetime


class TokenRead(ReadModel):
    token: str
    token_type: str = "bearer"
    jti: str
    expires_at: datetime


class CompanyRegistered(ReadModel):
    company: CompanyRead
    access_token: TokenRead


class TokenInfo(ReadModel):
    jti: str
    issued_at: datetime
    expires_at: datetime
    revoked_at: datetime | None


class CompanySettingsUpdate(RequestModel):
    auto_activate_models: bool = Field(strict=True, description="activate each newly trained version at once")
