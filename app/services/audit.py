"""The one way audit events are written and read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.context import request_id_var
from app.db import audit as audit_db
from app.db.audit import AuditEvent
from app.db.base import utcnow
from app.db.pages import fetch_page
from app.kit.pagination import PageRequest
from app.services.decision_log import DecisionLog

SYSTEM_ACTOR = "system"


def record(
    session: AsyncSession,
    *,
    company_id: str,
    action: str,
    subject_type: str,
    subject_id: str,
    summary: dict[str, Any] | None = None,
    actor: str = SYSTEM_ACTOR,
) -> AuditEvent:
    """Add an audit event to the caller's transaction (it lands or rolls back with it)."""
    event = AuditEvent(**event_values(company_id=company_id, action=action, subject_type=subject_type,
                                      subject_id=subject_id, summary=summary, actor=actor))
    session.add(event)
    return event


def event_values(*, company_id: str, action: str, subject_type: str, subject_id: str,
                 summary: dict[str, Any] | None = None, actor: str = SYSTEM_ACTOR) -> dict[str, Any]:
    """The columns of one audit event, for writers that insert in bulk (the decision log)."""
    return {
        "company_id": company_id,
        "actor": actor,
        "action": action,
        "subject_type": subject_type,
        "subject_id": str(subject_id),
        "summary": summary or {},
        "request_id": request_id_var.get(),
        "created_at": utcnow(),
    }


@dataclass(frozen=True)
class AuditFilter:
    action: str | None = None
    subject_type: str | None = None
    subject_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None


async def list_page(session: AsyncSession, decision_log: DecisionLog, company_id: str, filters: AuditFilter,
                    page: PageRequest) -> tuple[list[AuditEvent], str | None]:
    """Newest first; decision events are written off the request path, so the log is flushed first."""
    await decision_log.flush()
    query = audit_db.company_events(company_id, action=filters.action, subject_type=filters.subject_type,
                                    subject_id=filters.subject_id, since=filters.since, until=filters.until)
    return await fetch_page(session, query, audit_db.PAGE_KEYS, page)
