"""Real-time decisions against a model trained through the whole pipeline."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import polars as pl
import pytest
import pytest_asyncio

from app.client import ApiError, CreditGateClient
from app.db.decisions import Decision
from app.db.model_versions import ModelVersion
from app.ml import calibration as calibrations
from app.ml.calibration import Calibration
from app.ml.features import FEATURE_NAMES, build_features
from app.ml.history import History
from app.ml.model import ScoringModel
from tests.e2e.conftest import new_client
from tests.e2e.test_training_flow import train_and_wait
from tests.factories import make_serasa_report


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def trained(app, demo_frames):
    """One company with versions 1 and 2 trained on the demo history (module-wide, per backend)."""
    client = await new_client(app)
    for _ in range(2):
        status = await train_and_wait(app, client, demo_frames)
        assert status["status"] == "trained"
    yield client
    await client.__aexit__(None, None, None)


def an_order(demo_frames, n: int = 0, **changes) -> dict:
    orders = demo_frames["orders"]
    row = orders.row(orders.height - 1 - n, named=True)
    order = {"order_id": f"NEW-{n}", "customer_id": row["customer_id"], "amount": row["amount"],
             "payment_terms_days": row["payment_terms_days"], "ordered_at": "2030-01-01T12:00:00"}
    return order | changes


async def booster(app, version: int, company_id: str) -> tuple[ScoringModel, Calibration]:
    from sqlalchemy import select

    async with app.state.runtime.sessions() as session:
        row = await session.scalar(select(ModelVersion).where(ModelVersion.company_id == company_id,
                                                              ModelVersion.version == version))
    model = ScoringModel.from_ubjson(row.booster, row.feature_names["names"], row.threshold)
    return model, calibrations.from_json(row.calibration)


async def test_decision_equals_direct_booster_prediction(app, trained: CreditGateClient, demo_frames):
    result = await trained.decide(an_order(demo_frames))
    assert result["decision"] in ("bill", "block")
    assert result["model_version"] == 2
    detail = await trained.request("GET", f"/v1/decisions/{result['decision_id']}")
    me = await trained.me()
    model, calibration = await booster(app, 2, me["id"])
    assert calibration.method == "platt"
    X = np.array([[np.nan if detail["features"][n] is None else detail["features"][n]
                   for n in model.feature_names]], dtype=np.float32)
    calibrated = float(calibration(model.predict_proba(X))[0])
    assert calibrated != float(model.predict_proba(X)[0])
    assert result["probability_block"] == pytest.approx(calibrated, abs=1e-6)
    assert result["threshold"] == model.threshold
    assert result["decision"] == ("block" if calibrated >= model.threshold else "bill")

    # training/serving parity: the stored features are build_features' row over the uploaded history
    order = an_order(demo_frames)
    target = pl.DataFrame({"order_id": ["NEW-0"], "customer_id": [order["customer_id"]],
                           "ordered_at": [datetime.fromisoformat(order["ordered_at"])],
                           "amount": [order["amount"]], "payment_terms_days": [order["payment_terms_days"]]})
    expected = build_features(target, History(demo_frames))
    assert {n: expected[n][0] for n in FEATURE_NAMES} == detail["features"]

    contributions = model.contributions(X)[0]
    assert contributions.sum() == pytest.approx(float(model.margin(X)[0]), abs=1e-4)  # SHAP: sum = margin
    # base + every contribution = margin, checkable from the response alone
    assert result["base_value"] == pytest.approx(float(contributions[-1]), abs=1e-6)
    assert result["margin"] == pytest.approx(float(model.margin(X)[0]), abs=1e-4)
    shown = sum(r["contribution"] for r in result["reasons"])
    assert result["base_value"] + shown + result["other_contributions"] == pytest.approx(result["margin"], abs=1e-5)
    by_name = dict(zip(model.feature_names, contributions[:-1], strict=True))
    sign = 1 if result["decision"] == "block" else -1
    pushes = sign * contributions[:-1]
    for reason in result["reasons"]:
        assert reason["contribution"] == pytest.approx(by_name[reason["feature"]], abs=1e-5)
        assert sign * reason["contribution"] > 0  # every reason pushed towards the decision
        assert reason["direction"] == result["decision"]
        assert reason["share"] == pytest.approx(100 * sign * by_name[reason["feature"]] / pushes[pushes > 0].sum(),
                                                abs=0.06)
        assert reason["text"] and " - " in reason["text"]  # compared with the company's usual
    for key in ("base_value", "margin", "other_contributions", "reasons"):
        assert detail[key] == result[key], key  # stored as answered


async def test_batch_equals_singles(trained, demo_frames):
    requests = [{"order": an_order(demo_frames, n)} for n in range(12)]
    batch = await trained.decide_batch(requests)
    singles = [await trained.decide(r["order"]) for r in requests]
    keys = ("decision", "probability_block", "threshold", "model_version", "reasons", "missing_features")
    assert [{k: r[k] for k in keys} for r in batch["results"]] == [{k: s[k] for k in keys} for s in singles]
    assert [r["order_id"] for r in batch["results"]] == [f"NEW-{n}" for n in range(12)]


async def test_version_selection(trained, demo_frames):
    assert (await trained.decide(an_order(demo_frames), model_version=1))["model_version"] == 1
    with pytest.raises(ApiError) as info:
        await trained.decide(an_order(demo_frames), model_version=99)
    assert info.value.status_code == 404


async def test_unknown_customer_needs_context(trained):
    order = {"order_id": "X1", "customer_id": "NEVER-UPLOADED", "amount": 1500.0, "payment_terms_days": 28}
    with pytest.raises(ApiError) as info:
        await trained.decide(order)
    assert info.value.status_code == 422
    assert info.value.body["errors"][0]["field"] == "order.customer_id"
    assert "context" in info.value.body["detail"]

    context = {"credit_limit": {"limit_amount": 1000.0}, "serasa_report": make_serasa_report(pefin_count=3)}
    context["serasa_report"].pop("customer_id")
    decided = await trained.decide(order, context=context)
    assert "customer" in decided["missing_features"] and "order_history" in decided["missing_features"]
    assert "credit_limit" not in decided["missing_features"]


async def test_portuguese_reasons(trained, demo_frames):
    english = await trained.decide(an_order(demo_frames, 3))
    portuguese = await trained.decide(an_order(demo_frames, 3), language="pt-BR")
    assert [r["feature"] for r in english["reasons"]] == [r["feature"] for r in portuguese["reasons"]]
    assert english["reasons"][0]["text"] != portuguese["reasons"][0]["text"]
    words = " ".join(r["text"] for r in portuguese["reasons"]).lower()
    assert any(w in words for w in ("pedido", "cliente", "limite", "relatório", "dias", "nenhum"))


async def test_no_model_is_409_and_other_company_is_404(app, trained, demo_frames):
    decided = await trained.decide(an_order(demo_frames))
    other = await new_client(app)
    async with other:
        with pytest.raises(ApiError) as info:
            await other.decide(an_order(demo_frames))
        assert info.value.status_code == 409
        assert "activate" in info.value.body["detail"]
        with pytest.raises(ApiError) as info:
            await other.request("GET", f"/v1/decisions/{decided['decision_id']}")
        assert info.value.status_code == 404
        assert (await other.request("GET", "/v1/decisions"))["items"] == []


async def test_list_filter_paginate_and_audit(trained, demo_frames):
    customer = an_order(demo_frames, 5)["customer_id"]
    made = [await trained.decide(an_order(demo_frames, 5, order_id=f"P{n}")) for n in range(3)]
    page = await trained.request("GET", "/v1/decisions", params={"customer_id": customer, "limit": 2})
    rest = await trained.request("GET", "/v1/decisions",
                                 params={"customer_id": customer, "limit": 2, "cursor": page["next_cursor"]})
    ids = [d["decision_id"] for d in page["items"] + rest["items"]]
    assert {m["decision_id"] for m in made} <= set(ids)
    assert len(ids) == len(set(ids))
    only_block = await trained.request("GET", "/v1/decisions", params={"decision": "block", "limit": 500})
    assert all(d["decision"] == "block" for d in only_block["items"])
    events = await trained.audit_events(action="decision.made", subject_id=made[0]["decision_id"])
    assert events["items"][0]["summary"]["order_id"] == "P0"


async def test_activation_switches_the_model_in_memory(trained, demo_frames):
    await trained.activate(1)
    assert (await trained.decide(an_order(demo_frames, order_id="ACT-1")))["model_version"] == 1
    await trained.activate(2)
    assert (await trained.decide(an_order(demo_frames, order_id="ACT-2")))["model_version"] == 2
    # the same order and request again is a repeat: its stored decision, whatever model is active now
    assert (await trained.decide(an_order(demo_frames, order_id="ACT-1")))["model_version"] == 1


async def test_decisions_stored_before_shares_still_read(app, trained, demo_frames):
    made = await trained.decide(an_order(demo_frames, 7, order_id="OLD-1"))
    await app.state.runtime.decisions.log.flush()
    async with app.state.runtime.sessions() as session:
        row = await session.get(Decision, made["decision_id"])
        row.reasons = {"reasons": [{k: r[k] for k in ("feature", "value", "contribution", "text")}
                                   for r in made["reasons"]], "missing_features": made["missing_features"]}
        await session.commit()
    old = await trained.request("GET", f"/v1/decisions/{made['decision_id']}")
    assert old["base_value"] is None and old["margin"] is None and old["other_contributions"] is None
    assert [r["text"] for r in old["reasons"]] == [r["text"] for r in made["reasons"]]
    assert all(r["share"] is None and r["direction"] is None and r["percentile"] is None for r in old["reasons"])
