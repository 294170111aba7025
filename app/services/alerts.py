"""Alerts: a version whose live traffic drifted from its training reference (PSI of the score or
of a feature over the threshold) or whose live ROC AUC fell more than a margin below its hold-out
AUC. Evaluated in the background every `monitoring_interval_seconds` over the last
`monitoring_window_days` for every version that decided something there, and on request
(`AlertWatcher.evaluate_all`). An alert stays open - and is not raised again - until its
condition ends (`cleared_at`); raising and clearing are audit events. A company with
`retrain_on_alert` gets one retraining queued (`Retrainer`) for what an evaluation raised."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db import monitoring as monitoring_db
from app.db.base import new_id, utcnow
from app.db.companies import Company
from app.db.engine import transaction
from app.db.model_versions import ModelVersion
from app.db.monitoring import Alert
from app.db.pages import fetch_page
from app.kit import tasks
from app.kit.pagination import PageRequest
from app.metrics import OPEN_ALERTS
from app.schemas.monitoring import MonitoringBucket
from app.services import audit
from app.services.monitoring import Monitor, Period
from app.settings import Settings

__all__ = ["Alert", "AlertWatcher"]
logger = logging.getLogger("app.monitoring")
KINDS = ("drift", "performance")


@dataclass(frozen=True)
class Condition:
    kind: str
    feature: str | None
    value: float
    threshold: float


def conditions(total: MonitoringBucket, holdout_auc: float | None, settings: Settings) -> list[Condition]:
    """What is wrong with a window of a version's traffic (empty: nothing)."""
    found = []
    if total.decisions >= settings.monitoring_min_decisions:
        limit = settings.monitoring_psi_threshold
        if total.score_psi is not None and total.score_psi > limit:
            found.append(Condition("drift", None, total.score_psi, limit))
        found += [Condition("drift", name, value, limit) for name, value in total.feature_psi.items()
                  if value is not None and value > limit]
    if total.live_auc is not None and holdout_auc is not None and total.outcomes >= settings.monitoring_min_outcomes:
        floor = round(holdout_auc - settings.monitoring_auc_margin, 6)
        if total.live_auc < floor:
            found.append(Condition("performance", None, total.live_auc, floor))
    return found


class Retrainer(Protocol):
    """Queues the retraining an alert asks for (the training service), in the alert's transaction."""

    async def retrain_for_alert(self, session: AsyncSession, company_id: str,
                                alert_ids: list[str]) -> dict[str, Any]: ...


class AlertWatcher:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], settings: Settings, monitor: Monitor,
                 retrainer: Retrainer | None = None) -> None:
        self.sessions = sessions
        self.settings = settings
        self.monitor = monitor
        self.retrainer = retrainer
        self._task: asyncio.Task | None = None

    async def start(self) -> None:
        if self.settings.monitoring_interval_seconds > 0:
            self._task = asyncio.create_task(self._run(), name="alert-watcher")

    async def stop(self) -> None:
        await tasks.cancel(self._task)
        self._task = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.settings.monitoring_interval_seconds)
            try:
                await self.evaluate_all()
            except Exception:
                logger.exception("alerts not evaluated, retrying at the next interval")

    def window(self, today: date | None = None) -> Period:
        today = today or utcnow().date()
        end = today + timedelta(days=1)
        return Period(end - timedelta(days=self.settings.monitoring_window_days), end, "day")

    async def evaluate_all(self, today: date | None = None) -> list[Alert]:
        """Evaluate every version that decided something in the window; the alerts raised now."""
        span = self.window(today)
        async with self.sessions() as session:
            scopes = await monitoring_db.active_scopes(session, span.since)
        raised = []
        for company_id, model_id in scopes:
            async with transaction(self.sessions) as session:
                raised += await self.evaluate(session, company_id, model_id, span)
        async with self.sessions() as session:
            counts = await monitoring_db.open_alert_counts(session)
        for kind in KINDS:
            OPEN_ALERTS.labels(kind).set(counts.get(kind, 0))
        return raised

    async def evaluate(self, session: AsyncSession, company_id: str, model_id: str, span: Period) -> list[Alert]:
        """Raise what is wrong and not open yet; clear what is open and no longer wrong."""
        model = await session.get(ModelVersion, model_id)
        if model is None or model.company_id != company_id:
            return []
        report = await self.monitor.report(session, model, span, self.settings.monitoring_psi_threshold)
        found = {(c.kind, c.feature): c for c in conditions(report.total, report.holdout_auc, self.settings)}
        now = utcnow()
        open_now = {(a.kind, a.feature): a for a in await monitoring_db.open_alerts(session, company_id, model_id)}
        raised = []
        for key, condition in found.items():
            if key not in open_now:
                alert = Alert(id=new_id(), company_id=company_id, model_id=model_id, model_version=model.version,
                              kind=condition.kind, feature=condition.feature, value=condition.value,
                              threshold=condition.threshold, raised_at=now)
                session.add(alert)
                raised.append(alert)
                _audit(session, alert, "alert.raised")
        for key, alert in open_now.items():
            if key not in found:
                alert.cleared_at = now
                _audit(session, alert, "alert.cleared")
        await session.flush()
        if raised and self.retrainer is not None and (await session.get(Company, company_id)).retrain_on_alert:
            # one retraining for what this evaluation raised, committed with the alerts
            await self.retrainer.retrain_for_alert(session, company_id, [a.id for a in raised])
        return raised


def _audit(session: AsyncSession, alert: Alert, action: str) -> None:
    audit.record(session, company_id=alert.company_id, action=action, subject_type="model",
                 subject_id=str(alert.model_version),
                 summary={"alert_id": alert.id, "kind": alert.kind, "feature": alert.feature,
                          "value": alert.value, "threshold": alert.threshold})


async def list_page(session: AsyncSession, company_id: str, open_only: bool,
                    page: PageRequest) -> tuple[list[Alert], str | None]:
    """Newest first."""
    return await fetch_page(session, monitoring_db.company_alerts(company_id, open_only=open_only),
                            monitoring_db.ALERT_PAGE_KEYS, page)
