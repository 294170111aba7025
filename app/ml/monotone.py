"""Which way a feature may move the risk: the one table of monotone constraints.

Training passes it to XGBoost (`monotone_constraints`), so that with every other feature fixed a
larger value of an `UP` feature never lowers the probability of block, and a larger value of a
`DOWN` feature never raises it. Only directions credit analysts agree on are here; every other
feature is free (0). The reasons use the same table to word a value's push (app/ml/explain.py).

A company whose data says otherwise trains without it (`POST /v1/datasets/{id}/train` with
`{"monotone_constraints": false}`); the version's params record which it was.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

UP = 1
DOWN = -1

MONOTONE: dict[str, tuple[int, str]] = {
    "amount": (UP, "a larger order puts more money at risk"),
    "amount_to_limit": (UP, "an order further beyond the credit limit"),
    "amount_to_past_mean": (UP, "an order unusually large for this customer"),
    "exposure_30d": (UP, "more billed to the customer in the last 30 days"),
    "exposure_90d": (UP, "more billed to the customer in the last 90 days"),
    "paid_8_15_days_late": (UP, "late payments (Serasa)"),
    "paid_16_30_days_late": (UP, "late payments (Serasa)"),
    "paid_31_60_days_late": (UP, "late payments (Serasa)"),
    "paid_over_60_days_late": (UP, "late payments (Serasa)"),
    "pefin_count": (UP, "negative records (Serasa)"),
    "pefin_amount": (UP, "negative records (Serasa)"),
    "refin_count": (UP, "negative records (Serasa)"),
    "refin_amount": (UP, "negative records (Serasa)"),
    "overdue_debts_count": (UP, "negative records (Serasa)"),
    "overdue_debts_amount": (UP, "negative records (Serasa)"),
    "bankruptcy_count": (UP, "bankruptcy or reorganisation filings"),
    "bounced_checks_count": (UP, "bounced cheques"),
    "recheque_count": (UP, "bounced-cheque registry (Recheque)"),
    "bankruptcy_participation_count": (UP, "stakes in bankrupt companies"),
    "past_blocked_count": (UP, "more of the customer's earlier orders were blocked"),
    "past_block_rate": (UP, "a larger share of the customer's earlier orders was blocked"),
    "serasa_score": (DOWN, "a higher Serasa score means a better payer"),
    "tenure_days": (DOWN, "a longer relationship with the customer"),
    "limit_amount": (DOWN, "limit headroom: for the same order, a larger limit leaves more room"),
}
"""feature -> (direction, why). Features not listed are free."""


def direction(feature: str, table: Mapping[str, tuple[int, str]] = MONOTONE) -> int:
    """+1 (up), -1 (down) or 0 (free) for one feature."""
    entry = table.get(feature)
    return entry[0] if entry else 0


def constraints(feature_names: Sequence[str], enabled: bool = True) -> tuple[int, ...]:
    """The direction of each feature in `feature_names` order (all 0 when not `enabled`)."""
    return tuple(direction(name) if enabled else 0 for name in feature_names)


def xgboost_param(feature_names: Sequence[str]) -> str:
    """XGBoost's `monotone_constraints` parameter for these features: "(1,0,-1,...)"."""
    return "(" + ",".join(str(d) for d in constraints(feature_names)) + ")"


def parse_param(value: object, feature_names: Sequence[str]) -> tuple[int, ...]:
    """The directions a stored version was trained with (its params' `monotone_constraints`),
    all 0 when it had none."""
    if not isinstance(value, str) or not value.strip("()"):
        return (0,) * len(feature_names)
    parsed = tuple(int(part) for part in value.strip("()").split(","))
    if len(parsed) != len(feature_names):
        raise ValueError(f"{len(parsed)} monotone constraints for {len(feature_names)} features")
    return parsed


def markdown_table() -> str:
    """The table as README shows it."""
    lines = ["| feature | direction | why |", "|---|---|---|"]
    for name, (sign, why) in MONOTONE.items():
        lines.append(f"| `{name}` | {'up' if sign == UP else 'down'} | {why} |")
    return "\n".join(lines)
