"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from app.api.deps import ComputeDep, SessionsDep
from app.schemas.common import problem_responses
from app.schemas.operations import Health, Readiness
from app.services import operations

router = APIRouter(tags=["operations"])


@router.get("/healthz", response_model=Health, summary="Liveness")
async def check_health() -> Health:
    """Answers as long as the process serves requests; it checks nothing else."""
    return Health(status="ok")


@router.get("/readyz", response_model=Readiness, responses=problem_responses(503), summary="Readiness")
async def check_readiness(sessions: SessionsDep, compute: ComputeDep) -> Readiness:
    """Ready when the database answers and training workers can start; a 503 says which is not."""
    return Readiness(**await operations.readiness(sessions, compute))


@router.get("/metrics", include_in_schema=False)
async def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
