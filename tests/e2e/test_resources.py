"""Every list pages the same way, and every resource answers 404 for another company's id.

Two companies each train a model on a small demo history (the session's `companies` fixture,
tests/e2e/conftest.py), so that the ids and version numbers asked for exist - in the other
company. A 404 here can only come from the ownership check."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from app.client import ApiError, CreditGateClient
from tests.e2e.test_training_flow import train_and_wait


@dataclass
class Company:
    api: CreditGateClient
    dataset_id: str
    job_ids: list[str]
    evaluation_ids: list[str]
    decision_ids: list[str]
    jti: str


async def set_up(app, api: CreditGateClient, frames, trainings: int, evaluations: int) -> Company:
    status = await train_and_wait(app, api, frames)
    assert status["status"] == "trained", status
    for _ in range(trainings - 1):
        await api.train(status["id"])
        await app.state.runtime.jobs.wait_idle()
    evaluation_ids = [(await api.evaluate(1, status["id"]))["id"] for _ in range(evaluations)]
    orders = frames["orders"]
    decision_ids = [(await api.decide({"order_id": f"R{n}", "customer_id": orders["customer_id"][n],
                                       "amount": 1000.0 + n, "payment_terms_days": 28}))["decision_id"]
                    for n in range(3)]
    for _ in range(2):
        await api.create_dataset("empty")
    issued = await api.request("POST", "/v1/companies/me/tokens")
    return Company(api, status["id"], [j["id"] for j in await api.training_jobs()], evaluation_ids, decision_ids,
                   issued["jti"])


LISTS = {
    "/v1/datasets": "id",
    "/v1/decisions": "decision_id",
    "/v1/audit-events": "id",
    "/v1/models": "version",
    "/v1/training-jobs": "id",
    "/v1/models/1/evaluations": "id",
    "/v1/companies/me/tokens": "jti",
}


@pytest.mark.parametrize("path", LISTS)
async def test_every_list_pages_the_same_way(companies, path):
    api, key = companies[0].api, LISTS[path]
    whole = await api.request("GET", path, params={"limit": 500})
    assert whole["next_cursor"] is None and len(whole["items"]) >= 2
    first = await api.request("GET", path, params={"limit": 1})
    assert len(first["items"]) == 1 and first["next_cursor"]
    walked, cursor = list(first["items"]), first["next_cursor"]
    while cursor is not None:
        page = await api.request("GET", path, params={"limit": 1, "cursor": cursor})
        assert len(page["items"]) == 1
        walked += page["items"]
        cursor = page["next_cursor"]
    assert [item[key] for item in walked] == [item[key] for item in whole["items"]]  # same order, no repeats
    assert (await api.request("GET", path, params={"limit": len(walked)}))["next_cursor"] is None  # the end


@pytest.mark.parametrize("path", LISTS)
async def test_a_cursor_of_another_list_or_made_up_is_422(companies, path):
    api = companies[0].api
    for cursor in ("99999999999999999999", "not-ours", "W10", "WyJ4Il0", "²_x"):
        with pytest.raises(ApiError) as info:
            await api.request("GET", path, params={"cursor": cursor})
        assert info.value.status_code == 422 and info.value.body["errors"][0]["field"] == "cursor"


async def test_each_resource_is_404_for_another_companys_id(companies):
    owner, other = companies
    api = other.api
    probes = [
        ("GET", f"/v1/datasets/{owner.dataset_id}", None, f"Dataset {owner.dataset_id}"),
        ("POST", f"/v1/datasets/{owner.dataset_id}/train", None, f"Dataset {owner.dataset_id}"),
        ("POST", f"/v1/datasets/{owner.dataset_id}/orders", {"batch_id": "x", "items": [{}]},
         f"Dataset {owner.dataset_id}"),
        ("GET", f"/v1/training-jobs/{owner.job_ids[0]}", None, f"Training job {owner.job_ids[0]}"),
        ("GET", "/v1/models/2", None, "Model version 2"),  # the owner has a version 2, the other only 1
        ("POST", "/v1/models/2/activate", None, "Model version 2"),
        ("GET", "/v1/models/compare?versions=1,2", None, "Model version 2"),
        ("GET", f"/v1/models/1/evaluations/{owner.evaluation_ids[0]}", None, f"Evaluation {owner.evaluation_ids[0]}"),
        ("POST", "/v1/models/1/evaluations", {"dataset_id": owner.dataset_id}, f"Dataset {owner.dataset_id}"),
        ("GET", f"/v1/decisions/{owner.decision_ids[0]}", None, f"Decision {owner.decision_ids[0]}"),
        ("POST", f"/v1/decisions/{owner.decision_ids[0]}/reviews", {"decision": "bill", "reviewer": "x", "note": "x"},
         f"Decision {owner.decision_ids[0]}"),
        ("GET", "/v1/models/2/monitoring", None, "Model version 2"),
        ("POST", "/v1/models/2/shadow", None, "Model version 2"),
        ("DELETE", "/v1/models/2/shadow", None, "Model version 2"),
        ("DELETE", f"/v1/companies/me/tokens/{owner.jti}", None, f"Token {owner.jti}"),
    ]
    for method, path, body, what in probes:
        with pytest.raises(ApiError) as info:
            await api.request(method, path, json=body)
        assert info.value.status_code == 404, (method, path, info.value.body)
        assert info.value.body["detail"] == f"{what} was not found.", path
    # the same ids answer for their owner
    assert (await owner.api.request("GET", f"/v1/models/1/evaluations/{owner.evaluation_ids[0]}"))["status"]
    assert (await owner.api.request("GET", f"/v1/decisions/{owner.decision_ids[0]}"))["decision_id"]
