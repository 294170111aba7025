"""Small factories for request payloads: `make_customer(**overrides)` and friends."""

from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta

from app.domain.documents import generate_cnpj

_rng = random.Random(1234)


def make_customer(customer_id: str = "C1", **overrides) -> dict:
    item = {
        "customer_id": customer_id,
        "document": generate_cnpj(_rng),
        "name": f"Comercial {customer_id} Ltda",
        "simples_nacional": False,
        "mei": False,
        "final_consumer": False,
        "state": "SP",
        "customer_since": "2019-03-01",
    }
    return item | overrides


def make_credit_limit(customer_id: str = "C1", **overrides) -> dict:
    return {"customer_id": customer_id, "limit_amount": 50000.0, "valid_from": "2020-01-01"} | overrides


def make_serasa_report(customer_id: str = "C1", **overrides) -> dict:
    item = {
        "customer_id": customer_id,
        "queried_at": "2023-01-10",
        "paid_on_time": 85.0,
        "paid_cash": 5.0,
        "paid_8_15_days_late": 4.0,
        "paid_16_30_days_late": 3.0,
        "paid_31_60_days_late": 2.0,
        "paid_over_60_days_late": 1.0,
        "inquiries_count": 3,
        "suppliers_0_6_months": 10.0,
        "suppliers_6_12_months": 10.0,
        "suppliers_1_3_years": 30.0,
        "suppliers_3_5_years": 20.0,
        "suppliers_5_10_years": 20.0,
        "suppliers_over_10_years": 5.0,
        "suppliers_inactive": 5.0,
        "pefin_count": 0,
        "pefin_amount": 0.0,
        "refin_count": 0,
        "refin_amount": 0.0,
        "overdue_debts_count": 0,
        "overdue_debts_amount": 0.0,
        "bankruptcy_count": 0,
        "bounced_checks_count": 0,
        "recheque_count": 0,
        "bankruptcy_participation_count": 0,
        "score": 720.0,
    }
    return item | overrides


def make_order(order_id: str = "O1", customer_id: str = "C1", **overrides) -> dict:
    item = {
        "order_id": order_id,
        "customer_id": customer_id,
        "ordered_at": "2023-02-01T10:30:00",
        "amount": 1234.56,
        "payment_terms_days": 30,
        "status": "billed",
    }
    return item | overrides


def small_history(customers: int = 4, orders_per_outcome: int = 6) -> dict[str, list[dict]]:
    """A tiny valid dataset: every kind present, both outcomes above the test minimum (5)."""
    ids = [f"C{i}" for i in range(customers)]
    start = datetime(2023, 3, 1, 9, 0)
    orders = []
    for n in range(orders_per_outcome * 2):
        status = "blocked" if n % 2 else "billed"
        when = (start + timedelta(days=n)).isoformat()
        orders.append(make_order(f"O{n}", ids[n % customers], ordered_at=when, status=status))
    return {
        "customers": [make_customer(c) for c in ids],
        "credit-limits": [make_credit_limit(c) for c in ids],
        "serasa-reports": [make_serasa_report(c) for c in ids],
        "orders": orders,
    }


def batch(items: list[dict], final: bool = False, batch_id: str | None = None) -> dict:
    return {"batch_id": batch_id or uuid.uuid4().hex, "items": items, "final": final}


