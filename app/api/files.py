"""Bulk files: a whole kind's history (or a part of it) as one CSV or Parquet body."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Query, Request, status

from app.api.datasets import BATCH_PATHS
from app.api.deps import CurrentPrincipal, FilesDep, SessionDep
from app.api.resources import OwnedDataset
from app.schemas.common import problem_responses
from app.schemas.datasets import BatchReceipt

router = APIRouter(prefix="/v1/datasets", tags=["datasets"])
KindPath = StrEnum("KindPath", {path.replace("-", "_"): path for path in BATCH_PATHS.values()})
KINDS = {path: kind for kind, path in BATCH_PATHS.items()}
FILE_BODY = {"required": True, "content": {
    "text/csv": {"schema": {"type": "string"}},
    "application/vnd.apache.parquet": {"schema": {"type": "string", "format": "binary"}},
}}
DESCRIPTION = """A CSV (`text/csv`, UTF-8, a header row with the JSON field names) or Parquet
(`application/vnd.apache.parquet`) file of one kind, streamed: up to `CREDITGATE_MAX_FILE_BYTES`
(2 GB by default). Validated column-wise under the same rules as JSON items, then stored at once:
a file with any invalid line is refused whole (422, the first 100 errors by `line` and `field`
and `errors_total`), and nothing of it is stored. The receipt's `batch_id` is `file-<SHA-256 of
the file>`: sending the same file again answers the same receipt and stores nothing twice.
`final=true` (the default) marks the kind complete, as the last batch does."""


@router.post(
    "/{dataset_id}/{kind}/files",
    status_code=status.HTTP_201_CREATED,
    response_model=BatchReceipt,
    responses=problem_responses(401, 404, 409, 413, 415, 422),
    openapi_extra={"requestBody": FILE_BODY},
    summary="Upload a kind's history as one CSV or Parquet file",
    description=DESCRIPTION,
)
async def upload_file(
    dataset: OwnedDataset,
    kind: KindPath,
    request: Request,
    principal: CurrentPrincipal,
    session: SessionDep,
    files: FilesDep,
    final: Annotated[bool, Query(description="the kind's last upload: the dataset validates once every kind is "
                                             "final")] = True,
) -> BatchReceipt:
    return await files.accept(session, principal, dataset, KINDS[kind.value], request.stream(),
                              request.headers.get("content-type"), final)
