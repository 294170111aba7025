"""The caller's own audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from app.api.deps import CurrentPrincipal, DecisionsDep, PageParams, SessionDep
from app.schemas.audit import AuditEventRead
from app.schemas.common import Page, problem_responses
from app.services import audit as service

router = APIRouter(prefix="/v1/audit-events", tags=["audit"])


@router.get("", response_model=Page[AuditEventRead], responses=problem_responses(401, 422))
async def list_audit_events(
    principal: CurrentPrincipal,
    session: SessionDep,
    engine: DecisionsDep,
    page: PageParams,
    action: str | None = None,
    subject_type: str | None = None,
    subject_id: str | None = None,
    since: Annotated[datetime | None, Query(description="Inclusive, ISO 8601")] = None,
    until: Annotated[datetime | None, Query(description="Exclusive, ISO 8601")] = None,
) -> Page[AuditEventRead]:
    filters = service.AuditFilter(action, subject_type, subject_id, since, until)
    events, next_cursor = await service.list_page(session, engine.log, principal.company.id, filters, page)
    return Page(items=[AuditEventRead.model_validate(e) for e in events], next_cursor=next_cursor)
