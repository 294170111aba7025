"""Report pages (HTML) and curves (JSON) of a model version's hold-out and of its evaluations."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Response
from fastapi.responses import HTMLResponse

from app.api.deps import ReportsDep, SessionDep
from app.api.resources import OwnedEvaluation, OwnedModelVersion
from app.schemas.common import problem_responses
from app.schemas.reports import CurvesRead
from app.services import reports as service
from app.services.reports import Rendered

router = APIRouter(prefix="/v1/models", tags=["models"])

IfNoneMatch = Annotated[str | None, Header(description="the ETag of a page already held: 304 if it is still the "
                                                       "page", examples=['"3f2a9c0d5e6b7a8f9e0d1c2b3a4f5e6d"'])]
PAGE = {200: {"content": {"text/html": {}}, "description": "the report page: one HTML document, inline SVG and CSS",
              "headers": {"ETag": {"description": "the page's tag, for If-None-Match", "schema": {"type": "string"}}}},
        304: {"description": "the page held (If-None-Match) is still the page"}}
PAGE_ERRORS = problem_responses(401, 404, 409, 422)


def _page(rendered: Rendered, if_none_match: str | None) -> Response:
    headers = {"ETag": rendered.etag, "Cache-Control": "private, no-cache"}
    if if_none_match is not None and rendered.etag in [tag.strip() for tag in if_none_match.split(",")]:
        return Response(status_code=304, headers=headers)
    return HTMLResponse(rendered.body, headers=headers)


@router.get("/{version}/report", response_class=HTMLResponse, responses=PAGE | PAGE_ERRORS,
            summary="A version's report page: curves, calibration, confusion matrix, importance, thresholds")
async def model_report(model: OwnedModelVersion, session: SessionDep, reports: ReportsDep,
                       if_none_match: IfNoneMatch = None) -> Response:
    """One self-contained HTML page (inline SVG charts and CSS, nothing fetched) drawn from the
    version's hold-out orders: ROC and precision-recall curves, calibration, the confusion matrix
    at the version's threshold, the score distribution of billed and blocked orders, feature
    importance (mean absolute contribution) and a threshold table. 409 for a version trained
    before versions kept their scored hold-out. `model_curves` has the same numbers as JSON."""
    return _page(await reports.version_page(session, model), if_none_match)


@router.get("/{version}/curves", response_model=CurvesRead, responses=problem_responses(401, 404, 409, 422),
            summary="A version's curves on its hold-out, as JSON")
async def model_curves(model: OwnedModelVersion, session: SessionDep) -> CurvesRead:
    """The numbers of the report page for programs: ROC and precision-recall points, calibration
    bins, score histograms of billed and blocked orders, the confusion matrix, the threshold table,
    the areas and the feature importance."""
    return await service.version_curves(session, model)


@router.get("/{version}/evaluations/{evaluation_id}/report", response_class=HTMLResponse,
            responses=PAGE | PAGE_ERRORS, summary="An evaluation's report page (the version on the evaluated orders)")
async def evaluation_report(model: OwnedModelVersion, evaluation: OwnedEvaluation, session: SessionDep,
                            reports: ReportsDep, if_none_match: IfNoneMatch = None) -> Response:
    """The report page of `model_report`, drawn from the orders of the evaluation dataset as the
    version scored them. 409 until the evaluation succeeded, and for evaluations run before they
    kept their scored orders (evaluate again)."""
    return _page(await reports.evaluation_page(session, model, evaluation), if_none_match)


@router.get("/{version}/evaluations/{evaluation_id}/curves", response_model=CurvesRead,
            responses=problem_responses(401, 404, 409, 422), summary="An evaluation's curves, as JSON")
async def evaluation_curves(model: OwnedModelVersion, evaluation: OwnedEvaluation, session: SessionDep) -> CurvesRead:
    """The numbers of `evaluation_report` for programs, in the shape of `model_curves`; 409 until
    the evaluation succeeded."""
    return await service.evaluation_curves(session, model, evaluation)
