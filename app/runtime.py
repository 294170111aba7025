"""The composition root: one place that builds and wires every collaborator - database, queues,
caches, compute, job dispatcher, training, evaluations, decision engine - for the API
(`create_app`) and for `creditgate worker` alike. Nothing else constructs them."""

from __future__ import annotations

import functools
import hashlib
import logging
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.compute.decision_writer import ProcessWriter
from app.compute.process_pool import ProcessPoolCompute
from app.db.change_feed import ChangeFeed
from app.db.engine import make_engine, make_sessionmaker, transaction
from app.kit.rate_limits import RateLimits
from app.services import datasets as datasets_service
from app.services import training_worker
from app.services.alerts import AlertWatcher
from app.services.auth import Authenticator
from app.services.auth_cache import AuthCache
from app.services.batch_sink import BatchSink
from app.services.bulk_files import FileIngestion
from app.services.customer_data import CustomerDataCache
from app.services.decision_log import DecisionLog
from app.services.decisions import DecisionEngine
from app.services.evaluations import EvaluationService
from app.services.ingestion import BatchQueue
from app.services.jobs import Compute, JobQueue, Jobs
from app.services.monitoring import Monitor
from app.services.policy_book import PolicyBook
from app.services.reports import Reports
from app.services.scoring import ModelCache
from app.services.shadow import ShadowScorer
from app.services.training import Trainer, TrainingService
from app.settings import Settings

logger = logging.getLogger("app")


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    auth_cache: AuthCache
    auth: Authenticator
    batch_queue: BatchQueue
    files: FileIngestion
    compute: Compute
    jobs: Jobs
    training: TrainingService
    evaluations: EvaluationService
    decisions: DecisionEngine
    rate_limits: RateLimits
    monitor: Monitor
    alerts: AlertWatcher
    shadow: ShadowScorer
    change_feed: ChangeFeed | None = None
    reports: Reports = field(default_factory=Reports)

    def transaction(self) -> AbstractAsyncContextManager[AsyncSession]:
        """One unit of work: commit on success, roll back on error, then the after-commit work."""
        return transaction(self.sessions)

    async def start(self) -> None:
        if self.change_feed is not None:
            await self.change_feed.start()
        await self.decisions.log.start()
        await self.shadow.start()
        await self.batch_queue.start()
        await datasets_service.resume_interrupted(self.sessions, self.settings, self.training.on_dataset_ready)
        await self.jobs.start()
        await self.alerts.start()
        logger.info("started", extra={"database": self.engine.dialect.name, "env": self.settings.env.value,
                                      "batch_queue": type(self.batch_queue).__name__,
                                      "job_queue": type(self.jobs.queue).__name__})

    async def stop(self) -> None:
        await self.alerts.stop()
        await self.batch_queue.stop()
        await self.files.stop()
        await self.jobs.stop()
        self.compute.stop()
        await self.decisions.log.stop()
        await self.shadow.stop()
        if self.change_feed is not None:
            await self.change_feed.stop()
        await self.engine.dispose()
        logger.info("stopped")


def build_runtime(settings: Settings) -> Runtime:
    engine = make_engine(settings.database_url, echo=settings.database_echo)
    auth_cache = AuthCache(settings.auth_cache_seconds)
    sessions = make_sessionmaker(engine, listeners=[auth_cache])
    compute = ProcessPoolCompute(settings.training_workers)
    jobs = Jobs(sessions, _job_queue(settings))
    training = TrainingService(sessions, settings, compute, jobs, trainer=_trainer(settings))
    sink = BatchSink(sessions, settings, on_ready=training.on_dataset_ready)
    monitor = Monitor()  # counts each decision as the log writes it (docs/decisions/0011)
    models = ModelCache(sessions)
    shadow = ShadowScorer(models, sessions)  # challengers score the decisions the log committed
    writer = ProcessWriter(settings.database_url) if settings.decision_writer == "process" else None
    decisions = DecisionEngine(models, CustomerDataCache(sessions),
                               DecisionLog(sessions, journal_directory(settings), observers=(monitor,),
                                           followers=(shadow,), writer=writer),
                               PolicyBook(sessions))
    return Runtime(
        settings=settings, engine=engine, sessions=sessions, auth_cache=auth_cache,
        auth=Authenticator(sessions, settings, auth_cache), batch_queue=_batch_queue(settings, sink),
        files=FileIngestion(sessions, settings, on_ready=training.on_dataset_ready),
        compute=compute, jobs=jobs, training=training,
        evaluations=EvaluationService(sessions, settings, compute, jobs), decisions=decisions,
        rate_limits=RateLimits({"registration": settings.rate_limit_registrations,
                                "token": settings.rate_limit_tokens}, settings.rate_limit_storage),
        monitor=monitor, alerts=AlertWatcher(sessions, settings, monitor, retrainer=training), shadow=shadow,
        change_feed=ChangeFeed(settings.database_url, [auth_cache]) if engine.dialect.name == "postgresql" else None,
    )


@asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[Runtime]:
    """A started runtime, stopped on exit."""
    runtime = build_runtime(settings)
    await runtime.start()
    try:
        yield runtime
    finally:
        await runtime.stop()


def _batch_queue(settings: Settings, sink: BatchSink) -> BatchQueue:
    if settings.kafka_enabled:
        from app.transport.kafka import KafkaBatchQueue

        return KafkaBatchQueue(settings, sink)
    from app.transport.inprocess import InProcessBatchQueue

    return InProcessBatchQueue(sink, settings.ingest_batches_per_commit)


def _trainer(settings: Settings) -> Trainer:
    """Where a training runs: on the compute worker alone, or driven from it across a Dask cluster."""
    if settings.dask_scheduler:
        from app.services.cluster_training import train_dataset_on_cluster

        return functools.partial(train_dataset_on_cluster, settings.dask_scheduler, settings.dask_partitions)
    return training_worker.train_dataset


def _job_queue(settings: Settings) -> JobQueue:
    if settings.kafka_enabled:
        from app.transport.kafka_jobs import KafkaJobQueue

        return KafkaJobQueue(settings)
    from app.transport.inprocess import InProcessJobQueue

    return InProcessJobQueue(settings.training_workers)


def journal_directory(settings: Settings) -> Path | None:
    """One journal folder per database, so processes of different databases never replay each
    other's decisions."""
    if not settings.decision_journal_dir:
        return None
    database = hashlib.sha256(settings.database_url.encode()).hexdigest()[:16]
    return Path(settings.decision_journal_dir) / database
