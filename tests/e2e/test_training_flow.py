"""Upload -> automatic training -> versions, compare, evaluate, retrain; on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from app.client import ApiError
from tests.e2e.conftest import new_client

DONE = ("trained", "failed", "invalid")


async def upload(api, frames, purpose="training") -> str:
    dataset = await api.create_dataset(purpose=purpose)
    await api.upload_frames(dataset["id"], frames)
    return dataset["id"]


async def train_and_wait(app, api, frames) -> dict:
    dataset_id = await upload(api, frames)
    await app.state.runtime.batch_queue.drain()
    await api.wait_for_dataset(dataset_id, DONE + ("valid",), timeout=60)
    await app.state.runtime.jobs.wait_idle()
    return await api.wait_for_dataset(dataset_id, DONE, timeout=120)


async def test_upload_trains_versions_compare_evaluate(app, api, demo_frames, holdout_frames):
    first = await train_and_wait(app, api, demo_frames)
    assert first["status"] == "trained", first
    v1 = await api.model(1)
    metrics = v1["metrics"]
    assert v1["active"] is True
    assert metrics["roc_auc"] > 0.75, metrics  # a broken pipeline (leakage off, shuffled labels) is ~0.5
    assert metrics["confusion_matrix"]["labels"] == ["billed", "blocked"]
    assert sum(map(sum, metrics["confusion_matrix"]["matrix"])) == v1["details"]["counts"]["holdout_rows"]
    assert {"accuracy", "precision", "recall", "f1", "pr_auc", "log_loss", "brier"} <= set(metrics)
    importance = v1["feature_importance"]
    assert set(importance) == set(v1["feature_names"]) and sum(importance.values()) == pytest.approx(1.0)
    assert max(importance, key=importance.get) in v1["feature_names"] and max(importance.values()) > 0.05

    # retrain on the same history: version 2, identical metrics (determinism), version 1 kept
    second = await train_and_wait(app, api, demo_frames)
    assert second["status"] == "trained"
    listed = await api.models()
    assert [m["version"] for m in listed] == [2, 1]
    assert [m["active"] for m in listed] == [True, False]
    assert (await api.model(2))["metrics"] == metrics

    comparison = await api.compare(1, 2)
    assert comparison["metrics"]["roc_auc"]["values"] == {"1": metrics["roc_auc"], "2": metrics["roc_auc"]}
    assert comparison["baseline"] == 1
    assert comparison["metrics"]["roc_auc"]["deltas"] == {"2": 0.0}

    # an evaluation dataset never starts a training, and can test any version
    eval_id = await upload(api, holdout_frames, purpose="evaluation")
    await app.state.runtime.batch_queue.drain()
    evaluation_set = await api.wait_for_dataset(eval_id, ("valid", "invalid"), timeout=60)
    assert evaluation_set["status"] == "valid", evaluation_set["report"]
    result = await api.evaluate(1, eval_id)
    assert result["metrics"]["roc_auc"] > 0.7
    assert result["metrics"]["support"]["total"] == 2000
    assert len(await api.training_jobs()) == 2

    activated = await api.activate(1)
    assert activated["active"] is True
    assert [m["active"] for m in await api.models()] == [False, True]

    actions = {e["action"] for e in (await api.audit_events(limit=500))["items"]}
    assert {"training.queued", "training.started", "training.succeeded", "model.activated",
            "model.evaluated"} <= actions


async def test_models_of_another_company_are_404(app, api, demo_frames):
    trained = await train_and_wait(app, api, demo_frames)
    assert trained["status"] == "trained"
    other = await new_client(app)
    async with other:
        for call in (other.model(1), other.activate(1), other.compare(1, 2), other.evaluate(1, trained["id"])):
            with pytest.raises(ApiError) as info:
                await call
            assert info.value.status_code == 404
        assert await other.models() == []
        with pytest.raises(ApiError) as info:
            await other.train(trained["id"])
        assert info.value.status_code == 404
    # and the owner's own evaluation of another company's dataset id is 404 too
    assert (await api.model(1))["version"] == 1


async def test_too_small_dataset_fails_training_with_reason(app, api):
    """Valid (the suite asks 5 orders of each outcome), but too small to split for training."""
    from tests.factories import small_history

    history = small_history(orders_per_outcome=6)
    dataset = await api.create_dataset()
    for path, items in history.items():
        await api.request("POST", f"/v1/datasets/{dataset['id']}/{path}",
                          json={"batch_id": f"{path}-0", "items": items, "final": True})
    await app.state.runtime.batch_queue.drain()
    await app.state.runtime.jobs.wait_idle()
    result = await api.wait_for_dataset(dataset["id"], DONE, timeout=60)
    assert result["status"] == "failed", result
    job = (await api.training_jobs())[0]
    assert job["status"] == "failed"
    assert job["error"].startswith("TrainingError: too few labelled orders: the train split has"), job["error"]
