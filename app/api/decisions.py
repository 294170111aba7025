"""Real-time decisions: single, batch, read and list."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Header, Response, status

from app.api.deps import CurrentPrincipal, DecisionsDep, Filter, PageParams, SessionDep, Since, Until
from app.api.resources import OwnedDecision
from app.schemas.common import Page, problem_responses
from app.schemas.decisions import (
    DecisionBatchRead,
    DecisionBatchRequest,
    DecisionDetail,
    DecisionRead,
    DecisionRequest,
)
from app.services import decisions as service
from app.services.decisions import Decision, DecisionFilter

router = APIRouter(prefix="/v1/decisions", tags=["decisions"])

AcceptLanguage = Annotated[str | None, Header(description="pt-BR for reasons in Portuguese")]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=DecisionRead,
             responses=problem_responses(401, 404, 409, 422),
             summary="Decide one order: bill or block, with its probability and reasons")
async def decide(body: DecisionRequest, principal: CurrentPrincipal, engine: DecisionsDep,
                 accept_language: AcceptLanguage = None) -> Response:
    results = await engine.decide(principal, [body], service.language(accept_language))
    return _created(results[0])


@router.post("/batch", status_code=status.HTTP_201_CREATED, response_model=DecisionBatchRead,
             responses=problem_responses(401, 404, 409, 422),
             summary="Decide up to 500 orders in one vectorised prediction")
async def decide_batch(body: DecisionBatchRequest, principal: CurrentPrincipal, engine: DecisionsDep,
                       accept_language: AcceptLanguage = None) -> Response:
    results = await engine.decide(principal, body.orders, service.language(accept_language))
    return _created(DecisionBatchRead(results=results))


def _created(result: DecisionRead | DecisionBatchRead) -> Response:
    """The result serialised once by pydantic-core: it is built from validated values, so
    FastAPI's re-validation against the response model would only repeat the work."""
    return Response(result.model_dump_json(), status_code=status.HTTP_201_CREATED, media_type="application/json")


def _read(decision: Decision, detail: bool = False) -> DecisionRead:
    values = dict(
        decision_id=decision.id, order_id=decision.order_id, customer_id=decision.customer_id,
        decision=decision.decision, probability_block=decision.probability_block,
        threshold=decision.threshold, model_version=decision.model_version,
        reasons=decision.reasons["reasons"], missing_features=decision.reasons["missing_features"],
        created_at=decision.created_at,
        **{key: decision.reasons.get(key) for key in ("base_value", "margin", "other_contributions")},
    )
    if detail:
        return DecisionDetail(**values, request=decision.request, features=decision.features)
    return DecisionRead(**values)


@router.get("/{decision_id}", response_model=DecisionDetail, responses=problem_responses(401, 404, 422))
async def read_decision(decision: OwnedDecision) -> DecisionDetail:
    return _read(decision, detail=True)


@router.get("", response_model=Page[DecisionRead], responses=problem_responses(401, 422))
async def list_decisions(
    principal: CurrentPrincipal,
    session: SessionDep,
    engine: DecisionsDep,
    page: PageParams,
    customer_id: Filter = None,
    decision: Literal["bill", "block"] | None = None,
    since: Since = None,
    until: Until = None,
) -> Page[DecisionRead]:
    filters = DecisionFilter(customer_id=customer_id, decision=decision, since=since, until=until)
    rows, next_cursor = await service.list_page(session, engine, principal, filters, page)
    return Page(items=[_read(d) for d in rows], next_cursor=next_cursor)
