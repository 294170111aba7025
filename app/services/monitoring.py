"""Monitoring of each model version's live traffic (docs/decisions/0011).

Counting happens where decisions are written: the decision log calls `Monitor.observe` in the
transaction that inserts them, which adds per (company, version, day, feature, bin) counts of the
features, of the score and of the decision. A report sums those counts over its days and compares
them with the version's training reference (PSI); live AUC, the confusion matrix and the override
count come from the outcomes and reviews tables, which keep what they need of the decision.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import monitoring as monitoring_db
from app.db.model_versions import ModelVersion
from app.db.monitoring import DECISION, SCORE
from app.db.outcomes import DecisionReview, Outcome
from app.errors import InvalidInput
from app.kit.days import epoch_day, from_epoch_day, monday_of
from app.ml.drift import Bins, bins_from_reference, confusion, psi
from app.ml.metrics import roc_auc
from app.schemas.monitoring import MonitoringBucket, MonitoringReport

DECISION_BINS = {"bill": 0, "block": 1, "review": 2}
DEFAULT_DAYS = 30
MAX_DAYS = 400


@dataclass(frozen=True)
class VersionBins:
    """What monitoring keeps of a version: its bins and reference shares, and its hold-out AUC."""

    model_id: str
    company_id: str
    version: int
    features: dict[str, Bins]
    score: Bins | None
    holdout_auc: float | None


def version_bins(model_id: str, company_id: str, version: int, reference: Mapping[str, Any] | None,
                 metrics: Mapping[str, Any] | None) -> VersionBins:
    features: dict[str, Bins] = {}
    score = None
    if reference:
        for name, entry in reference.get("features", {}).items():
            bins = bins_from_reference(entry.get("quantiles"), float(entry.get("missing") or 0.0))
            if bins is not None:
                features[name] = bins
        score = bins_from_reference((reference.get("score") or {}).get("quantiles"))
    auc = (metrics or {}).get("roc_auc")
    return VersionBins(model_id, company_id, version, features, score, None if auc is None else float(auc))


@dataclass(frozen=True)
class Period:
    since: date
    until: date  # exclusive
    bucket: str

    @property
    def start(self) -> datetime:
        return datetime.combine(self.since, time(), UTC)

    @property
    def end(self) -> datetime:
        return datetime.combine(self.until, time(), UTC)

    def bucket_of(self, day: date) -> date:
        return day - timedelta(days=day.weekday()) if self.bucket == "week" else day


def period(since: datetime | None, until: datetime | None, bucket: str, today: date | None = None) -> Period:
    """Whole UTC days: `since`'s day up to the day of `until` (exclusive; a bound inside a day
    includes that day). Default: the last 30 days including today."""
    today = today or datetime.now(UTC).date()
    try:
        end = today + timedelta(days=1) if until is None else until.astimezone(UTC).date() + timedelta(
            days=0 if until.astimezone(UTC).time() == time() else 1)
        start = end - timedelta(days=DEFAULT_DAYS) if since is None else since.astimezone(UTC).date()
    except OverflowError:
        raise InvalidInput("since and until must be between years 1 and 9999",
                           errors=[{"field": "until", "message": "out of range"}]) from None
    if start >= end:
        raise InvalidInput("since must be before until", errors=[{"field": "since", "message": "not before until"}])
    if (end - start).days > MAX_DAYS:
        raise InvalidInput(f"ask for at most {MAX_DAYS} days at a time",
                           errors=[{"field": "since", "message": f"more than {MAX_DAYS} days before until"}])
    return Period(start, end, bucket)


class Counts:
    """Bin counts of one bucket: feature -> bin -> count."""

    def __init__(self) -> None:
        self.by_feature: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))

    def add(self, feature: str, bin_index: int, count: int) -> None:
        self.by_feature[feature][bin_index] += count


def bucket_stats(start: date, counts: Counts, bins: VersionBins | None, outcomes: Outcomes,
                 overrides: Sequence[bool]) -> MonitoringBucket:
    """The statistics of one bucket (or of the whole period)."""
    decided = counts.by_feature.get(DECISION, {})
    n = sum(decided.values())
    features = bins.features if bins is not None else {}
    feature_psi = {name: psi(b.expected, counts.by_feature.get(name, {})) if n else None
                   for name, b in features.items()}
    score_psi = psi(bins.score.expected, counts.by_feature.get(SCORE, {})) if n and bins and bins.score else None
    live_auc, matrix = None, None
    if len(outcomes):
        blocked = outcomes.blocked
        live_auc = roc_auc(blocked.astype(np.int8), outcomes.probability) if 0 < blocked.sum() < len(blocked) else None
        matrix = confusion(blocked, outcomes.probability, outcomes.threshold)
    return MonitoringBucket(
        start=start, decisions=n, block_rate=decided.get(1, 0) / n if n else None,
        review_rate=decided.get(2, 0) / n if n else None, score_psi=_round(score_psi),
        feature_psi={k: _round(v) for k, v in feature_psi.items()}, outcomes=len(outcomes),
        live_auc=_round(live_auc), confusion=matrix, overrides=sum(overrides) if overrides else None)


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), 6)


def count_decisions(decisions: Sequence[Mapping[str, Any]], bins: VersionBins | None) -> dict[tuple, int]:
    """Per (company, model, day, feature, bin) counts of one version's decisions, vectorised: the
    bins of every column side by side, then one `np.unique` over column x day x bin codes."""
    first = decisions[0]
    company_id, model_id = first["company_id"], first["model_id"]
    days = np.array([_day(d["created_at"]).toordinal() for d in decisions], dtype=np.int64)
    names: list[str] = [DECISION]
    columns = [np.array([DECISION_BINS.get(d["decision"], 2) for d in decisions], dtype=np.int64)]
    if bins is not None:
        if bins.score is not None:
            names.append(SCORE)
            columns.append(bins.score.assign(np.array([d["probability_block"] for d in decisions], dtype=np.float64)))
        features = list(bins.features)
        values = np.array([[row.get(name) for name in features] for row in (d["features"] for d in decisions)],
                          dtype=np.float64).reshape(len(decisions), len(features))
        names += features
        columns += [bins.features[name].assign(values[:, k]) for k, name in enumerate(features)]
    # code = (column * DAYS + day) * 1024 + bin + 1 (bins are -1..<1023; days fit in 2^22)
    assigned = np.stack(columns)
    codes = ((np.arange(len(columns), dtype=np.int64)[:, None] << 22) + days[None, :]) * 1024 + assigned + 1
    unique, n = np.unique(codes, return_counts=True)
    counts: dict[tuple, int] = {}
    for code, count in zip(unique.tolist(), n.tolist(), strict=True):
        column_day, shifted = divmod(code, 1024)
        column, day = divmod(column_day, 1 << 22)
        counts[(company_id, model_id, date.fromordinal(day), names[column], shifted - 1)] = count
    return counts


def _day(moment: datetime | str) -> date:
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return (moment.astimezone(UTC) if moment.tzinfo else moment).date()


class Monitor:
    """Counts decisions as the log writes them and answers monitoring reports; the versions'
    bins are kept in memory (a version's reference never changes)."""

    def __init__(self, capacity: int = 256) -> None:
        self.capacity = capacity
        self._bins: dict[str, VersionBins | None] = {}

    async def bins(self, session: AsyncSession, model_id: str) -> VersionBins | None:
        if model_id not in self._bins:
            row = (await session.execute(
                select(ModelVersion.company_id, ModelVersion.version, ModelVersion.reference, ModelVersion.metrics)
                .where(ModelVersion.id == model_id))).first()
            if len(self._bins) >= self.capacity:
                self._bins.pop(next(iter(self._bins)))
            self._bins[model_id] = None if row is None else version_bins(model_id, *row)
        return self._bins[model_id]

    async def observe(self, session: AsyncSession, decisions: Iterable[Mapping[str, Any]]) -> None:
        """Add the decisions' counts in the caller's transaction (the decision log's)."""
        by_model: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
        for decision in decisions:
            by_model[decision["model_id"]].append(decision)
        counts: dict[tuple, int] = {}
        for model_id, group in by_model.items():
            counts.update(count_decisions(group, await self.bins(session, model_id)))
        await monitoring_db.add_counts(session, counts)

    async def report(self, session: AsyncSession, model: ModelVersion, span: Period,
                     psi_threshold: float) -> MonitoringReport:
        bins = await self.bins(session, model.id)
        buckets: dict[date, Counts] = defaultdict(Counts)
        total = Counts()
        for day, feature, bin_index, count in await monitoring_db.summed_counts(
                session, model.company_id, model.id, span.since, span.until):
            buckets[span.bucket_of(day)].add(feature, bin_index, count)
            total.add(feature, bin_index, count)
        outcomes = await _outcomes(session, model, span)
        reviews = await _reviews(session, model, span)
        starts = sorted(set(buckets) | {from_epoch_day(d) for d in np.unique(outcomes.bucket).tolist()}
                        | set(reviews))
        rows = [bucket_stats(start, buckets.get(start, Counts()), bins, outcomes.of(start),
                             reviews.get(start, [])) for start in starts]
        whole = bucket_stats(span.since, total, bins, outcomes, [r for start in starts for r in reviews.get(start, [])])
        return MonitoringReport(model_version=model.version, since=span.since, until=span.until, bucket=span.bucket,
                                psi_threshold=psi_threshold, holdout_auc=bins.holdout_auc if bins else None,
                                buckets=rows, total=whole)


@dataclass(frozen=True)
class Outcomes:
    """The current outcomes of a period's decisions, as arrays: bucket start (epoch day), blocked,
    calibrated probability and the decision's threshold."""

    bucket: np.ndarray
    blocked: np.ndarray
    probability: np.ndarray
    threshold: np.ndarray

    def of(self, start: date) -> Outcomes:
        mask = self.bucket == epoch_day(start)
        return Outcomes(self.bucket[mask], self.blocked[mask], self.probability[mask], self.threshold[mask])

    def __len__(self) -> int:
        return len(self.bucket)


async def _outcomes(session: AsyncSession, model: ModelVersion, span: Period) -> Outcomes:
    """One range read of plain numbers: no instant parsed, no join (each decision's latest
    outcome is flagged `current` when stored)."""
    query = (select(Outcome.decided_day, Outcome.status, Outcome.probability_block, Outcome.threshold)
             .where(Outcome.company_id == model.company_id, Outcome.model_id == model.id,
                    Outcome.decided_day >= epoch_day(span.since), Outcome.decided_day < epoch_day(span.until),
                    Outcome.current.is_(True)))
    connection = await session.connection()  # Core rows: the ORM's row processing doubled the read
    rows = (await connection.execute(query)).all()
    day, status, probability, threshold = zip(*rows, strict=True) if rows else ((), (), (), ())
    days = np.array(day, dtype=np.int64)
    return Outcomes(monday_of(days) if span.bucket == "week" else days,
                    np.array(status, dtype=object) == "blocked",
                    np.array(probability, dtype=np.float64), np.array(threshold, dtype=np.float64))


async def _reviews(session: AsyncSession, model: ModelVersion, span: Period) -> dict[date, list[bool]]:
    query = (select(DecisionReview.decided_at, DecisionReview.overrides)
             .where(DecisionReview.company_id == model.company_id, DecisionReview.model_id == model.id,
                    DecisionReview.decided_at >= span.start, DecisionReview.decided_at < span.end))
    found: dict[date, list[bool]] = defaultdict(list)
    for decided_at, overrides in await (await session.connection()).execute(query):
        found[span.bucket_of(_day(decided_at))].append(bool(overrides))
    return found
