"""Report pages and curves: a model version on its hold-out, or on the orders of one of its
evaluations, drawn from the scored slice it keeps (app/ml/curves.py, charts.py, report.py).

A version never changes and a succeeded evaluation neither, so a rendered page is cached per
slice (a small LRU in this process) and answered with a strong ETag: a client that sends it back
in If-None-Match gets 304. Curves and charts are computed in a worker thread, off the event loop.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.db import model_versions as versions_db
from app.db.model_versions import ModelEvaluation, ModelVersion
from app.domain.states import JobStatus
from app.errors import Conflict
from app.ml.artifacts import ScoreSample
from app.ml.curves import Curves, curves
from app.ml.report import ReportInput, page
from app.schemas.models import ConfusionMatrix
from app.schemas.reports import CalibrationBin, CurvesRead, PrPoint, RocPoint, ScoreHistograms, ThresholdRow

CONTRIBUTION = "mean_abs_contribution"
CONTRIBUTION_LABEL = "mean absolute contribution to the log-odds of block, per order"
GAIN_LABEL = "share of the trees' total gain (trained before contributions were recorded)"


@dataclass(frozen=True)
class Slice:
    """A scored slice and what its report says about it."""

    sample: ScoreSample
    threshold: float
    model_version: int
    evaluation_id: str | None
    importance: dict[str, float]
    importance_kind: str
    title: str
    subtitle: str
    facts: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Rendered:
    body: bytes
    etag: str


class Reports:
    """Renders and caches report pages (built once in app/runtime.py)."""

    def __init__(self, cache_size: int = 16) -> None:
        self.cache_size = cache_size
        self._pages: OrderedDict[str, Rendered] = OrderedDict()
        self.rendered = 0

    async def version_page(self, session: AsyncSession, model: ModelVersion) -> Rendered:
        return await self._page(f"version:{model.id}", lambda: version_slice(session, model))

    async def evaluation_page(self, session: AsyncSession, model: ModelVersion,
                              evaluation: ModelEvaluation) -> Rendered:
        return await self._page(f"evaluation:{evaluation.id}", lambda: evaluation_slice(session, model, evaluation))

    async def _page(self, key: str, load) -> Rendered:
        if (cached := self._pages.get(key)) is not None:
            self._pages.move_to_end(key)
            return cached
        scored = await load()
        body = (await asyncio.to_thread(render, scored)).encode()
        rendered = Rendered(body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"')
        self._pages[key] = rendered
        self.rendered += 1
        while len(self._pages) > self.cache_size:
            self._pages.popitem(last=False)
        return rendered


async def version_slice(session: AsyncSession, model: ModelVersion) -> Slice:
    raw = await versions_db.holdout_sample(session, model.id)
    if raw is None:
        raise Conflict(f"Model version {model.version} was trained before versions kept their scored hold-out; "
                       "train a new version for its report.")
    importance, kind = _importance(model.metrics, model)
    method = (model.calibration or {}).get("method", "none (uncalibrated)")
    return Slice(
        sample=ScoreSample.from_bytes(raw), threshold=model.threshold,
        model_version=model.version, evaluation_id=None, importance=importance, importance_kind=kind,
        title=f"Model version {model.version}: hold-out report",
        subtitle=f"The latest labelled orders of dataset {model.dataset_id}, held out of training.",
        facts=(("model version", str(model.version)), ("dataset", model.dataset_id),
               ("created", model.created_at.strftime("%Y-%m-%d %H:%M UTC")), ("calibration", method)),
    )


async def evaluation_slice(session: AsyncSession, model: ModelVersion, evaluation: ModelEvaluation) -> Slice:
    if evaluation.status != JobStatus.succeeded:
        raise Conflict(f"Evaluation {evaluation.id} is {evaluation.status.value}; its report comes once it "
                       "succeeded.")
    raw = await versions_db.evaluation_scores(session, evaluation.id)
    if raw is None:
        raise Conflict(f"Evaluation {evaluation.id} ran before evaluations kept their scored orders; evaluate "
                       "the version again for its report.")
    importance, kind = _importance(evaluation.metrics or {}, model)
    return Slice(
        sample=ScoreSample.from_bytes(raw), threshold=model.threshold,
        model_version=model.version, evaluation_id=evaluation.id, importance=importance, importance_kind=kind,
        title=f"Model version {model.version} on dataset {evaluation.dataset_id}: evaluation report",
        subtitle=f"Evaluation {evaluation.id}: the version tested on the labelled orders of dataset "
                 f"{evaluation.dataset_id}.",
        facts=(("model version", str(model.version)), ("evaluation", evaluation.id),
               ("dataset", evaluation.dataset_id),
               ("finished", evaluation.finished_at.strftime("%Y-%m-%d %H:%M UTC") if evaluation.finished_at else "")),
    )


def _importance(metrics: dict[str, Any], model: ModelVersion) -> tuple[dict[str, float], str]:
    if isinstance(contributions := metrics.get(CONTRIBUTION), dict):
        return contributions, CONTRIBUTION
    if isinstance(contributions := model.metrics.get(CONTRIBUTION), dict):
        return contributions, CONTRIBUTION  # an evaluation from before: the version's own hold-out
    return dict(model.feature_importance), "total_gain"


def slice_curves(scored: Slice) -> Curves:
    return curves(scored.sample.label, scored.sample.probability, scored.threshold)


def render(scored: Slice) -> str:
    """The page (CPU-bound: run it in a thread)."""
    label = CONTRIBUTION_LABEL if scored.importance_kind == CONTRIBUTION else GAIN_LABEL
    return page(ReportInput(scored.title, scored.subtitle, slice_curves(scored), scored.importance, label,
                            scored.facts))


async def version_curves(session: AsyncSession, model: ModelVersion) -> CurvesRead:
    return await asyncio.to_thread(curves_read, await version_slice(session, model))


async def evaluation_curves(session: AsyncSession, model: ModelVersion, evaluation: ModelEvaluation) -> CurvesRead:
    return await asyncio.to_thread(curves_read, await evaluation_slice(session, model, evaluation))


def curves_read(scored: Slice) -> CurvesRead:
    c = slice_curves(scored)
    return CurvesRead(
        model_version=scored.model_version, evaluation_id=scored.evaluation_id,
        sample="evaluation" if scored.evaluation_id else "holdout",
        orders=c.orders, blocked=c.blocked, billed=c.billed, threshold=c.threshold, roc_auc=c.roc_auc,
        pr_auc=c.pr_auc, ece=c.ece,
        roc=[RocPoint(false_positive_rate=x, true_positive_rate=y, threshold=t) for x, y, t in c.roc],
        pr=[PrPoint(recall=r, precision=p, threshold=t) for r, p, t in c.pr],
        calibration=[CalibrationBin(**b) for b in c.calibration],
        histograms=ScoreHistograms(edges=c.histogram_edges, billed=c.histogram_billed, blocked=c.histogram_blocked),
        confusion_matrix=ConfusionMatrix(labels=["billed", "blocked"], matrix=c.confusion),
        thresholds=[ThresholdRow(**vars(row)) for row in c.table],
        feature_importance=scored.importance, importance_kind=scored.importance_kind,
    )
