from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import ConfigDict, EmailStr, Field, StringConstraints, model_validator

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
    retrain_on_alert: bool = Field(default=False, description="a monitoring alert queues a retraining")
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
    """The settings to change (at least one); those left out keep their value."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"auto_activate_models": True,
                                                               "retrain_on_alert": True}]})

    auto_activate_models: bool | None = Field(default=None, strict=True,
                                              description="activate each newly trained version at once")
    retrain_on_alert: bool | None = Field(default=None, strict=True,
                                          description="queue a retraining on everything known (as "
                                                      "`POST /v1/models/retrain`) when a monitoring alert is raised")

    @model_validator(mode="after")
    def _something(self) -> CompanySettingsUpdate:
        if not self.model_fields_set or all(getattr(self, name) is None for name in self.model_fields_set):
            raise ValueError("name at least one setting: auto_activate_models, retrain_on_alert")
        return self

    def changes(self) -> dict[str, bool]:
        return {name: getattr(self, name) for name in self.model_fields_set if getattr(self, name) is not None}


class TokenPage(Page[TokenInfo]):
    """A page of the company's tokens."""
