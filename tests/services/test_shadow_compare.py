"""Champion against challenger in `GET /v1/models/compare`: synthetic versions, decisions written
through the real decision log, shadow scores stored beside them as the shadow scorer stores them,
outcomes through the API - the answer equals a direct computation over what is stored, on SQLite
and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from sqlalchemy import insert

from app.db.datasets import Dataset
from app.db.model_versions import ModelVersion
from app.db.shadow import ShadowScore
from app.domain.states import Purpose
from tests.conftest import register_company
from tests.services.test_monitoring import decide, direct_auc

NOW = datetime.now(UTC)
EARLIER = NOW - timedelta(days=10)


async def make_versions(app, company_id: str, thresholds: tuple[float, ...]) -> list[ModelVersion]:
    async with app.state.runtime.transaction() as session:
        dataset = Dataset(company_id=company_id, name="ref", purpose=Purpose.training)
        session.add(dataset)
        await session.flush()
        models = [ModelVersion(company_id=company_id, version=i + 1, dataset_id=dataset.id,
                               feature_names={"names": ["amount"]}, params={}, threshold=t, booster=b"",
                               metrics={"roc_auc": 0.8}, feature_importance={}, details={}, training_seconds=0.0)
                  for i, t in enumerate(thresholds)]
        session.add_all(models)
        await session.flush()
        return models


def decision_rows(company_id: str, model: ModelVersion, score: np.ndarray, when: list[datetime],
                  prefix: str) -> list[dict]:
    return [{"id": str(uuid.uuid4()), "company_id": company_id, "model_id": model.id, "model_version": model.version,
             "customer_id": "C1", "order_id": f"{prefix}-{i}",
             "decision": "block" if score[i] >= model.threshold else "bill",
             "probability_block": float(score[i]), "threshold": model.threshold, "request": {},
             "features": {"amount": float(i)}, "reasons": {"reasons": [], "missing_features": []},
             "created_at": when[i]} for i in range(len(score))]


async def shadow_scores(app, rows: list[dict], challenger: ModelVersion, score: np.ndarray) -> list[dict]:
    stored = [{"decision_id": r["id"], "model_id": challenger.id, "company_id": r["company_id"],
               "model_version": challenger.version, "probability_block": round(float(p), 6),
               "threshold": challenger.threshold, "decision": "block" if p >= challenger.threshold else "bill",
               "created_at": NOW} for r, p in zip(rows, score, strict=True)]
    async with app.state.runtime.transaction() as session:
        await session.execute(insert(ShadowScore.__table__), stored)
    return stored


def matrix(blocked: np.ndarray, predicted: np.ndarray) -> list[list[int]]:
    return [[int(np.sum(~blocked & ~predicted)), int(np.sum(~blocked & predicted))],
            [int(np.sum(blocked & ~predicted)), int(np.sum(blocked & predicted))]]


async def test_champion_against_challenger_equals_a_direct_computation(app, client):
    rng = np.random.default_rng(21)
    tenant = await register_company(client)
    champion, challenger, unrelated = await make_versions(app, tenant.company_id, (0.5, 0.4, 0.5))
    n = 240
    champion_score = rng.beta(2, 5, n)
    challenger_score = np.clip(champion_score + rng.normal(0, 0.15, n), 0, 1)
    when = [EARLIER if i < 40 else NOW for i in range(n)]  # 40 decisions ten days ago
    rows = decision_rows(tenant.company_id, champion, champion_score, when, "CC")
    await decide(app, rows)
    scores = await shadow_scores(app, rows, challenger, challenger_score)
    # the unrelated version scored only a few of them: the pair chosen is the one with the most
    await shadow_scores(app, rows[:5], unrelated, challenger_score[:5])

    # outcomes for every third decision, related to the champion's score
    with_outcome = np.arange(n) % 3 == 0
    blocked_all = rng.random(n) < champion_score
    items = [{"order_id": rows[i]["order_id"], "status": "blocked" if blocked_all[i] else "billed",
              "recorded_at": "2026-02-01T00:00:00Z"} for i in np.flatnonzero(with_outcome)]
    response = await client.post("/v1/outcomes", json={"items": items}, headers=tenant.headers)
    assert response.status_code == 200 and response.json()["accepted"] == len(items)

    def expected(selected: np.ndarray) -> dict:
        mine = [rows[i] for i in np.flatnonzero(selected)]
        theirs = [scores[i] for i in np.flatnonzero(selected)]
        count = len(mine)
        judged = selected & with_outcome
        blocked = blocked_all[judged]
        champion_p = np.array([r["probability_block"] for r in rows])[judged]
        challenger_p = np.array([s["probability_block"] for s in scores])[judged]
        return {
            "champion": 1, "challenger": 2, "decisions": count,
            "disagreement": pytest.approx(sum(a["decision"] != b["decision"] for a, b in zip(mine, theirs, strict=True))
                                          / count, abs=1e-6),
            "block_rate": {"champion": pytest.approx(sum(a["decision"] == "block" for a in mine) / count, abs=1e-6),
                           "challenger": pytest.approx(sum(b["decision"] == "block" for b in theirs) / count,
                                                       abs=1e-6)},
            "outcomes": int(judged.sum()),
            "roc_auc": {"champion": pytest.approx(direct_auc(blocked, champion_p), abs=1e-6),
                        "challenger": pytest.approx(direct_auc(blocked, challenger_p), abs=1e-6)},
            "confusion": {side: {"labels": ["billed", "blocked"], "rows": "actual", "columns": "predicted",
                                 "matrix": matrix(blocked, p >= t)}
                          for side, p, t in (("champion", champion_p, 0.5), ("challenger", challenger_p, 0.4))},
        }

    everything = (await client.get("/v1/models/compare", params={"versions": "1,2,3"},
                                   headers=tenant.headers)).json()
    assert everything["shadow"] == expected(np.ones(n, dtype=bool))
    assert everything["metrics"]["roc_auc"]["values"] == {"1": 0.8, "2": 0.8, "3": 0.8}  # the rest is unchanged
    # the period filters by the decision's time: the 40 earlier decisions left out
    since = (NOW - timedelta(days=1)).isoformat()
    recent = (await client.get("/v1/models/compare", params={"versions": "2,1", "since": since},
                               headers=tenant.headers)).json()
    assert recent["shadow"] == expected(np.arange(n) >= 40)
    until = (NOW - timedelta(days=1)).isoformat()
    older = (await client.get("/v1/models/compare", params={"versions": "1,2", "until": until},
                              headers=tenant.headers)).json()
    assert older["shadow"] == expected(np.arange(n) < 40)
    # a pair that never met in shadow: null; an empty period: null
    assert (await client.get("/v1/models/compare", params={"versions": "2,3"},
                             headers=tenant.headers)).json()["shadow"] is None
    future = (NOW + timedelta(days=2)).isoformat()
    assert (await client.get("/v1/models/compare", params={"versions": "1,2", "since": future},
                             headers=tenant.headers)).json()["shadow"] is None
    bad = await client.get("/v1/models/compare", params={"versions": "1,2", "since": future, "until": since},
                           headers=tenant.headers)
    assert bad.status_code == 422

    # another company's versions 1 and 2 see nothing of this one's decisions
    stranger = await register_company(client)
    await make_versions(app, stranger.company_id, (0.5, 0.5))
    theirs = (await client.get("/v1/models/compare", params={"versions": "1,2"}, headers=stranger.headers)).json()
    assert theirs["shadow"] is None


async def test_without_outcomes_the_performance_is_null(app, client):
    rng = np.random.default_rng(4)
    tenant = await register_company(client)
    champion, challenger = await make_versions(app, tenant.company_id, (0.5, 0.5))
    score = rng.beta(2, 5, 20)
    rows = decision_rows(tenant.company_id, champion, score, [NOW] * 20, "NO")
    await decide(app, rows)
    await shadow_scores(app, rows, challenger, score)  # the same scores: they always agree
    shadow = (await client.get("/v1/models/compare", params={"versions": "1,2"},
                               headers=tenant.headers)).json()["shadow"]
    assert shadow["decisions"] == 20 and shadow["disagreement"] == 0.0 and shadow["outcomes"] == 0
    assert shadow["block_rate"]["champion"] == shadow["block_rate"]["challenger"]
    assert shadow["roc_auc"] == {"champion": None, "challenger": None}
    assert shadow["confusion"] == {"champion": None, "challenger": None}
