"""Report pages and curves of a version's hold-out and of an evaluation, on SQLite and PostgreSQL,
against the session's trained companies (tests/e2e/conftest.py `companies`)."""

from __future__ import annotations

import re

import pytest

from app.client import ApiError
from app.schemas.reports import CurvesRead

SECTIONS = ("Summary", "ROC curve", "Precision-recall curve", "Calibration", "Confusion matrix",
            "Score distribution", "Feature importance", "Threshold table")


def assert_self_contained_page(page: str) -> None:
    assert page.startswith("<!DOCTYPE html>")
    for heading in SECTIONS:
        assert f"<h2>{heading}</h2>" in page, heading
    assert page.count("<svg") == 6 and page.count("<path") > 50
    # nothing fetched: no script, stylesheet, image or font from anywhere
    assert not re.search(r"<script|<link|<img|<iframe|\bsrc=|url\((?!#)|@import|href=\"(?!#)", page, re.I)


async def test_version_report_is_one_self_contained_page(companies):
    api = companies[0].api
    response = await api.send("GET", "/v1/models/1/report", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    page = response.text
    assert_self_contained_page(page)
    assert "Model version 1: hold-out report" in page and "mean absolute contribution" in page
    model = await api.model(1)
    assert f"{model['threshold']:.4f}" in page
    # the same bytes again, from the cache; the ETag answers 304 without a body
    etag = response.headers["etag"]
    again = await api.send("GET", "/v1/models/1/report")
    assert again.content == response.content and again.headers["etag"] == etag
    unchanged = await api.send("GET", "/v1/models/1/report", headers={"If-None-Match": etag})
    assert unchanged.status_code == 304 and unchanged.content == b""
    other = await api.send("GET", "/v1/models/2/report")
    assert other.headers["etag"] != etag  # one page per version


async def test_version_curves_agree_with_the_stored_metrics(companies):
    api = companies[0].api
    model = await api.model(1)
    curves = CurvesRead.model_validate(await api.request("GET", "/v1/models/1/curves"))
    metrics = model["metrics"]
    assert curves.sample == "holdout" and curves.evaluation_id is None and curves.model_version == 1
    assert curves.orders == metrics["support"]["total"] == model["details"]["counts"]["holdout_rows"]
    assert curves.roc_auc == pytest.approx(metrics["roc_auc"]) and curves.pr_auc == pytest.approx(metrics["pr_auc"])
    assert curves.confusion_matrix.matrix == metrics["confusion_matrix"]["matrix"]
    assert curves.threshold == model["threshold"]
    assert (curves.roc[0].false_positive_rate, curves.roc[0].true_positive_rate) == (0, 0)
    assert (curves.roc[-1].false_positive_rate, curves.roc[-1].true_positive_rate) == (1, 1)
    assert all(a.threshold > b.threshold for a, b in zip(curves.pr, curves.pr[1:], strict=False))
    assert sum(curves.histograms.billed) == curves.billed and sum(curves.histograms.blocked) == curves.blocked
    assert sum(b.count for b in curves.calibration) == curves.orders
    chosen = [row for row in curves.thresholds if row.threshold == curves.threshold]
    assert len(chosen) == 1 and chosen[0].blocked_caught == pytest.approx(metrics["recall"])
    assert curves.importance_kind == "mean_abs_contribution"
    assert set(curves.feature_importance) == set(model["feature_names"])
    assert curves.feature_importance == metrics["mean_abs_contribution"]


async def test_evaluation_report_and_curves(companies):
    owner = companies[0]
    evaluation_id = owner.evaluation_ids[0]
    evaluation = await owner.api.request("GET", f"/v1/models/1/evaluations/{evaluation_id}")
    assert evaluation["status"] == "succeeded"
    response = await owner.api.send("GET", f"/v1/models/1/evaluations/{evaluation_id}/report")
    assert response.status_code == 200
    assert_self_contained_page(response.text)
    assert f"Evaluation {evaluation_id}" in response.text
    curves = CurvesRead.model_validate(
        await owner.api.request("GET", f"/v1/models/1/evaluations/{evaluation_id}/curves"))
    assert curves.sample == "evaluation" and curves.evaluation_id == evaluation_id
    assert curves.orders == evaluation["metrics"]["support"]["total"]
    assert curves.roc_auc == pytest.approx(evaluation["metrics"]["roc_auc"])
    assert curves.confusion_matrix.matrix == evaluation["metrics"]["confusion_matrix"]["matrix"]
    assert curves.importance_kind == "mean_abs_contribution"


async def test_reports_of_another_company_are_404(companies):
    owner, other = companies
    evaluation_id = owner.evaluation_ids[0]
    probes = {
        "/v1/models/2/report": "Model version 2",  # the owner has a version 2, the other only 1
        "/v1/models/2/curves": "Model version 2",
        f"/v1/models/1/evaluations/{evaluation_id}/report": f"Evaluation {evaluation_id}",
        f"/v1/models/1/evaluations/{evaluation_id}/curves": f"Evaluation {evaluation_id}",
    }
    for path, what in probes.items():
        with pytest.raises(ApiError) as info:
            await other.api.send("GET", path)
        assert info.value.status_code == 404, path
        assert info.value.body["detail"] == f"{what} was not found."
    with pytest.raises(ApiError) as info:
        await owner.api.send("GET", "/v1/models/0/report")
    assert info.value.status_code == 422


async def test_an_evaluation_that_did_not_succeed_has_no_report_yet(app, companies):
    from sqlalchemy import select

    from app.db.model_versions import ModelEvaluation, ModelVersion
    from app.domain.states import JobStatus

    owner = companies[0]
    evaluation = await owner.api.request("GET", f"/v1/models/1/evaluations/{owner.evaluation_ids[0]}")
    async with app.state.runtime.transaction() as session:
        model = await session.scalar(select(ModelVersion).where(
            ModelVersion.dataset_id == owner.dataset_id, ModelVersion.version == 1))
        failed = ModelEvaluation(company_id=model.company_id, model_id=model.id, dataset_id=evaluation["dataset_id"],
                                 status=JobStatus.failed, error="ValueError: made up for this test")
        session.add(failed)
        await session.flush()
        failed_id = failed.id
    for suffix in ("report", "curves"):
        with pytest.raises(ApiError) as info:
            await owner.api.send("GET", f"/v1/models/1/evaluations/{failed_id}/{suffix}")
        assert info.value.status_code == 409
        assert info.value.body["detail"].startswith(f"Evaluation {failed_id} is failed")
