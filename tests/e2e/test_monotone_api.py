"""Through the API: a customer's order never gets a lower probability of block for a larger amount,
more PEFIN records or a lower Serasa score; and a training request may turn the constraints off."""

from __future__ import annotations

import asyncio
from datetime import date, datetime

import polars as pl
import pytest
import pytest_asyncio

from app.client import ApiError, CreditGateClient
from app.ml import monotone
from app.ml.features import FEATURE_NAMES
from tests.e2e.conftest import new_client
from tests.e2e.test_training_flow import DONE, train_and_wait, upload

CUSTOMERS = 12


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def trained(app, demo_frames):
    client = await new_client(app)
    status = await train_and_wait(app, client, demo_frames)
    assert status["status"] == "trained"
    yield client
    await client.__aexit__(None, None, None)


def _customers(demo_frames) -> list[str]:
    return demo_frames["orders"]["customer_id"].unique(maintain_order=True).head(CUSTOMERS).to_list()


def _latest_report(demo_frames, customer_id: str) -> dict:
    reports = demo_frames["serasa_reports"].filter(pl.col("customer_id") == customer_id).sort("queried_at")
    row = reports.row(reports.height - 1, named=True)
    item = {k: (v.isoformat() if isinstance(v, date | datetime) else v) for k, v in row.items() if v is not None}
    item.pop("customer_id")
    return item


def _order(customer_id: str, n: int, amount: float = 20_000.0) -> dict:
    return {"order_id": f"M-{customer_id}-{n}", "customer_id": customer_id, "amount": amount,
            "payment_terms_days": 28, "ordered_at": "2030-01-02T12:00:00"}


async def _probabilities(client: CreditGateClient, requests: list[dict]) -> list[float]:
    results = (await client.decide_batch(requests))["results"]
    return [r["probability_block"] for r in results]


def _never_decreasing(values: list[float]) -> bool:
    return all(b >= a for a, b in zip(values, values[1:], strict=False))


async def test_a_larger_amount_never_lowers_the_probability(trained, demo_frames):
    amounts = [50.0, 500.0, 2_000.0, 8_000.0, 20_000.0, 60_000.0, 150_000.0, 250_000.0, 1_000_000.0, 1e8]
    for customer in _customers(demo_frames):
        requests = [{"order": _order(customer, n, amount)} for n, amount in enumerate(amounts)]
        probabilities = await _probabilities(trained, requests)
        assert _never_decreasing(probabilities), (customer, probabilities)


async def test_more_pefin_records_never_lower_the_probability(trained, demo_frames):
    for customer in _customers(demo_frames):
        report = _latest_report(demo_frames, customer)
        requests = [{"order": _order(customer, n), "context": {"serasa_report": report | {"pefin_count": n}}}
                    for n in (0, 1, 2, 3, 5, 8, 13, 40)]
        probabilities = await _probabilities(trained, requests)
        assert _never_decreasing(probabilities), (customer, probabilities)


async def test_a_lower_serasa_score_never_lowers_the_probability(trained, demo_frames):
    for customer in _customers(demo_frames):
        report = _latest_report(demo_frames, customer)
        requests = [{"order": _order(customer, n), "context": {"serasa_report": report | {"score": score}}}
                    for n, score in enumerate((1000.0, 900.0, 750.0, 600.0, 480.0, 300.0, 120.0, 0.0))]
        probabilities = await _probabilities(trained, requests)
        assert _never_decreasing(probabilities), (customer, probabilities)


async def test_a_training_request_may_turn_the_constraints_off(app, trained, demo_frames):
    versions = await trained.models()
    constrained = await trained.model(versions[0]["version"])
    assert monotone.parse_param(constrained["params"]["monotone_constraints"], FEATURE_NAMES) == (
        monotone.constraints(FEATURE_NAMES))
    assert constrained["params"]["config"]["monotone_constraints"] is True
    assert constrained["calibration"]["method"] == "platt"
    dataset_id = (await trained.training_jobs())[0]["dataset_id"]

    for body in ({"monotone_constraints": "no"}, {"monotone_constraints": 0}, {"monotonic": False}):
        with pytest.raises(ApiError) as info:
            await trained.request("POST", f"/v1/datasets/{dataset_id}/train", json=body)
        assert info.value.status_code == 422, body

    job = await trained.request("POST", f"/v1/datasets/{dataset_id}/train", json={"monotone_constraints": False})
    with pytest.raises(ApiError) as info:  # the same dataset, other options, while the first is unfinished
        await trained.request("POST", f"/v1/datasets/{dataset_id}/train")
    assert info.value.status_code == 409
    again = await trained.request("POST", f"/v1/datasets/{dataset_id}/train", json={"monotone_constraints": False})
    assert again["id"] == job["id"]
    await app.state.runtime.jobs.wait_idle()
    for _ in range(200):
        job = next(j for j in await trained.training_jobs() if j["id"] == job["id"])
        if job["status"] in ("succeeded", "failed"):
            break
        await asyncio.sleep(0.1)
    assert job["status"] == "succeeded", job
    free = await trained.model(job["model_version"])
    assert "monotone_constraints" not in free["params"]
    assert free["params"]["config"]["monotone_constraints"] is False


async def test_no_body_trains_with_the_constraints(app, api, demo_frames):
    dataset_id = await upload(api, demo_frames)
    await app.state.runtime.batch_queue.drain()
    status = await api.wait_for_dataset(dataset_id, DONE, timeout=120)
    assert status["status"] == "trained"
    version = (await api.models())[0]
    assert "monotone_constraints" in (await api.model(version["version"]))["params"]
