"""Credit policies over a model trained through the whole pipeline: rules before the model, the
operating point, the review band, backtests equal to deciding the orders, idempotent decisions."""

from __future__ import annotations

import asyncio
import copy

import numpy as np
import pytest
import pytest_asyncio
from sqlalchemy import select

from app.client import ApiError, CreditGateClient
from app.db.model_versions import ModelVersion
from app.ml.artifacts import ScoreSample
from app.ml.operating_points import threshold_for
from app.schemas.policies import EXAMPLE_POLICY
from tests.e2e.conftest import new_client
from tests.e2e.test_decisions import an_order
from tests.e2e.test_training_flow import train_and_wait
from tests.factories import make_serasa_report

FROZEN = {"id": "frozen", "action": "block",
          "label": {"en": "Orders of R$ 50,000.00 or more need the board", "pt-BR": "Pedidos a partir de R$ 50.000,00 "
                                                                                    "precisam da diretoria"},
          "when": {"all": [{"field": "amount", "op": ">=", "value": 50_000}]}}
CASH = {"id": "cash", "action": "bill", "label": {"en": "Paid in cash", "pt-BR": "Pagamento à vista"},
        "when": {"all": [{"field": "payment_terms_days", "op": "==", "value": 0}]}}
NEW_CUSTOMER = {"id": "new-customer", "action": "review",
                "label": {"en": "Fewer than 3 past orders", "pt-BR": "Menos de 3 pedidos anteriores"},
                "when": {"any": [{"field": "past_orders_count", "op": "missing"},
                                 {"field": "past_orders_count", "op": "<", "value": 3}]}}


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def company(app, demo_frames):
    """One company with a model trained on the demo history, and the dataset's id."""
    client = await new_client(app)
    status = await train_and_wait(app, client, demo_frames)
    assert status["status"] == "trained"
    yield client, status["id"]
    await client.__aexit__(None, None, None)


@pytest_asyncio.fixture(loop_scope="session")
async def api(company) -> CreditGateClient:
    client, _ = company
    yield client
    await client.request("POST", "/v1/policies/deactivate")


async def activate(api: CreditGateClient, body: dict) -> dict:
    created = await api.request("POST", "/v1/policies", json=body)
    assert created["active"] is False
    return await api.request("POST", f"/v1/policies/{created['version']}/activate")


async def validation_scores(app, company_id: str) -> ScoreSample:
    async with app.state.runtime.sessions() as session:
        row = await session.scalar(select(ModelVersion).where(ModelVersion.company_id == company_id,
                                                              ModelVersion.version == 1))
        return ScoreSample.from_bytes(await session.scalar(select(ModelVersion.validation)
                                                           .where(ModelVersion.id == row.id)))


async def test_a_block_rule_decides_first_with_its_label_as_first_reason(api, demo_frames):
    policy = await activate(api, {"name": "board", "rules": [FROZEN, CASH]})
    assert policy["active"] is True and policy["model_version"] == 1
    big = an_order(demo_frames, 1, order_id="BIG-1", amount=80_000.0, payment_terms_days=0)
    english = await api.decide(big)
    assert (english["decision"], english["decided_by"], english["policy_version"]) == ("block", "rule",
                                                                                        policy["version"])
    # both rules matched; the first in the policy's order decided
    assert english["rules"] == [{"id": "frozen", "label": FROZEN["label"]["en"], "action": "block"},
                                {"id": "cash", "label": CASH["label"]["en"], "action": "bill"}]
    assert english["reasons"][0]["text"] == FROZEN["label"]["en"]
    assert english["reasons"][0]["feature"] == "rule:frozen"
    assert len(english["reasons"]) > 1  # the model's reasons follow

    portuguese = await api.decide(an_order(demo_frames, 1, order_id="BIG-2", amount=80_000.0), language="pt-BR")
    assert portuguese["decided_by"] == "rule"
    assert portuguese["reasons"][0]["text"] == FROZEN["label"]["pt-BR"]
    assert portuguese["rules"] == [{"id": "frozen", "label": FROZEN["label"]["pt-BR"], "action": "block"}]

    stored = await api.request("GET", f"/v1/decisions/{english['decision_id']}")
    assert stored["decided_by"] == "rule" and stored["rules"] == english["rules"]
    assert stored["reasons"][0]["text"] == FROZEN["label"]["en"]


