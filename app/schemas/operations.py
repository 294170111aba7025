"""Liveness and readiness answers."""

from __future__ import annotations

from pydantic import BaseModel, Field


class Health(BaseModel):
    status: str = Field(examples=["ok"])


class Readiness(BaseModel):
    status: str = Field(examples=["ready"])
    database: str = Field(description="the database dialect reached", examples=["sqlite", "postgresql"])
    training: str = Field(description="whether training workers can start", examples=["available"])
