"""Credit policies: create versions, read them, activate one, and backtest before activating."""

from __future__ import annotations

from fastapi import APIRouter, status

from app.api.deps import ComputeDep, CurrentPrincipal, DecisionsDep, PageParams, SessionDep, SettingsDep
from app.api.resources import OwnedPolicy
from app.schemas.common import problem_responses
from app.schemas.policies import PolicyCreate, PolicyPage, PolicyRead, SimulationRead, SimulationRequest
from app.services import policies as service
from app.services import simulation
from app.services.policies import Policy

router = APIRouter(prefix="/v1/policies", tags=["policies"])


async def _read(session: SessionDep, principal: CurrentPrincipal, policy: Policy,
                threshold: float | None = None, model_version: int | None = None) -> PolicyRead:
    if threshold is None:
        threshold, model_version = await service.threshold_for_active_model(session, principal.company.id,
                                                                            service.body_of(policy))
    return PolicyRead(**service.read_values(policy, principal.company.active_policy_id, threshold, model_version))


@router.post("", status_code=status.HTTP_201_CREATED, response_model=PolicyRead,
             responses=problem_responses(401, 422), summary="Create a credit policy version")
async def create_policy(body: PolicyCreate, principal: CurrentPrincipal, session: SessionDep) -> PolicyRead:
    """Rules decided before the model (block, bill or send to review), an operating point that
    chooses the model's threshold, and a review band around it. Validated whole: every error names
    the rule index and the field. A new version is not active until activated."""
    return await _read(session, principal, await service.create(session, principal, body))


@router.get("", response_model=PolicyPage, responses=problem_responses(401, 422),
            summary="List the company's credit policy versions")
async def list_policies(principal: CurrentPrincipal, session: SessionDep, page: PageParams) -> PolicyPage:
    """Newest version first, each with its rules, operating point, review band and whether it is
    the active one (thresholds are shown when reading one version)."""
    rows, next_cursor = await service.list_page(session, principal, page)
    items = [PolicyRead(**service.read_values(p, principal.company.active_policy_id, None, None)) for p in rows]
    return PolicyPage(items=items, next_cursor=next_cursor)


@router.post("/simulate", response_model=SimulationRead, responses=problem_responses(401, 404, 409, 422),
             summary="Backtest a policy on labelled orders without storing decisions")
async def simulate_policy(body: SimulationRequest, principal: CurrentPrincipal, session: SessionDep,
                          compute: ComputeDep, settings: SettingsDep, engine: DecisionsDep) -> SimulationRead:
    """What a policy (inline or a stored version) would have decided with a model (default the
    active one) on a dataset's labelled orders (default the model's hold-out): counts, a confusion
    against the recorded statuses, the cost, rule hits and the threshold - and the same figures for
    the active policy (or the model alone), to compare before activating."""
    return await simulation.simulate(session, compute, settings, engine.models, principal, body)


@router.post("/deactivate", status_code=status.HTTP_204_NO_CONTENT, responses=problem_responses(401),
             summary="Decide with the model's own threshold again")
async def deactivate_policy(principal: CurrentPrincipal, session: SessionDep) -> None:
    """No credit policy is active afterwards: decisions are the model's probability against the
    threshold chosen at training (max F1), without rules or review band."""
    await service.deactivate(session, principal)


@router.get("/{version:int}", response_model=PolicyRead, responses=problem_responses(401, 404, 422),
            summary="Read a credit policy version, with its threshold on the active model")
async def read_policy(policy: OwnedPolicy, principal: CurrentPrincipal, session: SessionDep) -> PolicyRead:
    """The policy as stored, and the threshold its operating point gives on the company's active
    model version (null without an active model or when it cannot be computed)."""
    return await _read(session, principal, policy)


@router.post("/{version:int}/activate", response_model=PolicyRead, responses=problem_responses(401, 404, 409, 422),
             summary="Make a policy version the one decisions use")
async def activate_policy(policy: OwnedPolicy, principal: CurrentPrincipal, session: SessionDep) -> PolicyRead:
    """Refused (409) when its threshold does not fit the active model's validation scores (every
    order would get the same verdict, or the review band would hold them all). Every replica uses
    it on its next request."""
    policy, threshold = await service.activate(session, principal, policy)
    read = await _read(session, principal, policy, threshold, None)
    return read.model_copy(update={"active": True, "model_version": (await service.active_model(
        session, principal.company.id)).version if threshold is not None else None})
