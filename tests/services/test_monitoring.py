"""Monitoring and alerts on a version with a known training reference, fed with synthetic
decisions through the real decision log (counts are added where decisions are written) and
outcomes through the API - on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import numpy as np
import pytest

from app.db.datasets import Dataset
from app.db.model_versions import ModelVersion
from app.domain.states import Purpose
from app.ml.drift import bins_from_reference, psi
from app.ml.reference import percentiles
from app.services.decision_log import LogRecord
from tests.conftest import register_company

FEATURES = ("amount", "payment_terms_days")
HOLDOUT_AUC = 0.9


def reference(rng: np.random.Generator) -> dict:
    amount = rng.normal(0, 1, 10_000)
    terms = np.where(rng.random(10_000) < 0.1, np.nan, rng.integers(0, 60, 10_000).astype(float))
    return {"features": {"amount": {"quantiles": percentiles(amount), "missing": 0.0, "n": 10_000},
                         "payment_terms_days": {"quantiles": percentiles(terms), "missing": 0.1, "n": 10_000}},
            "score": {"quantiles": percentiles(rng.beta(2, 5, 10_000)), "n": 10_000}}


async def make_version(app, company_id: str, ref: dict) -> ModelVersion:
    async with app.state.runtime.transaction() as session:
        dataset = Dataset(company_id=company_id, name="ref", purpose=Purpose.training)
        session.add(dataset)
        await session.flush()
        model = ModelVersion(company_id=company_id, version=1, dataset_id=dataset.id, feature_names={"names": FEATURES},
                             params={}, threshold=0.5, booster=b"", metrics={"roc_auc": HOLDOUT_AUC},
                             feature_importance={}, details={}, training_seconds=0.0, reference=ref)
        session.add(model)
        await session.flush()
        return model


def decisions(company_id: str, model: ModelVersion, rng: np.random.Generator, n: int, shift: float) -> list[dict]:
    amount = rng.normal(shift, 1, n)
    terms = np.where(rng.random(n) < 0.1, np.nan, rng.integers(0, 60, n).astype(float))
    score = rng.beta(2, 5, n)
    now = datetime.now(UTC)
    return [{"id": str(uuid.uuid4()), "company_id": company_id, "model_id": model.id, "model_version": 1,
             "customer_id": "C1", "order_id": f"M-{i}", "decision": "block" if score[i] >= 0.5 else "bill",
             "probability_block": float(score[i]), "threshold": 0.5, "request": {},
             "features": {"amount": float(amount[i]),
                          "payment_terms_days": None if np.isnan(terms[i]) else float(terms[i])},
             "reasons": {"reasons": [], "missing_features": []}, "created_at": now} for i in range(n)]


async def decide(app, rows: list[dict]) -> None:
    log = app.state.runtime.decisions.log
    await log.write([LogRecord(row) for row in rows])
    await log.flush()


def direct_auc(blocked: np.ndarray, score: np.ndarray) -> float:
    """Mann-Whitney by pairs: P(a blocked order scores above a billed one), ties count half."""
    pos, neg = score[blocked], score[~blocked]
    greater = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    return float(greater / (len(pos) * len(neg)))


async def test_psi_counts_and_drift_alerts(app, client):
    rng = np.random.default_rng(5)
    ref = reference(rng)
    steady, drifting = await register_company(client), await register_company(client)
    models = {t.company_id: await make_version(app, t.company_id, ref) for t in (steady, drifting)}
    rows = {steady.company_id: decisions(steady.company_id, models[steady.company_id], rng, 400, 0.0),
            drifting.company_id: decisions(drifting.company_id, models[drifting.company_id], rng, 400, 1.5)}
    for company_rows in rows.values():
        await decide(app, company_rows[:250])
        await decide(app, company_rows[250:] + company_rows[:10])  # a replayed decision is counted once

    report = (await client.get("/v1/models/1/monitoring", headers=drifting.headers)).json()
    total = report["total"]
    assert total["decisions"] == 400 and len(report["buckets"]) == 1
    # the PSI of the report is the hand computation over the stored decisions' values
    amount_bins = bins_from_reference(ref["features"]["amount"]["quantiles"])
    assigned = amount_bins.assign(np.array([r["features"]["amount"] for r in rows[drifting.company_id]]))
    counts = dict(zip(*np.unique(assigned, return_counts=True), strict=True))
    assert total["feature_psi"]["amount"] == pytest.approx(psi(amount_bins.expected, counts), abs=1e-6)
    assert total["feature_psi"]["amount"] > 0.25
    blocked = sum(r["decision"] == "block" for r in rows[drifting.company_id])
    assert total["block_rate"] == pytest.approx(blocked / 400)
    assert total["live_auc"] is None and total["confusion"] is None and total["overrides"] is None
    steady_total = (await client.get("/v1/models/1/monitoring", headers=steady.headers)).json()["total"]
    assert max(steady_total["feature_psi"].values()) < 0.1 and steady_total["score_psi"] < 0.1

    watcher = app.state.runtime.alerts
    raised = await watcher.evaluate_all()
    mine = [a for a in raised if a.company_id == drifting.company_id]
    assert [(a.kind, a.feature) for a in mine] == [("drift", "amount")]
    assert not [a for a in raised if a.company_id == steady.company_id]
    assert not [a for a in await watcher.evaluate_all() if a.company_id == drifting.company_id]  # not twice

    listed = (await client.get("/v1/alerts", headers=drifting.headers, params={"limit": 1})).json()
    assert [(a["kind"], a["feature"], a["model_version"]) for a in listed["items"]] == [("drift", "amount", 1)]
    assert listed["items"][0]["value"] == pytest.approx(total["feature_psi"]["amount"], abs=1e-6)
    assert listed["items"][0]["threshold"] == 0.25 and listed["next_cursor"] is None
    assert (await client.get("/v1/alerts", headers=steady.headers)).json()["items"] == []
    events = (await client.get("/v1/audit-events", headers=drifting.headers,
                               params={"action": "alert.raised"})).json()["items"]
    assert len(events) == 1 and events[0]["summary"]["feature"] == "amount"
    metrics = (await client.get("/metrics")).text
    assert 'creditgate_open_alerts{kind="drift"}' in metrics
    # another company's version number answers 404, not its report
    other = await register_company(client)
    assert (await client.get("/v1/models/1/monitoring", headers=other.headers)).status_code == 404


async def test_live_auc_confusion_overrides_and_performance_alert(app, client):
    rng = np.random.default_rng(9)
    tenant = await register_company(client)
    model = await make_version(app, tenant.company_id, reference(rng))
    rows = decisions(tenant.company_id, model, rng, 300, 0.0)
    await decide(app, rows)
    # outcomes barely related to the score: a live AUC far below the hold-out's 0.9
    score = np.array([r["probability_block"] for r in rows])
    blocked = rng.random(300) < np.clip(score * 0.6 + 0.1, 0, 1)
    items = [{"order_id": r["order_id"], "status": "blocked" if b else "billed",
              "recorded_at": "2026-02-01T00:00:00Z"} for r, b in zip(rows, blocked, strict=True)]
    for start in (0, 150):
        response = await client.post("/v1/outcomes", json={"items": items[start:start + 150]}, headers=tenant.headers)
        assert response.json()["accepted"] == 150
    # a later fact about one order replaces the first in the statistics
    blocked[0] = not blocked[0]
    later = items[0] | {"status": "blocked" if blocked[0] else "billed", "recorded_at": "2026-03-01T00:00:00Z"}
    await client.post("/v1/outcomes", json={"items": [later]}, headers=tenant.headers)
    review = {"decision": "bill" if rows[1]["decision"] == "block" else "block", "reviewer": "Ana", "note": "x"}
    assert (await client.post(f"/v1/decisions/{rows[1]['id']}/reviews", json=review,
                              headers=tenant.headers)).status_code == 201

    report = (await client.get("/v1/models/1/monitoring", headers=tenant.headers, params={"bucket": "week"})).json()
    total = report["total"]
    assert total["outcomes"] == 300 and total["overrides"] == 1
    assert total["live_auc"] == pytest.approx(direct_auc(blocked, score), abs=1e-6)
    predicted = score >= 0.5
    assert total["confusion"]["matrix"] == [[int((~blocked & ~predicted).sum()), int((~blocked & predicted).sum())],
                                            [int((blocked & ~predicted).sum()), int((blocked & predicted).sum())]]
    assert date.fromisoformat(report["buckets"][0]["start"]).weekday() == 0  # weeks start on Monday
    assert len(report["buckets"]) == 1 and report["holdout_auc"] == HOLDOUT_AUC

    raised = [a for a in await app.state.runtime.alerts.evaluate_all() if a.company_id == tenant.company_id]
    assert [(a.kind, a.feature) for a in raised] == [("performance", None)]
    assert raised[0].value == pytest.approx(total["live_auc"], abs=1e-6)
    assert raised[0].threshold == pytest.approx(HOLDOUT_AUC - 0.05)


async def test_monitoring_period_is_validated(app, client):
    tenant = await register_company(client)
    await make_version(app, tenant.company_id, reference(np.random.default_rng(1)))
    params = {"since": "2026-02-01T00:00:00Z", "until": "2026-01-01T00:00:00Z"}
    assert (await client.get("/v1/models/1/monitoring", headers=tenant.headers, params=params)).status_code == 422
    assert (await client.get("/v1/models/1/monitoring", headers=tenant.headers,
                             params={"bucket": "month"})).status_code == 422
    empty = (await client.get("/v1/models/1/monitoring", headers=tenant.headers)).json()
    assert empty["buckets"] == [] and empty["total"]["decisions"] == 0 and empty["total"]["score_psi"] is None
