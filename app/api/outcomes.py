"""After the decision: outcomes of decided orders and analysts' reviews of decisions."""

from __future__ import annotations

from fastapi import APIRouter, status

from app.api.deps import CurrentPrincipal, DecisionsDep, SessionDep
from app.api.resources import OwnedDecision
from app.schemas.common import problem_responses
from app.schemas.outcomes import OutcomeBatch, OutcomeReceipt, ReviewCreate, ReviewRead
from app.services import outcomes as service

router = APIRouter(tags=["decisions"])


@router.post("/v1/outcomes", response_model=OutcomeReceipt, responses=problem_responses(401, 422),
             summary="Record the final fate of decided orders (up to 500)")
async def record_outcomes(body: OutcomeBatch, principal: CurrentPrincipal, session: SessionDep,
                          engine: DecisionsDep) -> OutcomeReceipt:
    """Each item is linked to its order's latest decision and stored before the answer (a
    received outcome survives a crash). An order id never decided is listed in `unmatched` and
    not stored; the rest of the batch is. The same order id and `recorded_at` again stores
    nothing twice (`duplicates`). One invalid item refuses the batch with a 422 naming its index
    and field. Outcomes feed monitoring: live ROC AUC and the confusion matrix per version."""
    return await service.record_outcomes(session, engine.log, principal, body)


@router.post("/v1/decisions/{decision_id}/reviews", status_code=status.HTTP_201_CREATED, response_model=ReviewRead,
             responses=problem_responses(401, 404, 422),
             summary="An analyst confirms or overrides a decision (LGPD art. 20 review)")
async def review_decision(decision: OwnedDecision, body: ReviewCreate, principal: CurrentPrincipal,
                          session: SessionDep) -> ReviewRead:
    """Stored with the decision (its `reviews` in `read_decision`) and audited. `overrides` is
    true when the analyst's decision differs from a bill or block of the model or a rule; a
    decision of another company is a 404."""
    return ReviewRead.model_validate(await service.add_review(session, principal, decision, body))
