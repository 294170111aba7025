"""`retrain_on_alert`: a company that turned it on gets one retraining queued (and audited) when a
drift alert is raised; one that did not gets none - on SQLite and PostgreSQL, with synthetic
versions and decisions written through the real decision log (no training needed to raise)."""

from __future__ import annotations

import numpy as np

from app.db.datasets import Dataset
from app.db.model_versions import ModelVersion
from app.db.training_jobs import TrainingJob
from app.domain.states import DatasetStatus, JobStatus, Purpose
from tests.conftest import register_company
from tests.services.test_monitoring import FEATURES, decide, decisions, reference


async def make_version(app, company_id: str, ref: dict, status: DatasetStatus = DatasetStatus.valid) -> ModelVersion:
    async with app.state.runtime.transaction() as session:
        dataset = Dataset(company_id=company_id, name="ref", purpose=Purpose.training, status=status)
        session.add(dataset)
        await session.flush()
        model = ModelVersion(company_id=company_id, version=1, dataset_id=dataset.id, feature_names={"names": FEATURES},
                             params={}, threshold=0.5, booster=b"", metrics={"roc_auc": 0.9},
                             feature_importance={}, details={}, training_seconds=0.0, reference=ref)
        session.add(model)
        await session.flush()
        return model


async def test_a_drift_alert_queues_a_retraining_only_where_the_setting_is_on(app, client):
    rng = np.random.default_rng(17)
    ref = reference(rng)
    on, off = await register_company(client), await register_company(client)
    assert (await client.get("/v1/companies/me", headers=on.headers)).json()["retrain_on_alert"] is False  # default
    for refused in ({}, {"retrain_on_alert": None}, {"retrain_on_alert": 1}, {"retrain_on_alert": True, "x": 1}):
        response = await client.patch("/v1/companies/me", json=refused, headers=on.headers)
        assert response.status_code == 422, refused
        assert response.headers["content-type"].startswith("application/problem+json")
    changed = await client.patch("/v1/companies/me", json={"retrain_on_alert": True}, headers=on.headers)
    assert changed.status_code == 200 and changed.json()["retrain_on_alert"] is True
    me = (await client.get("/v1/companies/me", headers=on.headers)).json()  # the cached state was forgotten
    assert me["retrain_on_alert"] is True and me["auto_activate_models"] is True  # the other setting kept
    settings_events = (await client.get("/v1/audit-events", headers=on.headers,
                                        params={"action": "company.settings_changed"})).json()["items"]
    assert [e["summary"] for e in settings_events] == [{"retrain_on_alert": True}]

    for tenant in (on, off):
        model = await make_version(app, tenant.company_id, ref)
        await decide(app, decisions(tenant.company_id, model, rng, 400, 1.5))  # a shifted population

    raised = await app.state.runtime.alerts.evaluate_all()
    mine = {t.company_id: [a for a in raised if a.company_id == t.company_id] for t in (on, off)}
    assert mine[on.company_id] and mine[off.company_id]  # both drifted

    jobs = (await client.get("/v1/training-jobs", headers=on.headers)).json()["items"]
    assert len(jobs) == 1
    events = (await client.get("/v1/audit-events", headers=on.headers,
                               params={"action": "training.retrain_on_alert"})).json()["items"]
    assert len(events) == 1
    assert events[0]["summary"] == {"alert_ids": [a.id for a in mine[on.company_id]], "outcome": "queued",
                                    "job_id": jobs[0]["id"]}
    queued = (await client.get("/v1/audit-events", headers=on.headers,
                               params={"action": "training.queued"})).json()["items"]
    assert queued[0]["summary"]["alert_ids"] == [a.id for a in mine[on.company_id]]
    assert queued[0]["summary"]["options"]["sources"] == "everything"  # POST /v1/models/retrain's job
    assert queued[0]["actor"] == "system"

    assert (await client.get("/v1/training-jobs", headers=off.headers)).json()["items"] == []
    assert (await client.get("/v1/audit-events", headers=off.headers,
                             params={"action": "training.retrain_on_alert"})).json()["items"] == []
    await app.state.runtime.jobs.wait_idle()  # the job runs (and fails: the dataset has no rows)


async def test_one_retraining_at_a_time_and_none_without_a_dataset(app, client):
    training = app.state.runtime.training
    rng = np.random.default_rng(3)
    tenant, empty = await register_company(client), await register_company(client)
    await make_version(app, tenant.company_id, reference(rng))
    await make_version(app, empty.company_id, reference(rng), status=DatasetStatus.receiving)
    async with app.state.runtime.transaction() as session:
        first = await training.retrain_for_alert(session, tenant.company_id, ["a1"])
        again = await training.retrain_for_alert(session, tenant.company_id, ["a2"])  # still unfinished
        nothing = await training.retrain_for_alert(session, empty.company_id, ["a3"])
        assert first["outcome"] == "queued" and again == {"alert_ids": ["a2"], "outcome": "already_queued",
                                                          "job_id": first["job_id"]}
        assert nothing == {"alert_ids": ["a3"], "outcome": "skipped: no valid training dataset", "job_id": None}
        job = await session.get(TrainingJob, first["job_id"])
        assert job.status == JobStatus.queued
        job.status, job.active_dataset_id = JobStatus.failed, None  # finished before it ran: nothing submitted runs
    async with app.state.runtime.transaction() as session:
        limit = app.state.runtime.settings.max_unfinished_jobs_per_company
        for _ in range(limit):
            session.add(TrainingJob(company_id=tenant.company_id, dataset_id=job.dataset_id,
                                    status=JobStatus.running, options={}))
        await session.flush()
        full = await training.retrain_for_alert(session, tenant.company_id, ["a4"])
        assert full["outcome"] == "skipped: too many unfinished trainings" and full["job_id"] is None
        await session.rollback()
    await app.state.runtime.jobs.wait_idle()