async def test_a_bill_rule_bills_what_the_model_would_block(api, demo_frames):
    orders = [an_order(demo_frames, n, order_id=f"RISKY-{n}", payment_terms_days=0) for n in range(60)]
    without = (await api.decide_batch([{"order": o} for o in orders]))["results"]
    blocked = [o for o, r in zip(orders, without, strict=True) if r["decision"] == "block"]
    assert blocked, "the demo model blocks some of these orders"
    assert all(r["decided_by"] == "model" and r["rules"] == [] and r["policy_version"] is None for r in without)

    await activate(api, {"name": "cash is fine", "rules": [CASH]})
    for order in blocked[:5]:
        decided = await api.decide(order | {"order_id": order["order_id"] + "-CASH"})
        assert (decided["decision"], decided["decided_by"]) == ("bill", "rule")
        assert decided["reasons"][0]["text"] == "Paid in cash"


async def test_the_managers_policy_blocks_bankruptcy_and_reviews_over_limit(api, demo_frames):
    policy = await activate(api, EXAMPLE_POLICY)
    assert 0 < policy["threshold"] < 1
    order = {"order_id": "NEW-CUSTOMER-1", "customer_id": "NEVER-SEEN", "amount": 1_000.0, "payment_terms_days": 28}
    report = make_serasa_report(bankruptcy_count=1)
    report.pop("customer_id")
    bankrupt = await api.decide(order, context={"credit_limit": {"limit_amount": 50_000.0}, "serasa_report": report})
    assert (bankrupt["decision"], bankrupt["decided_by"]) == ("block", "rule")
    assert bankrupt["reasons"][0]["text"] == "Bankruptcy filing on the Serasa report"

    clean = make_serasa_report()
    clean.pop("customer_id")
    over = await api.decide(order | {"order_id": "NEW-CUSTOMER-2", "amount": 20_000.0},
                            context={"credit_limit": {"limit_amount": 10_000.0}, "serasa_report": clean},
                            language="pt-BR")
    assert (over["decision"], over["decided_by"]) == ("review", "rule")
    assert over["rules"][0] == {"id": "over-limit", "label": "Pedido acima de 1,5x o limite", "action": "review"}
    no_limit = await api.decide(order | {"order_id": "NEW-CUSTOMER-3"}, context={"serasa_report": clean})
    assert no_limit["decision"] == "review"  # the `missing` operator


async def test_review_band_sends_the_uncertain_orders_to_an_analyst(app, api, demo_frames):
    body = {"name": "band", "review_band": {"below": 0.1, "above": 0.1}}
    policy = await activate(api, body)
    threshold = policy["threshold"]
    orders = [{"order": an_order(demo_frames, n, order_id=f"BAND-{n}")} for n in range(300)]
    results = (await api.decide_batch(orders))["results"]
    for r in results:
        p = r["probability_block"]
        expected = ("review" if threshold - 0.1 <= p < threshold + 0.1 else "block" if p >= threshold else "bill")
        assert r["decision"] == expected, r
        assert r["decided_by"] == "model" and r["threshold"] == threshold
    reviews = [r for r in results if r["decision"] == "review"]
    assert reviews and len(reviews) < len(results)
    listed = await api.request("GET", "/v1/decisions", params={"decision": "review", "limit": 500})
    assert {r["decision_id"] for r in reviews} <= {d["decision_id"] for d in listed["items"]}
    assert all(d["decision"] == "review" for d in listed["items"])


@pytest.mark.parametrize("point", [
    {"strategy": "target_recall", "value": 0.8},
    {"strategy": "max_false_bill_rate", "value": 0.02},
    {"strategy": "costs", "cost_wrong_bill": 1.0, "cost_wrong_block": 0.2},
])
async def test_operating_point_threshold_is_the_validation_slices(app, api, demo_frames, point):
    policy = await activate(api, {"name": point["strategy"], "operating_point": point})
    sample = await validation_scores(app, (await api.me())["id"])
    params = {k: v for k, v in point.items() if k != "strategy"}
    expected = threshold_for(sample, point["strategy"], params)
    assert policy["threshold"] == pytest.approx(expected, abs=0)
    read = await api.request("GET", f"/v1/policies/{policy['version']}")
    assert read["threshold"] == policy["threshold"] and read["model_version"] == 1 and read["active"] is True
    decided = await api.decide(an_order(demo_frames, 2, order_id=f"OP-{point['strategy']}"))
    assert decided["threshold"] == pytest.approx(expected, abs=1e-12)
    assert decided["decision"] == ("block" if decided["probability_block"] >= expected else "bill")
    if point["strategy"] == "max_false_bill_rate":  # recall >= 1 - value on the validation slice
        caught = (sample.probability >= expected) & (sample.label == 1)
        assert caught.sum() / (sample.label == 1).sum() >= 0.98


