"""The fields of a Serasa report (credit-bureau query), named once for every layer."""

from __future__ import annotations

PAYMENT_FIELDS: tuple[str, ...] = (  # payment history shares, % [HistPag…]
    "paid_on_time",
    "paid_cash",
    "paid_8_15_days_late",
    "paid_16_30_days_late",
    "paid_31_60_days_late",
    "paid_over_60_days_late",
)
SUPPLIER_FIELDS: tuple[str, ...] = (  # supplier relationship shares, % [RelaFornec…]
    "suppliers_0_6_months",
    "suppliers_6_12_months",
    "suppliers_1_3_years",
    "suppliers_3_5_years",
    "suppliers_5_10_years",
    "suppliers_over_10_years",
    "suppliers_inactive",
)
NEGATIVE_COUNT_FIELDS: tuple[str, ...] = (  # negative records
    "pefin_count",
    "refin_count",
    "overdue_debts_count",
    "bankruptcy_count",
    "bounced_checks_count",
    "recheque_count",
    "bankruptcy_participation_count",
)
NEGATIVE_AMOUNT_FIELDS: tuple[str, ...] = ("pefin_amount", "refin_amount", "overdue_debts_amount")
