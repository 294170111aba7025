"""Dataset lifecycle: create, read progress, and validate integrity once every kind is complete."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import asdict

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db import changes, integrity
from app.db import datasets as datasets_db
from app.db import model_versions as versions_db
from app.db import training_jobs as training_jobs_db
from app.db.base import utcnow
from app.db.companies import Company
from app.db.datasets import Dataset, DatasetBatch
from app.db.engine import transaction
from app.db.pages import fetch_page
from app.domain.principal import Principal
from app.domain.states import DatasetStatus, Kind, Purpose
from app.errors import Conflict
from app.kit.pagination import PageRequest
from app.schemas.datasets import DatasetCreate, DatasetRead, DatasetSummary, DeadLetter, KindProgress
from app.services import audit
from app.settings import Settings

__all__ = ["Dataset"]  # the entity routes receive through their resource dependency

logger = logging.getLogger("app.datasets")

# Called (in the validating transaction) when a dataset becomes valid; training registers itself here.
DatasetReadyHook = Callable[[AsyncSession, Dataset], Awaitable[None]]


async def create(session: AsyncSession, principal: Principal, body: DatasetCreate) -> Dataset:
    dataset = Dataset(company_id=principal.company.id, name=body.name, purpose=body.purpose.value)
    session.add(dataset)
    await session.flush()
    audit.record(session, company_id=dataset.company_id, action="dataset.created", subject_type="dataset",
                 subject_id=dataset.id, summary={"name": body.name, "purpose": body.purpose.value},
                 actor=principal.jti)
    return dataset


async def find(session: AsyncSession, company_id: str, dataset_id: str) -> Dataset | None:
    """The company's dataset, or None (another company's dataset is None too)."""
    return await datasets_db.get_dataset(session, company_id, dataset_id)


async def list_page(session: AsyncSession, principal: Principal, page: PageRequest) -> tuple[list[Dataset], str | None]:
    return await fetch_page(session, datasets_db.company_datasets(principal.company.id), datasets_db.PAGE_KEYS, page)


async def read(session: AsyncSession, dataset: Dataset) -> DatasetRead:
    progress = await datasets_db.progress_by_kind(session, dataset.id)
    dead = await datasets_db.dead_letters(session, dataset.id)
    return DatasetRead(
        **DatasetSummary.model_validate(dataset).model_dump(),
        kinds={kind: KindProgress(**progress.get(kind.value, {})) for kind in Kind},
        dead_letters=[DeadLetter(kind=Kind(b.kind), batch_id=b.batch_id, reason=b.error or "") for b in dead],
        report=dataset.report,
    )


def is_complete(progress: dict[str, dict]) -> bool:
    """Every kind marked final and every accepted batch stored (or dead-lettered)."""
    for kind in Kind:
        entry = progress.get(kind.value)
        if not entry or not entry["final"]:
            return False
        if entry["batches_stored"] + entry["batches_failed"] < entry["batches_accepted"]:
            return False
    return True


async def check_completion(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    dataset_id: str,
    on_ready: DatasetReadyHook | None = None,
) -> DatasetStatus | None:
    """Validate the dataset if it just became complete; returns the new status, else None."""
    async with transaction(sessions) as session:
        progress = await datasets_db.progress_by_kind(session, dataset_id)
        if not is_complete(progress):
            return None
        if not await datasets_db.transition(session, dataset_id, DatasetStatus.receiving, DatasetStatus.validating):
            return None
    return await validate(sessions, settings, dataset_id, on_ready)


async def validate(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    dataset_id: str,
    on_ready: DatasetReadyHook | None = None,
) -> DatasetStatus:
    async with transaction(sessions) as session:
        dataset = await session.get(Dataset, dataset_id)
        report = await build_report(session, dataset, settings)
        dataset.report = report
        dataset.status = DatasetStatus.valid if report["valid"] else DatasetStatus.invalid
        audit.record(session, company_id=dataset.company_id, action="dataset.validated",
                     subject_type="dataset", subject_id=dataset.id,
                     summary={"status": dataset.status, "problems": len(report["problems"]),
                              "rows": report["rows"]})
        if dataset.status == DatasetStatus.valid:
            # Customer snapshots are cached per data version: the bump makes the new rows visible.
            await session.execute(
                update(Company).where(Company.id == dataset.company_id)
                .values(data_version=Company.data_version + 1)
            )
            changes.company_changed(session, dataset.company_id)
            if on_ready is not None:
                await on_ready(session, dataset)
    logger.info("dataset validated", extra={"dataset_id": dataset_id, "status": dataset.status})
    return dataset.status


async def build_report(session: AsyncSession, dataset: Dataset, settings: Settings) -> dict:
    rows = await integrity.row_counts(session, dataset.id)
    outcomes = await integrity.outcome_counts(session, dataset.id)
    problems = [asdict(p) for p in await integrity.find_problems(session, dataset.id, utcnow())]
    for kind, count in rows.items():
        if count == 0:
            problems.append(_problem("empty_kind", f"no {kind} were uploaded", 1, [kind]))
    needed = settings.min_orders_per_outcome if dataset.purpose == Purpose.training else 1
    for outcome in ("billed", "blocked"):
        if outcomes[outcome] < needed:
            message = f"only {outcomes[outcome]} {outcome} orders; at least {needed} are needed"
            problems.append(_problem(f"too_few_{outcome}_orders", message, needed - outcomes[outcome], []))
    dead = await datasets_db.dead_letters(session, dataset.id)
    if dead:
        examples = [f"{b.kind}/{b.batch_id}" for b in dead]
        problems.append(_problem("batches_not_stored", "batches that could not be stored", len(dead), examples))
    return {
        "valid": not problems,
        "checked_at": utcnow().isoformat(),
        "rows": rows,
        "outcomes": outcomes,
        "problems": problems,
        "warnings": [asdict(w) for w in await integrity.find_warnings(session, dataset.id)],
    }


def _problem(code: str, message: str, count: int, examples: list[str]) -> dict:
    return {"code": code, "message": message, "count": count, "examples": examples}


async def resume_interrupted(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, on_ready: DatasetReadyHook | None
) -> None:
    """Finish what a crash interrupted: a dataset left 'validating' is validated again, and a
    'receiving' one whose last batch was stored just before the crash is checked for completion."""
    async with sessions() as session:
        validating = await datasets_db.ids_with_status(session, DatasetStatus.validating)
        receiving = await datasets_db.ids_with_status(session, DatasetStatus.receiving)
    for dataset_id in validating:
        await validate(sessions, settings, dataset_id, on_ready)
    for dataset_id in receiving:
        await check_completion(sessions, settings, dataset_id, on_ready)


async def delete(session: AsyncSession, principal: Principal, dataset: Dataset, keep_versions: bool) -> dict[str, int]:
    """Remove a dataset's rows and receipts (a refused or interrupted upload, or data to forget).
    Versions trained on it are kept only when asked to (they keep naming it); a job still working
    on it is a conflict. Its rows fed decisions if it was usable: the company's data version moves."""
    versions = await versions_db.versions_trained_on(session, dataset.id)
    if versions and not keep_versions:
        raise Conflict(f"Dataset {dataset.id} trained model versions {versions}; delete it with "
                       "keep_versions=true to keep them.")
    if (await training_jobs_db.unfinished_for_dataset(session, dataset.id) is not None
            or await versions_db.unfinished_evaluations_of(session, dataset.id)):
        raise Conflict(f"A training or evaluation of dataset {dataset.id} is queued or running; retry when it "
                       "finished.")
    was_usable = dataset.status.usable
    removed = await datasets_db.delete_rows(session, dataset.id)
    dataset.status, dataset.report = DatasetStatus.deleted, None
    if was_usable:
        await session.execute(update(Company).where(Company.id == dataset.company_id)
                              .values(data_version=Company.data_version + 1))
        changes.company_changed(session, dataset.company_id)
    audit.record(session, company_id=dataset.company_id, action="dataset.deleted", subject_type="dataset",
                 subject_id=dataset.id, summary={"rows": removed, "kept_versions": versions}, actor=principal.jti)
    return removed


async def list_batches(session: AsyncSession, dataset: Dataset,
                       page: PageRequest) -> tuple[list[DatasetBatch], str | None]:
    """The dataset's batch receipts, newest first: what `creditgate upload --dataset` skips."""
    return await fetch_page(session, datasets_db.dataset_batches(dataset.id), datasets_db.BATCH_PAGE_KEYS, page)
