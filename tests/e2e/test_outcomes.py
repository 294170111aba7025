"""Outcomes and analysts' reviews of real decisions, against a model trained through the pipeline."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
import pytest_asyncio
from sqlalchemy import delete, func, select

from app.client import ApiError
from app.db import retraining as retraining_db
from app.db.shadow import ShadowScore
from app.demo import generate
from app.services.retraining import merge
from app.services.shadow import ShadowScorer
from tests.e2e.conftest import frames_of, new_client
from tests.e2e.test_decisions import booster
from tests.e2e.test_training_flow import train_and_wait


@pytest.fixture(scope="module")
def small_frames():
    return frames_of(generate(customers=120, orders=2000, seed=3))


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def trained(app, small_frames):
    """One company with a version trained on a small demo history (module-wide, per backend)."""
    client = await new_client(app)
    status = await train_and_wait(app, client, small_frames)
    assert status["status"] == "trained", status
    yield client
    await client.__aexit__(None, None, None)


def order(frames, n: int, prefix: str = "OUT") -> dict:
    orders = frames["orders"]
    return {"order_id": f"{prefix}-{n}", "customer_id": orders["customer_id"][n], "amount": 1000.0 + n,
            "payment_terms_days": 28}


async def test_outcomes_link_to_the_latest_decision_idempotently_and_are_audited(trained, small_frames):
    first = await trained.decide(order(small_frames, 1))
    latest = await trained.decide(order(small_frames, 1) | {"amount": 5000.0})  # decided again: supersedes
    assert latest["supersedes"] == first["decision_id"]
    other = await trained.decide(order(small_frames, 2))
    items = [{"order_id": "OUT-1", "status": "blocked", "recorded_at": "2026-02-01T10:00:00Z", "days_late": 40,
              "defaulted": True},
             {"order_id": "NEVER-DECIDED", "status": "billed", "recorded_at": "2026-02-01T10:00:00Z"},
             {"order_id": "OUT-2", "status": "billed", "recorded_at": "2026-02-01T10:00:00"}]
    receipt = await trained.request("POST", "/v1/outcomes", json={"items": items})
    assert receipt == {"accepted": 2, "duplicates": 0, "unmatched": [{"index": 1, "order_id": "NEVER-DECIDED"}]}

    detail = await trained.request("GET", f"/v1/decisions/{latest['decision_id']}")
    assert detail["outcome"]["status"] == "blocked" and detail["outcome"]["days_late"] == 40
    assert detail["outcome"]["defaulted"] is True
    assert (await trained.request("GET", f"/v1/decisions/{first['decision_id']}"))["outcome"] is None
    assert (await trained.request("GET", f"/v1/decisions/{other['decision_id']}"))["outcome"]["status"] == "billed"

    # the same batch again (the same instants, one written with an offset): nothing stored twice
    items[2]["recorded_at"] = "2026-02-01T07:00:00-03:00"
    again = await trained.request("POST", "/v1/outcomes", json={"items": items})
    assert again["accepted"] == 2 and again["duplicates"] == 2
    events = await trained.audit_events(action="outcomes.recorded", limit=10)
    summaries = [e["summary"] for e in events["items"]]
    assert {"accepted": 2, "stored": 0, "duplicates": 2, "unmatched": 1}.items() <= summaries[0].items()
    assert {"accepted": 2, "stored": 2, "duplicates": 0, "unmatched": 1}.items() <= summaries[1].items()


async def test_stored_outcomes_count_once(app, trained, small_frames):
    from sqlalchemy import func, select

    from app.db.outcomes import Outcome

    await trained.decide(order(small_frames, 3))
    item = {"order_id": "OUT-3", "status": "billed", "recorded_at": "2026-03-01T00:00:00Z"}
    for _ in range(3):
        await trained.request("POST", "/v1/outcomes", json={"items": [item, item]})
    me = await trained.me()
    async with app.state.runtime.sessions() as session:
        count = await session.scalar(select(func.count()).select_from(Outcome).where(
            Outcome.company_id == me["id"], Outcome.order_id == "OUT-3"))
    assert count == 1


async def test_invalid_outcome_names_its_index_and_field(trained):
    items = [{"order_id": "A", "status": "billed", "recorded_at": "2026-02-01T10:00:00Z"},
             {"order_id": "B\x00", "status": "paid", "recorded_at": 1700000000, "days_late": True}]
    with pytest.raises(ApiError) as info:
        await trained.request("POST", "/v1/outcomes", json={"items": items})
    assert info.value.status_code == 422
    fields = {(e["index"], e["field"]) for e in info.value.body["errors"]}
    assert fields == {(1, "order_id"), (1, "status"), (1, "recorded_at"), (1, "days_late")}
    with pytest.raises(ApiError) as info:
        await trained.request("POST", "/v1/outcomes", json={"items": [items[0]] * 501})
    assert info.value.status_code == 422


async def test_reviews_are_stored_with_the_decision_audited_and_tenant_isolated(app, trained, small_frames):
    made = await trained.decide(order(small_frames, 4))
    other_way = "bill" if made["decision"] == "block" else "block"
    confirm = await trained.request("POST", f"/v1/decisions/{made['decision_id']}/reviews",
                                    json={"decision": made["decision"], "reviewer": "Ana", "note": "confere"})
    override = await trained.request("POST", f"/v1/decisions/{made['decision_id']}/reviews",
                                     json={"decision": other_way, "reviewer": "Bruno", "note": "garantia real"})
    assert confirm["overrides"] is False and override["overrides"] is True
    detail = await trained.request("GET", f"/v1/decisions/{made['decision_id']}")
    assert [r["id"] for r in detail["reviews"]] == [confirm["id"], override["id"]]
    assert detail["reviews"][1] | {"created_at": None} == override | {"created_at": None}
    events = await trained.audit_events(action="decision.reviewed", subject_id=made["decision_id"])
    assert [e["summary"]["overrides"] for e in events["items"]] == [True, False]

    stranger = await new_client(app)
    async with stranger:
        with pytest.raises(ApiError) as info:
            await stranger.request("POST", f"/v1/decisions/{made['decision_id']}/reviews",
                                   json={"decision": "bill", "reviewer": "Eve", "note": "x"})
        assert info.value.status_code == 404
        # another company's order id is "never decided" for this one: nothing stored
        receipt = await stranger.request("POST", "/v1/outcomes", json={"items": [
            {"order_id": "OUT-4", "status": "billed", "recorded_at": "2026-02-01T10:00:00Z"}]})
        assert receipt["accepted"] == 0 and receipt["unmatched"] == [{"index": 0, "order_id": "OUT-4"}]
        assert (await stranger.audit_events(action="decision.reviewed"))["items"] == []
    assert (await trained.request("GET", f"/v1/decisions/{made['decision_id']}"))["outcome"] is None
    with pytest.raises(ApiError) as info:
        await trained.request("POST", f"/v1/decisions/{made['decision_id']}/reviews",
                              json={"decision": "review", "reviewer": "Ana", "note": "x", "extra": 1})
    assert info.value.status_code == 422


async def test_retrain_learns_from_outcomes_without_duplicates(app, trained, small_frames):
    dataset_order = small_frames["orders"].row(5, named=True)
    uploaded = {"order_id": dataset_order["order_id"], "customer_id": dataset_order["customer_id"],
                "amount": dataset_order["amount"], "payment_terms_days": dataset_order["payment_terms_days"],
                "ordered_at": dataset_order["ordered_at"].isoformat()}
    for body in (order(small_frames, 10, "RT"), order(small_frames, 11, "RT"), uploaded):
        await trained.decide(body)
    flipped = "billed" if dataset_order["status"] == "blocked" else "blocked"
    now = datetime.now(UTC).isoformat()
    items = [{"order_id": "RT-10", "status": "blocked", "recorded_at": "2026-01-01T00:00:00Z"},
             {"order_id": "RT-10", "status": "billed", "recorded_at": "2026-01-05T00:00:00Z"},  # later fact
             {"order_id": "RT-11", "status": "blocked", "recorded_at": "2026-01-02T00:00:00Z"},
             {"order_id": dataset_order["order_id"], "status": flipped, "recorded_at": now}]  # after the upload
    assert (await trained.request("POST", "/v1/outcomes", json={"items": items}))["accepted"] == 4

    me = await trained.me()
    async with app.state.runtime.sessions() as session:
        datasets = await retraining_db.training_datasets(session, me["id"])
        rows = await retraining_db.datasets_rows(session, [d for d, _ in datasets])
        outcomes = await retraining_db.decided_outcomes(session, me["id"])
    frames, sources = merge(datasets, rows, outcomes)
    orders = frames["orders"]
    assert orders["order_id"].n_unique() == orders.height  # one fact per order id
    status = dict(zip(orders["order_id"], orders["status"], strict=True))
    assert status["RT-10"] == "billed" and status["RT-11"] == "blocked"
    assert status[dataset_order["order_id"]] == flipped  # the outcome, recorded after the upload, wins
    decided = {o[0] for o in outcomes}
    assert orders.height == small_frames["orders"].height + len(decided - set(small_frames["orders"]["order_id"]))
    # RT-10's earlier outcome and the uploaded fact of the dataset order
    assert sources["duplicates_dropped"]["orders"] == small_frames["orders"].height + len(outcomes) - orders.height == 2
    assert sources["datasets"] == [d for d, _ in datasets] and sources["outcomes"] == len(outcomes)

    job = await trained.request("POST", "/v1/models/retrain")
    await app.state.runtime.jobs.wait_idle()
    finished = await trained.request("GET", f"/v1/training-jobs/{job['id']}")
    assert finished["status"] == "succeeded", finished
    version = await trained.model(finished["model_version"])
    assert version["details"]["sources"] == sources
    counts = version["details"]["counts"]
    assert sum(counts[f"{part}_rows"] for part in ("train", "validation", "holdout")) == orders.height
    events = await trained.audit_events(action="training.queued", limit=1)
    assert events["items"][0]["summary"]["options"]["sources"] == "everything"


async def test_retrain_needs_a_valid_dataset(app):
    fresh = await new_client(app)
    async with fresh:
        with pytest.raises(ApiError) as info:
            await fresh.request("POST", "/v1/models/retrain")
        assert info.value.status_code == 409


async def test_a_challenger_scores_every_decision_in_shadow(app, trained, small_frames):
    versions = [m["version"] for m in await trained.models()]
    active = next(m["version"] for m in await trained.models() if m["active"])
    with pytest.raises(ApiError) as info:
        await trained.request("POST", f"/v1/models/{active}/shadow")
    assert info.value.status_code == 409
    if len(versions) == 1:  # a second version to challenge with (module order may have made one already)
        await trained.request("POST", "/v1/models/retrain")
        await app.state.runtime.jobs.wait_idle()
    await trained.activate(max(m["version"] for m in await trained.models()))
    active = next(m["version"] for m in await trained.models() if m["active"])
    challenger = next(v for v in (m["version"] for m in await trained.models()) if v != active)
    shadowed = await trained.request("POST", f"/v1/models/{challenger}/shadow")
    assert shadowed["model_version"] == challenger
    made = await trained.decide(order(small_frames, 20, "SH"))
    detail = await trained.request("GET", f"/v1/decisions/{made['decision_id']}")
    assert [s["model_version"] for s in detail["shadow"]] == [challenger]
    assert detail["model_version"] == active  # the answer is the active version's
    me = await trained.me()
    model, calibration = await booster(app, challenger, me["id"])
    X = np.array([[np.nan if detail["features"][n] is None else detail["features"][n] for n in model.feature_names]],
                 dtype=np.float32)
    expected = float(calibration(model.predict_proba(X))[0])
    assert detail["shadow"][0]["probability_block"] == pytest.approx(expected, abs=1e-6)
    assert detail["shadow"][0]["decision"] == ("block" if expected >= model.threshold else "bill")

    assert (await trained.send("DELETE", f"/v1/models/{challenger}/shadow")).status_code == 204
    app.state.runtime.shadow.forget(me["id"])
    after = await trained.decide(order(small_frames, 21, "SH"))
    assert (await trained.request("GET", f"/v1/decisions/{after['decision_id']}"))["shadow"] == []
    stranger = await new_client(app)
    async with stranger:
        with pytest.raises(ApiError) as info:
            await stranger.request("POST", f"/v1/models/{challenger}/shadow")
        assert info.value.status_code == 404


async def champion_with_challenger(app, trained) -> tuple[int, int]:
    """The newest version active and the oldest its challenger in shadow (a second version is
    trained first unless module order made one already)."""
    if len(await trained.models()) == 1:
        await trained.request("POST", "/v1/models/retrain")
        await app.state.runtime.jobs.wait_idle()
    versions = [m["version"] for m in await trained.models()]
    champion, challenger = max(versions), min(versions)
    await trained.activate(champion)
    await trained.request("POST", f"/v1/models/{challenger}/shadow")
    return champion, challenger


async def test_challenger_scores_lost_with_a_process_are_caught_up_once(app, trained, small_frames):
    """The decision log hands committed decisions to the scorer, which scores them in its own
    transaction a moment later: a process killed in between left decisions without a challenger
    score. The next process's catch-up scores exactly those, with the challenger's own numbers,
    and a second catch-up (another replica) stores nothing twice."""
    champion, challenger = await champion_with_challenger(app, trained)
    made = [await trained.decide(order(small_frames, 40 + i, "LOST")) for i in range(6)]
    runtime = app.state.runtime
    await runtime.decisions.log.flush()
    ids = [m["decision_id"] for m in made]
    async with runtime.sessions() as session:
        scored = {row.decision_id: row.probability_block for row in await session.scalars(
            select(ShadowScore).where(ShadowScore.decision_id.in_(ids)))}
    assert set(scored) == set(ids)
    async with runtime.transaction() as session:  # as if the process had died before scoring them
        await session.execute(delete(ShadowScore).where(ShadowScore.decision_id.in_(ids[:4])))

    restarted = ShadowScorer(runtime.decisions.models, runtime.sessions)
    assert await restarted.catch_up() == 4
    assert await ShadowScorer(runtime.decisions.models, runtime.sessions).catch_up() == 0
    async with runtime.sessions() as session:
        again = {row.decision_id: row.probability_block for row in await session.scalars(
            select(ShadowScore).where(ShadowScore.decision_id.in_(ids)))}
    assert again == scored
    restarted.committed([{"id": ids[0], "company_id": (await trained.me())["id"], "model_id": "x", "features": {}}])
    await restarted.flush()  # handed over twice (a replayed journal): already scored, skipped
    async with runtime.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(ShadowScore)
                                    .where(ShadowScore.decision_id.in_(ids))) == 6
    assert (await trained.send("DELETE", f"/v1/models/{challenger}/shadow")).status_code == 204


async def test_compare_answers_a_champion_against_its_challenger_from_real_shadow_scores(app, trained,
                                                                                          small_frames):
    champion, challenger = await champion_with_challenger(app, trained)
    since = datetime.now(UTC).isoformat()
    made = [await trained.decide(order(small_frames, 30 + i, "CMP")) for i in range(8)]
    items = [{"order_id": f"CMP-{30 + i}", "status": "blocked" if i % 2 else "billed",
              "recorded_at": "2026-02-01T00:00:00Z"} for i in range(6)]
    assert (await trained.request("POST", "/v1/outcomes", json={"items": items}))["accepted"] == 6
    details = [await trained.request("GET", f"/v1/decisions/{m['decision_id']}") for m in made]
    compared = await trained.request("GET", "/v1/models/compare",
                                     params={"versions": f"{challenger},{champion}", "since": since})
    shadow = compared["shadow"]
    assert (shadow["champion"], shadow["challenger"], shadow["decisions"]) == (champion, challenger, 8)
    theirs = [d["shadow"][0] for d in details]
    assert shadow["disagreement"] == pytest.approx(
        sum(d["decision"] != s["decision"] for d, s in zip(details, theirs, strict=True)) / 8, abs=1e-6)
    assert shadow["block_rate"] == pytest.approx(
        {"champion": sum(d["decision"] == "block" for d in details) / 8,
         "challenger": sum(s["decision"] == "block" for s in theirs) / 8}, abs=1e-6)
    assert shadow["outcomes"] == 6
    blocked = np.array([i % 2 == 1 for i in range(6)])
    for side, scores in (("champion", [d["probability_block"] for d in details[:6]]),
                         ("challenger", [s["probability_block"] for s in theirs[:6]])):
        p = np.array(scores)
        pos, neg = p[blocked], p[~blocked]
        pairs = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
        assert shadow["roc_auc"][side] == pytest.approx(pairs / (len(pos) * len(neg)), abs=1e-6)
    assert sum(map(sum, shadow["confusion"]["champion"]["matrix"])) == 6
    assert (await trained.send("DELETE", f"/v1/models/{challenger}/shadow")).status_code == 204
