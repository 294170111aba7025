from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import ConfigDict, EmailStr, Field, StringConstraints

from app.schemas.common import Page, ReadModel, RequestModel
from app.schemas.types import NO_CONTROL_CHARACTERS


class CompanyCreate(RequestModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"name": "Distribuidora Exemplo Ltda",
                                                               "email": "credito@exemplo.com.br"}]})

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
    model_config = ConfigDict(json_schema_extra={"examples": [{"auto_activate_models": True}]})

    auto_activate_models: bool = Field(strict=True, description="activate each newly trained version at once")


class TokenPage(Page[TokenInfo]):
    """A page of the company's tokens."""
