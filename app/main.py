"""The ASGI application: ``app.main:app``, built by ``create_app()``."""

from __future__ import annotations

import gc
import hashlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI

from app.api import audit, companies, datasets, decisions, health, models
from app.api.docs import install_docs
from app.api.middleware import RequestContextMiddleware
from app.api.problems import install_handlers
from app.db.engine import make_engine, make_sessionmaker
from app.logs import configure_logging
from app.services import datasets as datasets_service
from app.services.auth_cache import AuthCache
from app.services.batch_sink import BatchSink
from app.services.customer_data import CustomerDataCache
from app.services.decision_log import DecisionLog
from app.services.decisions import DecisionEngine
from app.services.model_cache import ModelCache
from app.services.training import TrainingRunner, make_pool
from app.settings import Settings, get_settings
from app.transport.factory import make_queue
from app.transport.kafka_jobs import KafkaJobQueue

logger = logging.getLogger("app")

DESCRIPTION = """Decide, before billing, whether each B2B order may be billed or must be blocked
for credit review. Register a company (`POST /v1/companies`), click **Authorize** with the returned
token, upload history into a dataset, let a model train, then ask for decisions."""

# The order a newcomer follows in Swagger UI (routes themselves are matched decisions first).
TAG_ORDER = ("companies", "datasets", "models", "decisions", "audit", "operations")


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings.database_url, echo=settings.database_echo)
        app.state.engine = engine
        app.state.sessions = sessions = make_sessionmaker(engine)
        journal = journal_directory(settings)
        decision_log = DecisionLog(sessions, journal)
        await decision_log.start()
        app.state.decisions = DecisionEngine(sessions, ModelCache(), CustomerDataCache(), decision_log)
        app.state.auth_cache = auth_cache = AuthCache(settings.auth_cache_seconds)
        jobs = KafkaJobQueue(settings) if settings.kafka_enabled else None
        app.state.training = runner = TrainingRunner(sessions, settings, make_pool(settings), jobs,
                                                     on_company_change=auth_cache.invalidate_company)
        on_ready = runner.on_dataset_ready
        sink = BatchSink(sessions, settings, on_ready, on_company_change=auth_cache.invalidate_company)
        app.state.batch_queue = queue = make_queue(settings, sessions, sink)
        await queue.start()
        await datasets_service.resume_interrupted(sessions, settings, on_ready)
        await runner.start()
        freeze_startup_objects()
        logger.info("started", extra={"database": engine.dialect.name, "env": settings.env.value,
                                      "queue": type(queue).__name__})
        try:
            yield
        finally:
            await queue.stop()
            await runner.stop()
            await decision_log.stop()
            await engine.dispose()
            gc.unfreeze()  # an app built again in this process (tests) freezes its own start-up
            logger.info("stopped")

    app = FastAPI(
        title="CreditGate",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        openapi_tags=[{"name": name} for name in TAG_ORDER],
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.add_middleware(RequestContextMiddleware, max_body_bytes=settings.max_body_bytes)
    install_handlers(app)
    # Routes are matched in order: the decision endpoints, the hot path, come first.
    for router in (decisions.router, health.router, companies.router, datasets.router, models.router, audit.router):
        app.include_router(router)
    install_docs(app)
    _publish_manual_schemas(app)
    return app


def freeze_startup_objects() -> None:
    """Move what start-up built (modules, routes, schemas: ~200k objects) out of the cyclic
    garbage collector's sight. A full collection walked them all, pausing every request in flight
    for 40-60 ms several times a minute under load; they live as long as the process anyway."""
    gc.collect()
    gc.freeze()


def journal_directory(settings: Settings) -> Path | None:
    """One journal folder per database, so processes of different databases never replay each
    other's decisions."""
    if not settings.decision_journal_dir:
        return None
    database = hashlib.sha256(settings.database_url.encode()).hexdigest()[:16]
    return Path(settings.decision_journal_dir) / database


def _publish_manual_schemas(app: FastAPI) -> None:
    """Add the schemas of bodies parsed by services (batch uploads) to the OpenAPI document."""
    build = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is None:
            schema = build()
            schema.setdefault("components", {}).setdefault("schemas", {}).update(datasets.openapi_schemas())
        return app.openapi_schema

    app.openapi = openapi


def __getattr__(name: str) -> FastAPI:
    # `app.main:app` is built lazily so that importing this module never reads settings.
    if name == "app":
        return create_app()
    raise AttributeError(name)
