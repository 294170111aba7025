"""Datasets (upload sessions) and their four batch endpoints."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, status

from app.api.deps import BatchQueueDep, CurrentPrincipal, PageParams, SessionDep, SessionsDep
from app.api.resources import OwnedDataset
from app.domain.states import Kind
from app.errors import InvalidInput
from app.schemas.common import Page, problem_responses
from app.schemas.datasets import (
    ITEM_SCHEMAS,
    BatchIn,
    BatchRead,
    BatchReceipt,
    DatasetCreate,
    DatasetRead,
    DatasetSummary,
)
from app.services import datasets as service
from app.services import ingestion

router = APIRouter(prefix="/v1/datasets", tags=["datasets"])

# Batch bodies are parsed by the service (so a refusal can be audited); their schemas are
# published here and merged into the OpenAPI document by `openapi_schemas()`.
_SCHEMAS: dict[str, Any] = {}
BATCH_PATHS = {Kind.customers: "customers", Kind.credit_limits: "credit-limits",
               Kind.serasa_reports: "serasa-reports", Kind.orders: "orders"}


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


@router.get("", response_model=Page[DatasetSummary], responses=problem_responses(401, 422))
async def list_datasets(principal: CurrentPrincipal, session: SessionDep, page: PageParams) -> Page[DatasetSummary]:
    rows, next_cursor = await service.list_page(session, principal, page)
    return Page(items=[DatasetSummary.model_validate(d) for d in rows], next_cursor=next_cursor)


@router.get("/{dataset_id}", response_model=DatasetRead, responses=problem_responses(401, 404, 422))
async def read_dataset(dataset: OwnedDataset, session: SessionDep) -> DatasetRead:
    return await service.read(session, dataset)


@router.delete("/{dataset_id}", status_code=status.HTTP_204_NO_CONTENT, responses=problem_responses(401, 404, 409, 422),
               summary="Delete a dataset's rows (a refused or interrupted upload, or data to forget)")
async def delete_dataset(
    dataset: OwnedDataset,
    principal: CurrentPrincipal,
    session: SessionDep,
    keep_versions: Annotated[bool, Query(description="delete it although model versions were trained on it; "
                                                     "they are kept")] = False,
) -> None:
    await service.delete(session, principal, dataset, keep_versions)


@router.get("/{dataset_id}/batches", response_model=Page[BatchRead], responses=problem_responses(401, 404, 422),
            summary="The dataset's batch receipts so far (to resume an interrupted upload)")
async def list_batches(dataset: OwnedDataset, session: SessionDep, page: PageParams) -> Page[BatchRead]:
    rows, next_cursor = await service.list_batches(session, dataset, page)
    return Page(items=[BatchRead(batch_id=b.batch_id, kind=Kind(b.kind), items=b.items, final=b.final,
                                 accepted_at=b.accepted_at, stored_at=b.stored_at, dead_letter_reason=b.error)
                       for b in rows], next_cursor=next_cursor)


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
    async def upload(dataset: OwnedDataset, request: Request, principal: CurrentPrincipal, session: SessionDep,
                     sessions: SessionsDep, queue: BatchQueueDep) -> BatchReceipt:
        try:
            batch = ingestion.parse_batch(kind, await request.body())
        except InvalidInput as exc:
            await ingestion.record_refusal(sessions, principal, dataset, kind, exc)
            raise
        return await ingestion.accept_batch(session, queue, principal, dataset, kind, batch)

    return upload


for _kind, _path in BATCH_PATHS.items():
    _batch_route(_kind, _path)
