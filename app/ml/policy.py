"""Credit policy rules over feature rows, vectorised: the same code serves one live decision and
a backtest of a hundred thousand orders.

A rule's condition is a tree of comparisons joined by `all`/`any`; each comparison names a model
feature, an operator and a value. Operators are the named entries of `OPERATORS` (a registry of
small strategies, not an `if` ladder). A comparison on a missing (NaN) value is false, except
`missing` itself: a rule never fires on data it does not have.

`Rules` compiles a policy's rules against the features they name only, so a decision builds an
n x k matrix of those k features, and `verdicts` turns rule hits, probabilities, the threshold and
the review band into bill / block / review for every row at once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.ml.features import UFS

Predicate = Callable[[np.ndarray], np.ndarray]  # (n x fields) float rows -> n booleans
BILL, BLOCK, REVIEW = "bill", "block", "review"
ACTIONS = (BILL, BLOCK, REVIEW)


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


@dataclass(frozen=True)
class Rules:
    """A policy's rules and the features they read, in the matrix's column order."""

    fields: tuple[str, ...]
    rules: tuple[CompiledRule, ...]

    @classmethod
    def compile(cls, rules: Sequence[Mapping[str, Any]]) -> Rules:
        fields: list[str] = []
        for rule in rules:
            _collect_fields(rule["when"], fields)
        column = {name: i for i, name in enumerate(fields)}
        compiled = tuple(CompiledRule(r["id"], r["action"], r["label"], _compile(r["when"], column)) for r in rules)
        return cls(tuple(fields), compiled)

    def matrix(self, rows: Sequence[Mapping[str, float | None]]) -> np.ndarray:
        """The rules' features of feature rows (dicts), NaN where unknown."""
        return np.array([[np.nan if (v := row.get(f)) is None else v for f in self.fields] for row in rows],
                        dtype=np.float64).reshape(len(rows), len(self.fields))

    def matches(self, X: np.ndarray) -> np.ndarray:
        """n x rules booleans: which rules match which rows."""
        if not self.rules:
            return np.zeros((len(X), 0), dtype=bool)
        return np.column_stack([np.broadcast_to(rule.matches(X), (len(X),)) for rule in self.rules])


def _collect_fields(node: Mapping[str, Any], fields: list[str]) -> None:
    for child in node.get("all") or node.get("any") or ():
        _collect_fields(child, fields)
    if "field" in node and node["field"] not in fields:
        fields.append(node["field"])


def _compile(node: Mapping[str, Any], column: Mapping[str, int]) -> Predicate:
    if "all" in node or "any" in node:
        children = [_compile(child, column) for child in node.get("all") or node.get("any")]
        join = np.logical_and if "all" in node else np.logical_or
        return lambda X: _reduce(join, children, X)
    index, operator, value = column[node["field"]], OPERATORS[node["op"]], _numeric(node.get("value"))
    return lambda X: operator(X[:, index], value)


def _reduce(join, children: Sequence[Predicate], X: np.ndarray) -> np.ndarray:
    result = children[0](X)
    for child in children[1:]:
        result = join(result, child(X))
    return result


def _numeric(value: Any) -> Any:
    """A state (UF) compares as its index, as the `state_code` feature holds it."""
    if isinstance(value, str):
        return float(UFS.index(value))
    if isinstance(value, list):
        return [_numeric(v) for v in value]
    return value


def first_match(matches: np.ndarray) -> np.ndarray:
    """Per row, the index of the first matching rule, or -1."""
    if matches.shape[1] == 0:
        return np.full(len(matches), -1)
    first = np.argmax(matches, axis=1)
    return np.where(matches[np.arange(len(matches)), first], first, -1)


def verdicts(first: np.ndarray, actions: Sequence[str], probability: np.ndarray, threshold: float,
             band: tuple[float, float] | None) -> np.ndarray:
    """bill / block / review per row: the first matching rule's action; else the model, with
    probabilities within [threshold - below, threshold + above) sent to review."""
    out = np.where(probability >= threshold, BLOCK, BILL).astype(object)
    if band is not None:
        below, above = band
        out[(probability >= threshold - below) & (probability < threshold + above)] = REVIEW
    ruled = first >= 0
    if ruled.any():
        out[ruled] = np.asarray(actions, dtype=object)[first[ruled]]
    return out
