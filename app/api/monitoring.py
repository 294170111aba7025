"""Monitoring of a model version's live traffic, and the alerts it raised."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from app.api.deps import CurrentPrincipal, DecisionsDep, MonitorDep, PageParams, SessionDep, SettingsDep, Since, Until
from app.api.resources import OwnedModelVersion
from app.schemas.common import problem_responses
from app.schemas.monitoring import AlertPage, AlertRead, MonitoringReport
from app.services import alerts, monitoring

router = APIRouter(tags=["monitoring"])


@router.get("/v1/models/{version}/monitoring", response_model=MonitoringReport,
            responses=problem_responses(401, 404, 422),
            summary="A version's live traffic against its training reference, by day or week")
async def read_monitoring(model: OwnedModelVersion, session: SessionDep, monitor: MonitorDep, engine: DecisionsDep,
                          settings: SettingsDep, since: Since = None, until: Until = None,
                          bucket: Annotated[Literal["day", "week"], Query(description="day or week (UTC, "
                                                                          "weeks start on Monday)")] = "day",
                          ) -> MonitoringReport:
    """Per bucket and over the whole period (default: the last 30 days): decisions, block and
    review rates, the population stability index (PSI) of the score and of each feature against
    the version's training reference, and where outcomes or reviews arrived, the live ROC AUC,
    the confusion matrix and the number of overrides (null where there is nothing to compute).
    Whole UTC days: `since`'s day up to `until` (exclusive)."""
    await engine.log.flush()  # decisions are counted as they are written: read your writes
    span = monitoring.period(since, until, bucket)
    return await monitor.report(session, model, span, settings.monitoring_psi_threshold)


@router.get("/v1/alerts", response_model=AlertPage, responses=problem_responses(401, 422),
            summary="List the company's monitoring alerts (drift and performance)")
async def list_alerts(principal: CurrentPrincipal, session: SessionDep, page: PageParams,
                      open: Annotated[bool, Query(description="only the alerts still open")] = False) -> AlertPage:
    """Newest first. `drift`: the PSI of the score (`feature` null) or of a feature went over
    the threshold; `performance`: the live ROC AUC fell more than the margin below the version's
    hold-out AUC. An alert is raised once and stays open until its condition ends."""
    rows, next_cursor = await alerts.list_page(session, principal.company.id, open, page)
    return AlertPage(items=[AlertRead.model_validate(a) for a in rows], next_cursor=next_cursor)
