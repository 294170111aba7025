"""The caller's own audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request

from app.api.deps import CurrentPrincipal, SessionDep
from app.errors import InvalidInput
from app.schemas.audit import AuditEventRead
from app.schemas.common import Page, problem_responses
from app.services import audit as service

router = APIRouter(prefix="/v1/audit-events", tags=["audit"])


@router.get("", response_model=Page[AuditEventRead], responses=problem_responses(401, 422))
async def list_audit_events(
    request: Request,
    principal: CurrentPrincipal,
    session: SessionDep,
    action: str | None = None,
    subject_type: str | None = None,
    subject_id: str | None = None,
    since: Annotated[datetime | None, Query(description="Inclusive, ISO 8601")] = None,
    until: Annotated[datetime | None, Query(description="Exclusive, ISO 8601")] = None,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Page[AuditEventRead]:
    filters = service.AuditFilter(action, subject_type, subject_id, since, until)
    await request.app.state.decisions.log.flush()  # decision events are written off the request path
    events, next_cursor = await service.list_events(
        session, principal.company.id, filters, _parse_cursor(cursor), limit
    )
    return Page(
        items=[AuditEventRead.model_validate(e) for e in events],
        next_cursor=str(next_cursor) if next_cursor is not None else None,
    )


def _parse_cursor(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    if not cursor.isdigit():
        raise InvalidInput("cursor must be the next_cursor value of a previous page.",
                           errors=[{"field": "cursor", "message": "not a valid cursor"}])
    return int(cursor)
