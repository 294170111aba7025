from __future__ import annotations

from datetime import datetime
from typing import Any

from app.schemas.common import Page, ReadModel


class AuditEventRead(ReadModel):
    id: int
    actor: str
    action: str
    subject_type: str
    subject_id: str
    summary: dict[str, Any]
    request_id: str | None
    created_at: datetime


class AuditEventPage(Page[AuditEventRead]):
    """A page of the company's audit events."""
