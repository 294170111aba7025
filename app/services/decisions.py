"""Real-time decisions: point-in-time features -> XGBoost -> exact TreeSHAP reasons, stored."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db import decisions as decisions_db
from app.db.base import new_id, utcnow
from app.db.decisions import Decision
from app.errors import Conflict, InvalidInput, NotFound
from app.ml.explain import missing_features, reasons
from app.ml.features import FEATURE_NAMES
from app.ml.live import CustomerSnapshot, is_empty, live_features
from app.ml.model import BLOCK
from app.schemas.decisions import DecisionRead, DecisionRequest, ReasonRead
from app.services import audit
from app.services.companies import Principal
from app.services.customer_data import CustomerDataCache, with_context
from app.services.decision_log import DecisionLog, LogRecord
from app.services.model_cache import LoadedModel, ModelCache


@dataclass(frozen=True)
class DecisionEngine:
    """What the decision path keeps in memory: models, customers' stored history, and the log
    that writes decisions to the database off the request path. A decision served from memory
    opens no database session; a cache miss opens a short one (`sessions`)."""

    sessions: async_sessionmaker[AsyncSession]
    models: ModelCache
    customers: CustomerDataCache
    log: DecisionLog


def language(accept_language: str | None) -> str:
    return "pt-BR" if accept_language and accept_language.strip().lower().startswith("pt") else "en"


async def decide(engine: DecisionEngine, principal: Principal, requests: list[DecisionRequest],
                 lang: str) -> list[DecisionRead]:
    """Decide every request (one vectorised prediction per model), store and audit them."""
    now = utcnow().replace(tzinfo=None)
    models = await _models_for(engine, principal, requests)
    stored = await engine.customers.get(engine.sessions, principal.company.id, principal.company.data_version,
                                        sorted({r.order.customer_id for r in requests}))
    rows = [_features(index, request, stored[request.order.customer_id], now) for index, request in
            enumerate(requests)]
    results: list[DecisionRead | None] = [None] * len(requests)
    for model_id in dict.fromkeys(m.model_id for m in models):
        indexes = [i for i, m in enumerate(models) if m.model_id == model_id]
        _predict(models[indexes[0]], [requests[i] for i in indexes], [rows[i] for i in indexes], lang,
                 indexes, results, now)
    await engine.log.write(_records(principal, requests, rows, results, models))
    return results  # type: ignore[return-value]


async def _models_for(engine: DecisionEngine, principal: Principal,
                      requests: list[DecisionRequest]) -> list[LoadedModel]:
    by_version: dict[int | None, LoadedModel] = {}
    out = []
    for request in requests:
        version = request.model_version
        if version not in by_version:
            by_version[version] = await _model(engine, principal, version)
        out.append(by_version[version])
    return out


async def _model(engine: DecisionEngine, principal: Principal, version: int | None) -> LoadedModel:
    if version is None:
        active = principal.company.active_model_id
        if active is None:
            raise Conflict("No model is active yet: upload a training dataset (it trains by itself) or "
                           "activate a version with POST /v1/models/{version}/activate.")
        return await engine.models.get(engine.sessions, active)
    model_id = await engine.models.version_id(engine.sessions, principal.company.id, version)
    if model_id is None:
        raise NotFound(f"Model version {version} was not found.")
    return await engine.models.get(engine.sessions, model_id)


def _features(index: int, request: DecisionRequest, stored: CustomerSnapshot, now: datetime) -> dict:
    order = request.order
    ordered_at = order.ordered_at or now
    data = with_context(stored, request.context, ordered_at.date())
    if is_empty(data):
        raise InvalidInput(
            f"No data for customer {order.customer_id}: upload its history in a dataset, or send "
            "context.customer, context.credit_limit and context.serasa_report with the order.",
            errors=[{"index": index, "field": "order.customer_id",
                     "message": "no stored customer, credit limit, Serasa report or order history"}],
        )
    return live_features(data, ordered_at=ordered_at, amount=order.amount,
                         payment_terms_days=order.payment_terms_days)


def _predict(model: LoadedModel, requests, rows, lang, indexes, results, now) -> None:
    names = model.scoring.feature_names
    X = np.array([[np.nan if row[n] is None else row[n] for n in names] for row in rows], dtype=np.float32)
    proba, contributions = model.scoring.score(X)
    decisions = model.scoring.decide(proba)
    for k, (request, row, decision) in enumerate(zip(requests, rows, decisions, strict=True)):
        why = reasons(row, contributions[k], names, decision, lang)
        results[indexes[k]] = DecisionRead(
            decision_id=new_id(), order_id=request.order.order_id, customer_id=request.order.customer_id,
            decision=decision, probability_block=round(float(proba[k]), 6),
            threshold=model.scoring.threshold, model_version=model.version,
            reasons=[ReasonRead(feature=r.feature, value=r.value, contribution=round(r.contribution, 6),
                                text=r.text) for r in why],
            missing_features=missing_features(row), created_at=now.replace(tzinfo=UTC),
        )


def _records(principal: Principal, requests: list[DecisionRequest], rows: list[dict],
             results: list[DecisionRead], models: list[LoadedModel]) -> list[LogRecord]:
    records = [LogRecord(_decision_values(principal, *parts))
               for parts in zip(requests, rows, results, models, strict=True)]
    records[0].audit = _audit_values(principal, results)
    return records


def _decision_values(principal: Principal, request: DecisionRequest, row: dict, result: DecisionRead,
                     model: LoadedModel) -> dict:
    return {
        "id": result.decision_id, "company_id": principal.company.id, "model_id": model.model_id,
        "model_version": model.version, "customer_id": result.customer_id, "order_id": result.order_id,
        "decision": result.decision, "probability_block": result.probability_block,
        "threshold": result.threshold, "request": request.model_dump(mode="json", exclude_none=True),
        "features": {name: row.get(name) for name in FEATURE_NAMES},
        "reasons": {"reasons": [r.model_dump() for r in result.reasons],
                    "missing_features": result.missing_features},
        "created_at": result.created_at,
    }


def _audit_values(principal: Principal, results: list[DecisionRead]) -> dict:
    """One event per request: the decision, or the batch with its counts."""
    first = results[0]
    if len(results) == 1:
        summary = {"order_id": first.order_id, "customer_id": first.customer_id, "decision": first.decision,
                   "model_version": first.model_version}
        action = "decision.made"
    else:
        summary = {"count": len(results), "blocked": sum(r.decision == BLOCK for r in results),
                   "first_decision_id": first.decision_id}
        action = "decision.batch"
    return audit.event_values(company_id=principal.company.id, action=action, subject_type="decision",
                              subject_id=first.decision_id, summary=summary, actor=principal.jti)


async def get_owned(session: AsyncSession, engine: DecisionEngine, principal: Principal,
                    decision_id: str) -> Decision:
    await engine.log.flush()
    decision = await session.get(Decision, decision_id)
    if decision is None or decision.company_id != principal.company.id:
        raise NotFound(f"Decision {decision_id} was not found.")
    return decision


async def list_owned(session: AsyncSession, engine: DecisionEngine, principal: Principal, *, customer_id,
                     decision, since, until, cursor: str | None, limit: int) -> tuple[list[Decision], str | None]:
    after = _parse_cursor(cursor)
    await engine.log.flush()
    rows = await decisions_db.query_decisions(session, principal.company.id, customer_id=customer_id,
                                              decision=decision, since=since, until=until, after=after,
                                              limit=limit + 1)
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_cursor = f"{int(last.created_at.timestamp() * 1_000_000)}_{last.id}"
    return rows[:limit], next_cursor


def _parse_cursor(cursor: str | None) -> tuple[datetime, str] | None:
    if not cursor:
        return None
    micros, _, last_id = cursor.partition("_")
    if not micros.isdigit() or not last_id:
        raise InvalidInput("cursor must be the next_cursor of a previous page.",
                           errors=[{"field": "cursor", "message": "not a valid cursor"}])
    return datetime.fromtimestamp(int(micros) / 1_000_000, UTC), last_id
