"""Integrity of a complete dataset, checked in SQL on the dataset alone: problems and warnings."""

from __future__ import annotations

from tests.api.test_datasets import new_dataset, settle, upload_all
from tests.factories import make_credit_limit, make_customer, make_order, small_history


async def validated(app, client, tenant, history) -> dict:
    dataset_id = await new_dataset(client, tenant)
    await upload_all(client, tenant, dataset_id, history)
    return await settle(app, client, tenant, dataset_id)


async def test_a_customer_known_only_elsewhere_is_still_unknown(app, client, tenant, other_tenant):
    """An order of customer C-ELSEWHERE is an orphan in this dataset, although the same company
    (another dataset) and another company both uploaded C-ELSEWHERE."""
    for company in (tenant, other_tenant):
        history = small_history()
        history["customers"].append(make_customer("C-ELSEWHERE"))
        await validated(app, client, company, history)
    history = small_history()
    history["orders"].append(make_order("O-ORPHAN", "C-ELSEWHERE"))
    body = await validated(app, client, tenant, history)
    problems = {p["code"]: p for p in body["report"]["problems"]}
    assert body["status"] == "invalid"
    assert problems["unknown_customer_in_orders"]["examples"] == ["O-ORPHAN"]


async def test_suspicious_values_are_warnings_not_problems(app, client, tenant):
    history = small_history()
    history["customers"][0] |= {"customer_since": "2023-03-05"}  # C0 orders on 03-01 and 03-05
    history["credit-limits"].append(make_credit_limit("C1", limit_amount=0.0, valid_from="2021-01-01"))
    history["orders"].append(make_order("O-HUGE", "C2", ordered_at="2023-04-01T10:00:00", amount=9_000_000.0))
    body = await validated(app, client, tenant, history)
    assert body["report"]["valid"] is True and body["status"] != "invalid"
    warnings = {w["code"]: w for w in body["report"]["warnings"]}
    assert warnings["order_before_customer_since"]["examples"] == ["O0"]  # O4 is on the day itself
    assert warnings["zero_credit_limit"]["examples"] == ["C1@2021-01-01"]
    assert warnings["amount_far_above_limit"]["examples"] == ["O-HUGE"]  # 180x a R$ 50,000.00 limit
    assert warnings["amount_far_above_usual"]["examples"] == ["O-HUGE"]  # ~7,300x the median R$ 1,234.56
    assert warnings["amount_far_above_usual"]["count"] == 1


async def test_a_clean_dataset_has_no_warnings(app, client, tenant):
    body = await validated(app, client, tenant, small_history())
    assert body["report"]["warnings"] == []
