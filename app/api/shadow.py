"""Challenger versions scored in shadow beside every decision."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from app.api.deps import CurrentPrincipal, SessionDep, ShadowDep
from app.api.resources import OwnedModelVersion
from app.schemas.common import problem_responses
from app.schemas.decisions import ShadowVersionRead
from app.services import shadow as service

router = APIRouter(prefix="/v1/models", tags=["models"])


@router.post("/{version}/shadow", response_model=ShadowVersionRead, responses=problem_responses(401, 404, 409, 422),
             summary="Score every decision with this version too, in shadow (a challenger)")
async def shadow_model(model: OwnedModelVersion, principal: CurrentPrincipal, session: SessionDep,
                       scorer: ShadowDep) -> ShadowVersionRead:
    """From the next decisions on, the version scores each decision of the company off the
    request path, from the features stored with it; its probability and verdict are kept beside
    the decision (`shadow` in `read_decision`) and never answered. 409 for the active version;
    the same version again changes nothing."""
    challenger = await service.add_challenger(session, scorer, principal, model)
    return ShadowVersionRead(model_version=model.version, since=challenger.created_at)


@router.delete("/{version}/shadow", status_code=status.HTTP_204_NO_CONTENT, response_class=Response,
               responses=problem_responses(401, 404, 422), summary="Stop scoring decisions with this challenger")
async def unshadow_model(model: OwnedModelVersion, principal: CurrentPrincipal, session: SessionDep,
                         scorer: ShadowDep) -> Response:
    """The scores it made stay with their decisions; removing a version that is not a challenger
    changes nothing (204 either way)."""
    await service.remove_challenger(session, scorer, principal, model)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
