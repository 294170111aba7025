"""Datasets (upload sessions) and their four batch endpoints."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, status

from app.api.deps import BatchQueueDep, CurrentPrincipal, PageParams, SessionDep, SessionsDep
from app.api.resources import OwnedDataset
from app.domain.states import Kind
from app.errors import InvalidInput
from app.schemas.common import problem_responses
from app.schemas.datasets import (
    ITEM_SCHEMAS,
    BatchIn,
    BatchPage,
    BatchRead,
    BatchReceipt,
    DatasetCreate,
    DatasetPage,
    DatasetRead,
    DatasetSummary,
    batch_example,
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
    _SCHEMAS[name] = schema | {"title": name, "examples": [batch_example(kind)]}
    body = {"content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}}}
    return {"requestBody": body | {"required": True}}


def openapi_schemas() -> dict[str, Any]:
    return _SCHEMAS


@router.post("", status_code=status.HTTP_201_CREATED, response_model=DatasetSummary,
             responses=problem_responses(401, 422), summary="Open a dataset (an upload session)")
async def create_dataset(body: DatasetCreate, principal: CurrentPrincipal, session: SessionDep) -> DatasetSummary:
    """Upload the four kinds into it in batches (`upload_customers`, `upload_credit_limits`,
    `upload_serasa_reports`, `upload_orders`) and mark each kind's last batch `final`. Once every
    kind is final and stored, the dataset is validated; a valid training dataset trains by itself."""
    return DatasetSummary.model_validate(await service.create(session, principal, body))


@router.get("", response_model=DatasetPage, responses=problem_responses(401, 422),
            summary="List the company's datasets")
async def list_datasets(principal: CurrentPrincipal, session: SessionDep, page: PageParams) -> DatasetPage:
    """Newest first, `limit` at a time; pass `next_cursor` as `cursor` for the next page."""
    rows, next_cursor = await service.list_page(session, principal, page)
    return DatasetPage(items=[DatasetSummary.model_validate(d) for d in rows], next_cursor=next_cursor)


@router.get("/{dataset_id}", response_model=DatasetRead, responses=problem_responses(401, 404, 422),
            summary="Read a dataset: upload progress by kind and integrity report")
async def read_dataset(dataset: OwnedDataset, session: SessionDep) -> DatasetRead:
    """Poll it while uploading: `kinds` counts each kind's batches and rows, `dead_letters` names
    batches that could never be stored, and `report` is the integrity check once all kinds are in
    (`valid`, row and outcome counts, problems and warnings with examples)."""
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
    """Its rows and batch receipts go; the dataset stays as `deleted` for the versions and
    evaluations that name it. A 409 when versions were trained on it (unless `keep_versions`) or a
    training or evaluation of it is still running."""
    await service.delete(session, principal, dataset, keep_versions)


@router.get("/{dataset_id}/batches", response_model=BatchPage, responses=problem_responses(401, 404, 422),
            summary="The dataset's batch receipts so far (to resume an interrupted upload)")
async def list_batches(dataset: OwnedDataset, session: SessionDep, page: PageParams) -> BatchPage:
    """The latest accepted first; `stored_at` is null while a batch waits in the queue and
    `dead_letter_reason` says why one could never be stored."""
    rows, next_cursor = await service.list_batches(session, dataset, page)
    return BatchPage(items=[BatchRead(batch_id=b.batch_id, kind=Kind(b.kind), items=b.items, final=b.final,
                                 accepted_at=b.accepted_at, stored_at=b.stored_at, dead_letter_reason=b.error)
                       for b in rows], next_cursor=next_cursor)


UPLOAD_DESCRIPTION = (
    "Every item is validated on arrival; one invalid item refuses the whole batch with a 422 naming its index "
    "and field. An accepted batch is durable before the 202 and stored in the background. `batch_id` is the "
    "idempotency key: the same batch again returns the same receipt (`duplicate`), other items under a used "
    "`batch_id` are a 409. Mark the kind's last batch `final`.")


def _batch_route(kind: Kind, path: str):
    @router.post(
        f"/{{dataset_id}}/{path}",
        status_code=status.HTTP_202_ACCEPTED,
        response_model=BatchReceipt,
        responses=problem_responses(401, 404, 409, 413, 422, 503),
        openapi_extra=_batch_body_doc(kind),
        summary=f"Upload a batch of {kind.value.replace('_', ' ')} (1-500 items)",
        description=UPLOAD_DESCRIPTION,
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
