"""Credit policy rules over feature rows, vectorised: the same code serves one live decision and
a backtest of a hundred thousand orders.

A rule's condition is a tree of comparisons joined by `all`/`any`; each comparison names a model
feature, an operator and a value. Operators are the named entries of `OPERATORS` (a registry of
small strategies, not an `if` ladder). A comparison on a missing (NaN) value is false, except
`missing` itself: a rule never fires on data it does not have.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.ml.features import FEATURE_NAMES, UFS

Predicate = Callable[[np.ndarray], np.ndarray]  # (n x features) float rows -> n booleans
_COLUMN = {name: i for i, name in enumerate(FEATURE_NAMES)}


def _present(column: np.ndarray) -> np.ndarray:
    return ~np.isnan(column)


OPERATORS: Mapping[str, Callable[[np.ndarray, Any], np.ndarray]] = {
    "<": lambda c, v: c < v,
    "<=": lambda c, v: c <= v,
    ">": lambda c, v: c > v,
    ">=": lambda c, v: c >= v,
    "==": lambda c, v: c == v,
    "!=": lambda c, v: _present(c) & (c != v),
    "in": lambda c, v: np.isin(c, np.asarray(v, dtype=np.float64)),
    "missing": lambda c, v: np.isnan(c),
    "present": lambda c, v: _present(c),
}
VALUELESS = frozenset({"missing", "present"})


@dataclass(frozen=True)
class CompiledRule:
    id: str
    action: str
    label: Mapping[str, str]
    matches: Predicate


def compile_condition(node: Mapping[str, Any]) -> Predicate:
    """`{"all": [...]}`, `{"any": [...]}` or `{"field", "op", "value"}` into a predicate."""
    if "all" in node or "any" in node:
        children = [compile_condition(child) for child in node.get("all") or node.get("any")]
        join = np.logical_and if "all" in node else np.logical_or
        return lambda X: _reduce(join, children, X)
    column, operator, value = _COLUMN[node["field"]], OPERATORS[node["op"]], _numeric(node.get("value"))
    return lambda X: operator(X[:, column], value)


def _numeric(value: Any) -> Any:
    """A state (UF) compares as its index, as the `state_code` feature holds it."""
    if isinstance(value, str):
        return float(UFS.index(value))
    if isinstance(value, list):
        return [_numeric(v) for v in value]
    return value


def _reduce(join, children: Sequence[Predicate], X: np.ndarray) -> np.ndarray:
    result = children[0](X)
    for child in children[1:]:
        result = join(result, child(X))
    return result


def compile_rules(rules: Sequence[Mapping[str, Any]]) -> tuple[CompiledRule, ...]:
    return tuple(CompiledRule(r["id"], r["action"], r["label"], compile_condition(r["when"])) for r in rules)


def rule_matches(rules: Sequence[CompiledRule], X: np.ndarray) -> np.ndarray:
    """n x rules booleans: which rules match which rows."""
    if not rules:
        return np.zeros((len(X), 0), dtype=bool)
    return np.column_stack([np.broadcast_to(rule.matches(X), (len(X),)) for rule in rules])


def first_match(matches: np.ndarray) -> np.ndarray:
    """Per row, the index of the first matching rule, or -1."""
    if matches.shape[1] == 0:
        return np.full(len(matches), -1)
    first = np.argmax(matches, axis=1)
    return np.where(matches[np.arange(len(matches)), first], first, -1)
