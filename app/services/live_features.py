"""Features of orders being decided, from the same point-in-time definition training used."""

from __future__ import annotations

from datetime import datetime

import polars as pl

from app.ml.features import FEATURE_NAMES, build_features
from app.services.customer_data import CustomerData


def features_for(data: CustomerData, *, ordered_at: datetime, amount: float,
                 payment_terms_days: int) -> dict[str, float | None]:
    target = pl.DataFrame({
        "order_id": ["__decision__"],
        "customer_id": [data.customer_id],
        "ordered_at": [ordered_at],
        "amount": [amount],
        "payment_terms_days": [payment_terms_days],
    })
    row = build_features(target, data.customers, data.credit_limits, data.serasa_reports, data.orders)
    return {name: row[name][0] for name in FEATURE_NAMES}
