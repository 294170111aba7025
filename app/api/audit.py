"""The caller's own audit log."""

from __future__ import annotations

from fastapi import APIRouter

from app.api.deps import CurrentPrincipal, DecisionsDep, Filter, PageParams, SessionDep, Since, Until
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
    action: Filter = None,
    subject_type: Filter = None,
    subject_id: Filter = None,
    since: Since = None,
    until: Until = None,
) -> Page[AuditEventRead]:
    filters = service.AuditFilter(action, subject_type, subject_id, since, until)
    events, next_cursor = await service.list_page(session, engine.log, principal.company.id, filters, page)
    return Page(items=[AuditEventRead.model_validate(e) for e in events], next_cursor=next_cursor)