async def test_simulation_equals_deciding_the_orders_one_by_one(app, company, api, demo_frames):
    dataset_id = company[1]
    top_decile = float(np.quantile(demo_frames["orders"]["amount"].to_numpy(), 0.9))
    big = copy.deepcopy(FROZEN) | {"when": {"all": [{"field": "amount", "op": ">=", "value": top_decile}]}}
    policy = {"name": "backtest", "rules": [big, NEW_CUSTOMER],
              "operating_point": {"strategy": "target_recall", "value": 0.7},
              "review_band": {"below": 0.05, "above": 0.02}}
    simulated = await api.request("POST", "/v1/policies/simulate", json={"policy": policy, "dataset_id": dataset_id})
    labelled = demo_frames["orders"].filter(demo_frames["orders"]["status"].is_not_null())
    assert simulated["orders"] == labelled.height and simulated["sample"] == "dataset"
    assert simulated["active"]["threshold"] != simulated["threshold"]  # no active policy: the model alone

    await activate(api, policy)
    counts = {"bill": 0, "block": 0, "review": 0}
    confusion = {"billed": dict(counts), "blocked": dict(counts)}
    hits = {"frozen": 0, "new-customer": 0}
    cost = 0.0
    rows = labelled.to_dicts()
    for start in range(0, len(rows), 500):  # a batch decides as singles do (tests/e2e/test_decisions.py)
        chunk = rows[start:start + 500]
        requests = [{"order": {"order_id": f"SIM-{r['order_id']}", "customer_id": r["customer_id"],
                               "amount": r["amount"], "payment_terms_days": r["payment_terms_days"],
                               "ordered_at": r["ordered_at"].isoformat()}} for r in chunk]
        for row, decided in zip(chunk, (await api.decide_batch(requests))["results"], strict=True):
            counts[decided["decision"]] += 1
            confusion[row["status"]][decided["decision"]] += 1
            for rule in decided["rules"]:
                hits[rule["id"]] += 1
            wrong = (row["status"] == "blocked" and decided["decision"] == "bill"
                     or row["status"] == "billed" and decided["decision"] == "block")
            cost += row["amount"] if wrong else 0.0
    assert simulated["counts"] == counts
    assert simulated["confusion"] == confusion
    assert simulated["rule_hits"] == hits
    assert simulated["cost"] == pytest.approx(cost, abs=0.01)
    assert simulated["decided_by_rules"] > 0 and counts["review"] > 0


async def test_simulation_defaults_and_compares_with_the_active_policy(api):
    stored = await api.request("POST", "/v1/policies", json={"name": "strict", "operating_point": {
        "strategy": "target_recall", "value": 0.95}})
    result = await api.request("POST", "/v1/policies/simulate", json={"policy_version": stored["version"]})
    assert result["sample"] == "holdout" and result["model_version"] == 1 and result["orders"] > 100
    assert sum(result["counts"].values()) == result["orders"] == sum(result["active"]["counts"].values())
    assert result["threshold"] <= result["active"]["threshold"]  # catching more blocks lowers the bar
    assert result["counts"]["block"] >= result["active"]["counts"]["block"]
    assert result["active"]["counts"]["review"] == 0 and result["rule_hits"] == {}
    with pytest.raises(ApiError) as info:
        await api.request("POST", "/v1/policies/simulate", json={"policy_version": 999})
    assert info.value.status_code == 404


async def test_idempotent_repeats_and_superseding_decisions(api, demo_frames):
    order = an_order(demo_frames, 4, order_id="ERP-RETRY")
    first = await api.send("POST", "/v1/decisions", json={"order": order})
    assert first.status_code == 201
    again = await api.send("POST", "/v1/decisions", json={"order": order})
    assert again.status_code == 200 and again.json() == first.json()
    listed = await api.request("GET", "/v1/decisions", params={"order_id": "ERP-RETRY"})
    assert [d["decision_id"] for d in listed["items"]] == [first.json()["decision_id"]]

    changed = await api.send("POST", "/v1/decisions", json={"order": order | {"amount": order["amount"] + 1}})
    assert changed.status_code == 201
    assert changed.json()["decision_id"] != first.json()["decision_id"]
    assert changed.json()["supersedes"] == first.json()["decision_id"]
    listed = await api.request("GET", "/v1/decisions", params={"order_id": "ERP-RETRY"})
    assert [d["decision_id"] for d in listed["items"]] == [changed.json()["decision_id"], first.json()["decision_id"]]
    stored = await api.request("GET", f"/v1/decisions/{changed.json()['decision_id']}")
    assert stored["supersedes"] == first.json()["decision_id"]

    # the same request twice at once: one decision (one id), both answered
    twins = [an_order(demo_frames, 6, order_id="ERP-TWIN")] * 2
    answers = await asyncio.gather(*(api.send("POST", "/v1/decisions", json={"order": o}) for o in twins))
    assert {a.json()["decision_id"] for a in answers} == {answers[0].json()["decision_id"]}
    listed = await api.request("GET", "/v1/decisions", params={"order_id": "ERP-TWIN"})
    assert len(listed["items"]) == 1

    # a batch retried whole: the same results, nothing stored twice
    batch = [{"order": an_order(demo_frames, n, order_id=f"ERP-B{n}")} for n in range(5)]
    sent = await api.send("POST", "/v1/decisions/batch", json={"orders": batch})
    resent = await api.send("POST", "/v1/decisions/batch", json={"orders": batch})
    assert (sent.status_code, resent.status_code) == (201, 200) and sent.json() == resent.json()
    for n in range(5):
        listed = await api.request("GET", "/v1/decisions", params={"order_id": f"ERP-B{n}"})
        assert len(listed["items"]) == 1


