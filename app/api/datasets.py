"""Datasets (upload sessions) and their four batch endpoints."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, status

from app.api.deps import CurrentPrincipal, SessionDep
from app.errors import InvalidInput
from app.schemas.common import Page, problem_responses
from app.schemas.datasets import (
    ITEM_SCHEMAS,
    BatchIn,
    BatchReceipt,
    DatasetCreate,
    DatasetRead,
    DatasetSummary,
    Kind,
)
from app.services import audit, ingestion
from app.services import datasets as service

router = APIRouter(prefix="/v1/datasets", tags=["datasets"])

# Batch bodies are parsed by the service (so a refusal can be audited); their schemas are
# published here and merged into the OpenAPI document by `openapi_schemas()`.
_SCHEMAS: dict[str, Any] = {}


def _batch_body_doc(kind: Kind) -> dict[str, Any]:
    model = BatchIn[ITEM_SCHEMAS[kind]]
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    _SCHEMAS.update(schema.pop("$defs", {}))
    name = f"{ITEM_SCHEMAS[kind].__name__}Batch"
    _SCHEMAS[name] = schema | {"title": name}
    body = {"content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}}}
    return {"requestBody": body | {"required": True}}


def openapi_schemas() -> dict[str, Any]:
    return _SCHEMAS


@router.post("", status_code=status.HTTP_201_CREATED, response_model=DatasetSummary,
             responses=problem_responses(401, 422))
async def create_dataset(body: DatasetCreate, principal: CurrentPrincipal, session: SessionDep) -> DatasetSummary:
    return DatasetSummary.model_validate(await service.create(session, principal, body))


@router.get("", response_model=Page[DatasetSummary], responses=problem_responses(401))
async def list_datasets(
    principal: CurrentPrincipal,
    session: SessionDep,
    cursor: Annotated[str | None, Query(pattern=r"^\d{1,20}$", description="next_cursor of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[DatasetSummary]:
    before = datetime.fromtimestamp(int(cursor) / 1e6, UTC) if cursor else None
    rows = await service.list_owned(session, principal, before, limit + 1)
    next_cursor = str(int(rows[limit - 1].created_at.timestamp() * 1e6)) if len(rows) > limit else None
    return Page(items=[DatasetSummary.model_validate(d) for d in rows[:limit]], next_cursor=next_cursor)


@router.get("/{dataset_id}", response_model=DatasetRead, responses=problem_responses(401, 404))
async def read_dataset(dataset_id: str, principal: CurrentPrincipal, session: SessionDep) -> DatasetRead:
    dataset = await service.get_owned(session, principal, dataset_id)
    return await service.read(session, dataset)


def _batch_route(kind: Kind, path: str):
    @router.post(
        f"/{{dataset_id}}/{path}",
        status_code=status.HTTP_202_ACCEPTED,
        response_model=BatchReceipt,
        responses=problem_responses(401, 404, 409, 413, 422, 503),
        openapi_extra=_batch_body_doc(kind),
        summary=f"Upload a batch of {kind.value.replace('_', ' ')} (1-500 items)",
        name=f"upload_{kind.value}",
    )
    async def upload(dataset_id: str, request: Request, principal: CurrentPrincipal,
                     session: SessionDep) -> BatchReceipt:
        dataset = await service.get_owned(session, principal, dataset_id)
        body = await request.body()
        try:
            batch = ingestion.parse_batch(kind, body)
        except InvalidInput as exc:
            await _audit_refusal(request, principal, dataset.id, kind, exc)
            raise
        return await ingestion.accept_batch(session, request.app.state.batch_queue, principal, dataset, kind, batch)

    return upload


async def _audit_refusal(request: Request, principal, dataset_id: str, kind: Kind, exc: InvalidInput) -> None:
    """The request's transaction rolls back with the 422, so the refusal is written on its own."""
    from app.db.engine import transaction

    summary = {"kind": kind.value, "errors": len(exc.errors or []),
               "items_with_errors": len({e.get("index") for e in exc.errors or [] if e.get("index") is not None})}
    async with transaction(request.app.state.sessions) as session:
        audit.record(session, company_id=principal.company.id, action="batch.refused", subject_type="dataset",
                     subject_id=dataset_id, summary=summary, actor=principal.jti)


for _kind, _path in (
    (Kind.customers, "customers"),
    (Kind.credit_limits, "credit-limits"),
    (Kind.serasa_reports, "serasa-reports"),
    (Kind.orders, "orders"),
):
    _batch_route(_kind, _path)
