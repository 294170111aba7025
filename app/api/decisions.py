"""Real-time decisions: single, batch, read and list."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Response, status

from app.api.deps import CurrentPrincipal, DecisionsDep, Filter, PageParams, SessionDep, Since, Until
from app.api.resources import OwnedDecision
from app.domain.states import BillingDecision
from app.schemas.common import problem_responses
from app.schemas.decisions import (
    DecisionBatchRead,
    DecisionBatchRequest,
    DecisionDetail,
    DecisionPage,
    DecisionRead,
    DecisionRequest,
    ShadowScoreRead,
)
from app.schemas.outcomes import OutcomeRead, ReviewRead
from app.services import decisions as service
from app.services import outcomes
from app.services.decisions import Decision, DecisionFilter
from app.services.outcomes import FollowUps

router = APIRouter(prefix="/v1/decisions", tags=["decisions"])

AcceptLanguage = Annotated[str | None, Header(
    description="pt-BR for reasons in Portuguese; anything else is English (Content-Language says which)",
    examples=["pt-BR"])]
LANGUAGE_HEADERS = {lang: (b"content-language", lang.encode()) for lang in ("en", "pt-BR")}
# Documented on the 201 of both decision routes (generated clients expose response headers).
CREATED_IN_LANGUAGE = {"headers": {"Content-Language": {
    "description": "the language of the reasons: pt-BR when asked for, else en", "required": True,
    "schema": {"type": "string", "enum": ["en", "pt-BR"]}}}}
def REPEATED(model) -> dict:  # noqa: N802 - reads as a constant in the route declarations
    return CREATED_IN_LANGUAGE | {"model": model, "description": "every order repeats a request already decided: "
                                                                 "the stored decisions, nothing stored again"}


DECIDE_DESCRIPTION = (
    "Scores the order with the active model (or `model_version`) on what was known of the customer at "
    "`ordered_at` (default: now): the uploaded history, replaced by any `context` sent with it; a customer never "
    "uploaded needs `context`. Returns `bill` or `block`, `probability_block`, the threshold and the reasons "
    "that weighed most, in English or Portuguese (`Accept-Language: pt-BR`). 409 while no model is active. "
    "With an active credit policy, a rule may decide first (`decided_by: rule`) and `review` sends the order "
    "to an analyst. The same `order_id` with the same request again answers the stored decision (200); with "
    "another request it is decided again and `supersedes` names the earlier decision.")


@router.post("", status_code=status.HTTP_201_CREATED, response_model=DecisionRead,
             responses={201: CREATED_IN_LANGUAGE, 200: REPEATED(DecisionRead), **problem_responses(401, 404, 409, 422)},
             summary="Decide one order: bill or block, with its probability and reasons",
             description=DECIDE_DESCRIPTION)
async def decide(body: DecisionRequest, principal: CurrentPrincipal, engine: DecisionsDep,
                 accept_language: AcceptLanguage = None) -> Response:
    lang = service.language(accept_language)
    answers, repeated = await engine.decide(principal, [body], lang)
    return _created(answers[0], lang, repeated)


@router.post("/batch", status_code=status.HTTP_201_CREATED, response_model=DecisionBatchRead,
             responses={201: CREATED_IN_LANGUAGE, 200: REPEATED(DecisionBatchRead),
                        **problem_responses(401, 404, 409, 422)},
             summary="Decide up to 500 orders in one vectorised prediction",
             description=DECIDE_DESCRIPTION + " The results come in the order of `orders`; one invalid order "
                                              "refuses the batch with a 422 naming its index.")
async def decide_batch(body: DecisionBatchRequest, principal: CurrentPrincipal, engine: DecisionsDep,
                       accept_language: AcceptLanguage = None) -> Response:
    lang = service.language(accept_language)
    answers, repeated = await engine.decide(principal, body.orders, lang)
    return _created(b'{"results":[' + b",".join(answers) + b"]}", lang, repeated)  # = DecisionBatchRead's JSON


def _created(body: bytes, lang: str, repeated: bool = False) -> Response:
    """Each result is serialised once, by pydantic-core, by the engine (which keeps it for
    repeats): FastAPI's re-validation against the response model would only repeat the work.
    Content-Language says which language the reasons are in (English when the one asked for is not
    supported). 200 when every order repeated a request already decided (its stored decision,
    nothing stored)."""
    code = status.HTTP_200_OK if repeated else status.HTTP_201_CREATED
    response = Response(body, status_code=code, media_type="application/json")
    response.raw_headers.append(LANGUAGE_HEADERS[lang])  # encoded once: a headers dict costs ~5 us a response
    return response


def _read(decision: Decision, detail: bool = False, follow_ups: FollowUps | None = None) -> DecisionRead:
    values = dict(
        decision_id=decision.id, order_id=decision.order_id, customer_id=decision.customer_id,
        decision=decision.decision, probability_block=decision.probability_block,
        threshold=decision.threshold, model_version=decision.model_version,
        reasons=decision.reasons["reasons"], missing_features=decision.reasons["missing_features"],
        created_at=decision.created_at,
        **{key: decision.reasons.get(key) for key in ("base_value", "margin", "other_contributions")},
        rules=decision.reasons.get("rules", []), decided_by=decision.decided_by or "model",
        policy_version=decision.policy_version, supersedes=decision.supersedes,
    )
    if detail:
        extra = {} if follow_ups is None else {
            "outcome": None if follow_ups.outcome is None else OutcomeRead.model_validate(follow_ups.outcome),
            "reviews": [ReviewRead.model_validate(r) for r in follow_ups.reviews],
            "shadow": [ShadowScoreRead.model_validate(r) for r in follow_ups.shadow]}
        return DecisionDetail(**values, request=decision.request, features=decision.features, **extra)
    return DecisionRead(**values)


@router.get("/{decision_id}", response_model=DecisionDetail, responses=problem_responses(401, 404, 422),
            summary="Read a decision with its request and features")
async def read_decision(decision: OwnedDecision, session: SessionDep) -> DecisionDetail:
    """The stored decision (for audit or an analyst's review): the result as it was answered, the
    request as sent and the features the model saw; then the order's `outcome` once it arrived,
    the analysts' `reviews` and the challengers' `shadow` scores."""
    return _read(decision, detail=True, follow_ups=await outcomes.follow_ups(session, decision))


@router.get("", response_model=DecisionPage, responses=problem_responses(401, 422),
            summary="List the company's decisions, filtered")
async def list_decisions(
    principal: CurrentPrincipal,
    session: SessionDep,
    engine: DecisionsDep,
    page: PageParams,
    customer_id: Filter = None,
    order_id: Filter = None,
    decision: BillingDecision | None = None,
    since: Since = None,
    until: Until = None,
) -> DecisionPage:
    """Newest first; filter by customer, by order (every decision of an order: the latest names
    the one it supersedes), by decision (`review` lists the orders waiting for an analyst) and by
    time (`since` inclusive, `until` exclusive)."""
    filters = DecisionFilter(customer_id=customer_id, order_id=order_id, decision=decision, since=since, until=until)
    rows, next_cursor = await service.list_page(session, engine, principal, filters, page)
    return DecisionPage(items=[_read(d) for d in rows], next_cursor=next_cursor)