async def test_policy_changes_are_audited_and_private(app, api):
    created = await api.request("POST", "/v1/policies", json={"name": "audited", "rules": [CASH]})
    await api.request("POST", f"/v1/policies/{created['version']}/activate")
    await api.request("POST", "/v1/policies/deactivate")
    events = {}
    for action in ("policy.created", "policy.activated", "policy.deactivated"):
        found = (await api.audit_events(action=action))["items"]
        assert found, action
        events[action] = found[0]
    assert events["policy.created"]["subject_id"] == str(created["version"])
    assert events["policy.activated"]["summary"]["model_version"] == 1
    listed = await api.request("GET", "/v1/policies")
    assert created["version"] in [p["version"] for p in listed["items"]]
    assert not any(p["active"] for p in listed["items"])

    other = await new_client(app)
    async with other:
        for method, path in (("GET", f"/v1/policies/{created['version']}"),
                             ("POST", f"/v1/policies/{created['version']}/activate")):
            with pytest.raises(ApiError) as info:
                await other.request(method, path)
            assert info.value.status_code == 404
        assert (await other.request("GET", "/v1/policies"))["items"] == []
        assert (await other.audit_events(action="policy.created"))["items"] == []


def rule(**changes) -> dict:
    return copy.deepcopy(CASH) | changes


BAD_POLICIES = [
    ({"rules": [CASH, rule(id="x", when={"all": [{"field": "serasa_mood", "op": ">", "value": 1}]})]},
     "rules.1.when.all.0.field"),
    ({"rules": [rule(when={"all": [{"field": "amount", "op": "~=", "value": 1}]})]}, "rules.0.when.all.0.op"),
    ({"rules": [rule(when={"any": [{"field": "amount", "op": ">", "value": "a lot"}]})]}, "rules.0.when.any.0.value"),
    ({"rules": [rule(when={"all": [{"field": "amount", "op": "in", "value": 5}]})]}, "rules.0.when.all.0.value"),
    ({"rules": [rule(when={"all": [{"field": "amount", "op": "missing", "value": 5}]})]}, "rules.0.when.all.0.value"),
    ({"rules": [CASH, rule()]}, "rules"),
    ({"rules": [rule(label={"en": "Cash"})]}, "rules.0.label.pt-BR"),
    ({"rules": [rule(action="approve")]}, "rules.0.action"),
    ({"rules": [rule(when={"all": [{"field": "amount", "op": "<"}], "any": [None]})]}, "rules.0.when.any.0"),
    ({"rules": [rule(when={"any": [{"all": [{"any": [{"field": "amount", "op": "present"}]}]}]})]},
     "rules.0.when.any.0.all.0.field"),
    ({"review_band": {"below": -0.1, "above": 0.05}}, "review_band.below"),
    ({"operating_point": {"strategy": "target_recall", "value": 1.0}}, "operating_point.value"),
    ({"operating_point": {"strategy": "max_false_bill_rate", "value": 0}}, "operating_point.value"),
    ({"operating_point": {"strategy": "costs", "cost_wrong_bill": 1.0}}, "operating_point"),
]


@pytest.mark.parametrize(("changes", "field"), BAD_POLICIES)
async def test_bad_policies_are_422_naming_the_rule_and_field(api, changes, field):
    with pytest.raises(ApiError) as info:
        await api.request("POST", "/v1/policies", json={"name": "bad"} | changes)
    assert info.value.status_code == 422
    fields = [e["field"] for e in info.value.body["errors"]]
    assert field in fields, info.value.body


async def test_activation_that_does_not_fit_the_model_is_409(api):
    created = await api.request("POST", "/v1/policies", json={"name": "everything to review",
                                                              "review_band": {"below": 1.0, "above": 1.0}})
    with pytest.raises(ApiError) as info:
        await api.request("POST", f"/v1/policies/{created['version']}/activate")
    assert info.value.status_code == 409
    assert "review band" in info.value.body["detail"]
    assert not any(p["active"] for p in (await api.request("GET", "/v1/policies"))["items"])
