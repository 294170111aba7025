"""The caller's own audit log."""

from __future__ import annotations

from fastapi import APIRouter

from app.api.deps import CurrentPrincipal, DecisionsDep, Filter, PageParams, SessionDep, Since, Until
from app.schemas.audit import AuditEventPage, AuditEventRead
from app.schemas.common import problem_responses
from app.services import audit as service

router = APIRouter(prefix="/v1/audit-events", tags=["audit"])


@router.get("", response_model=AuditEventPage, responses=problem_responses(401, 422),
            summary="List the company's audit events, filtered")
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
) -> AuditEventPage:
    """Newest first: uploads (batches accepted, refused or dead-lettered), validations, trainings,
    activations, evaluations, decisions and token changes, each with its actor (the token's id),
    subject, summary and request id."""
    filters = service.AuditFilter(action, subject_type, subject_id, since, until)
    events, next_cursor = await service.list_page(session, engine.log, principal.company.id, filters, page)
    return AuditEventPage(items=[AuditEventRead.model_validate(e) for e in events], next_cursor=next_cursor)
