"""What happened after a decision: outcomes of decided orders, and analysts' reviews.

Outcomes are stored in the request's transaction (an acknowledged outcome is committed), each
linked to its order's latest decision; an order never decided is reported back, not stored.
The same (order id, recorded_at) again stores nothing twice - also when two requests carry it at
the same instant: the insert skips what the database already holds (`outcomes_db.insert_new`) and
the receipt counts it among the duplicates."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.db import outcomes as outcomes_db
from app.db import shadow as shadow_db
from app.db.base import new_id, utcnow
from app.db.decisions import Decision
from app.db.outcomes import DecisionReview, Outcome
from app.db.shadow import ShadowScore
from app.domain.principal import Principal
from app.kit.days import epoch_day
from app.schemas.outcomes import OutcomeBatch, OutcomeIn, OutcomeReceipt, ReviewCreate, UnmatchedOutcome
from app.services import audit
from app.services.decision_log import DecisionLog

__all__ = ["DecisionReview", "Outcome"]
REVIEWABLE = ("bill", "block")


async def record_outcomes(session: AsyncSession, log: DecisionLog, principal: Principal, batch: OutcomeBatch,
                          on_recorded: Callable[[str], None] | None = None) -> OutcomeReceipt:
    """Store the batch's outcomes of decided orders (flushed with the request's transaction) and
    one audit event with the counts."""
    await log.flush()  # decisions are written off the request path: every answered one is visible
    company_id = principal.company.id
    latest = await outcomes_db.latest_decisions(session, company_id, [item.order_id for item in batch.items])
    unmatched = [UnmatchedOutcome(index=i, order_id=item.order_id)
                 for i, item in enumerate(batch.items) if item.order_id not in latest]
    matched = {}  # (order id, recorded_at) -> item; a key twice in the batch is one outcome
    for item in batch.items:
        if item.order_id in latest:
            matched.setdefault((item.order_id, _utc(item.recorded_at)), item)
    stored = await outcomes_db.existing_keys(session, company_id, list(matched))
    now = utcnow()
    rows = [_row(company_id, item, latest[item.order_id], now) for key, item in matched.items() if key not in stored]
    if rows:
        await _mark_current(session, rows)
        # idempotent at the database: a row a concurrent batch stored since the lookup is skipped
        inserted = await outcomes_db.insert_new(session, rows)
        rows = [row for row in rows if row["id"] in inserted]
    accepted = len(batch.items) - len(unmatched)
    receipt = OutcomeReceipt(accepted=accepted, duplicates=accepted - len(rows), unmatched=unmatched)
    audit.record(session, company_id=company_id, action="outcomes.recorded", subject_type="outcomes",
                 subject_id=new_id(), actor=principal.jti,
                 summary={"items": len(batch.items), "accepted": accepted, "stored": len(rows),
                          "duplicates": receipt.duplicates, "unmatched": len(unmatched),
                          "blocked": sum(r["status"] == "blocked" for r in rows)})
    if rows and on_recorded is not None:
        on_recorded(company_id)
    return receipt


async def _mark_current(session: AsyncSession, rows: list[dict]) -> None:
    """Each decision counts its latest recorded outcome once: among the new rows and the one
    stored as current, the latest recorded_at stays current (the latest fact wins)."""
    newest: dict[str, dict] = {}
    for row in rows:
        if row["decision_id"] not in newest or row["recorded_at"] > newest[row["decision_id"]]["recorded_at"]:
            newest[row["decision_id"]] = row
    for stored in await outcomes_db.current_outcomes(session, list(newest)):
        if stored.recorded_at >= newest[stored.decision_id]["recorded_at"]:
            del newest[stored.decision_id]  # a later fact is already stored: the new rows are history
        else:
            stored.current = False
    for row in rows:
        row["current"] = newest.get(row["decision_id"]) is row
    await session.flush()


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _row(company_id: str, item: OutcomeIn, decision: Decision, now: datetime) -> dict:
    return {"id": new_id(), "company_id": company_id, "order_id": item.order_id, "decision_id": decision.id,
            "model_id": decision.model_id, "model_version": decision.model_version,
            "probability_block": decision.probability_block, "threshold": decision.threshold,
            "decided_at": decision.created_at, "decided_day": epoch_day(decision.created_at),
            "status": item.status.value, "recorded_at": _utc(item.recorded_at),
            "days_late": item.days_late, "defaulted": item.defaulted, "created_at": now}


async def add_review(session: AsyncSession, principal: Principal, decision: Decision,
                     body: ReviewCreate) -> DecisionReview:
    """An analyst confirms or overrides the decision (audited with it)."""
    review = DecisionReview(
        id=new_id(), company_id=principal.company.id, decision_id=decision.id, model_id=decision.model_id,
        decided_at=decision.created_at, original=decision.decision, decision=body.decision,
        overrides=decision.decision in REVIEWABLE and body.decision != decision.decision,
        reviewer=body.reviewer, note=body.note, created_at=utcnow())
    session.add(review)
    audit.record(session, company_id=principal.company.id, action="decision.reviewed", subject_type="decision",
                 subject_id=decision.id, actor=principal.jti,
                 summary={"review_id": review.id, "order_id": decision.order_id, "original": decision.decision,
                          "decision": body.decision, "overrides": review.overrides})
    await session.flush()
    return review


@dataclass(frozen=True)
class FollowUps:
    outcome: Outcome | None
    reviews: list[DecisionReview]
    shadow: list[ShadowScore]


async def follow_ups(session: AsyncSession, decision: Decision) -> FollowUps:
    """What came after a decision: its outcome (if one arrived), its reviews (oldest first) and
    the challengers' shadow scores."""
    return FollowUps(await outcomes_db.outcome_of(session, decision.id),
                     await outcomes_db.reviews_of(session, decision.id),
                     await shadow_db.scores_of(session, decision.id))
