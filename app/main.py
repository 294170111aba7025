"""The ASGI application: ``app.main:app``, built by ``create_app()``."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from app.api import (
    audit,
    companies,
    datasets,
    decisions,
    files,
    health,
    model_versions,
    monitoring,
    outcomes,
    policies,
    reports,
    shadow,
    training,
)
from app.api.docs import install_docs
from app.api.middleware import RequestContextMiddleware
from app.api.openapi import install_openapi, route_operation_id
from app.api.problems import install_handlers
from app.logs import configure_logging
from app.runtime import build_runtime
from app.settings import Settings, get_settings

logger = logging.getLogger("app")

DESCRIPTION = """Decide, before billing, whether each B2B order may be billed or must be blocked
for credit review. Register a company (`POST /v1/companies`), click **Authorize** with the returned
token, upload history into a dataset, let a model train, then ask for decisions."""

# The order a newcomer follows in Swagger UI (routes themselves are matched decisions first).
TAG_ORDER = (
    "companies", "datasets", "training", "models", "policies", "decisions", "monitoring", "audit", "operations",
)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.runtime = runtime = build_runtime(settings)
        await runtime.start()
        freeze_startup_objects()
        try:
            yield
        finally:
            await runtime.stop()
            gc.unfreeze()  # an app built again in this process (tests) freezes its own start-up

    app = FastAPI(
        title="CreditGate",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        openapi_tags=[{"name": name} for name in TAG_ORDER],
        docs_url=None,
        redoc_url=None,
        generate_unique_id_function=route_operation_id,
    )
    app.add_middleware(RequestContextMiddleware, max_body_bytes=settings.max_body_bytes,
                       max_file_bytes=settings.max_file_bytes)
    install_handlers(app)
    # Routes are matched in order: the decision endpoints, the hot path, come first.
    for module in (decisions, outcomes, health, companies, datasets, files, training, model_versions, reports,
                   shadow, monitoring, policies, audit):
        app.include_router(module.router)
    install_docs(app)
    install_openapi(app, datasets.openapi_schemas())
    return app


def freeze_startup_objects() -> None:
    """Move what start-up built (modules, routes, schemas: ~200k objects) out of the cyclic
    garbage collector's sight. A full collection walked them all, pausing every request in flight
    for 40-60 ms several times a minute under load; they live as long as the process anyway."""
    gc.collect()
    gc.freeze()


def __getattr__(name: str) -> FastAPI:
    # `app.main:app` is built lazily so that importing this module never reads settings.
    if name == "app":
        return create_app()
    raise AttributeError(name)
