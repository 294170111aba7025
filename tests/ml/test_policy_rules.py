"""Policy rules over feature rows: operators, all/any, missing values, first match."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from app.errors import error_entries
from app.ml.features import FEATURE_NAMES
from app.ml.policy import Rules, first_match, verdicts
from app.schemas.policies import PolicyCreate

COL = {name: i for i, name in enumerate(FEATURE_NAMES)}
LABEL = {"en": "x", "pt-BR": "y"}


def rows(*values: dict) -> np.ndarray:
    X = np.full((len(values), len(FEATURE_NAMES)), np.nan)
    for i, row in enumerate(values):
        for name, value in row.items():
            X[i, COL[name]] = value
    return X


def policy(*rules) -> PolicyCreate:
    return PolicyCreate.model_validate({"name": "p", "rules": [
        {"id": f"r{i}", "action": action, "label": LABEL, "when": when} for i, (action, when) in enumerate(rules)]})


def compiled(p: PolicyCreate) -> Rules:
    return Rules.compile(p.model_dump(by_alias=True, exclude_none=True)["rules"])


def rule_matches(rules: Rules, X: np.ndarray) -> np.ndarray:
    """Match on full feature rows: the rules read their own columns of them."""
    return rules.matches(X[:, [COL[f] for f in rules.fields]])


@pytest.mark.parametrize(("op", "value", "expected"), [
    ("<", 2, [True, False, False, False]), ("<=", 2, [True, True, False, False]),
    (">", 2, [False, False, True, False]), (">=", 2, [False, True, True, False]),
    ("==", 2, [False, True, False, False]), ("!=", 2, [True, False, True, False]),
    ("in", [1, 3], [True, False, True, False]), ("missing", None, [False, False, False, True]),
    ("present", None, [True, True, True, False]),
])
def test_each_operator_and_a_missing_value(op, value, expected):
    condition = {"field": "pefin_count", "op": op} | ({} if value is None else {"value": value})
    X = rows({"pefin_count": 1}, {"pefin_count": 2}, {"pefin_count": 3}, {})
    assert rule_matches(compiled(policy(("block", {"all": [condition]}))), X)[:, 0].tolist() == expected


def test_all_any_nested_and_the_first_matching_rule_decides():
    p = policy(
        ("block", {"all": [{"field": "bankruptcy_count", "op": ">", "value": 0}]}),
        ("review", {"any": [{"field": "amount_to_limit", "op": ">", "value": 1.5},
                            {"all": [{"field": "limit_amount", "op": "missing"},
                                     {"field": "amount", "op": ">=", "value": 10_000}]}]}),
        ("bill", {"all": [{"field": "state_code", "op": "in", "value": ["SP", "RJ"]}]}),
    )
    X = rows({"bankruptcy_count": 1, "amount_to_limit": 2.0},  # both rules 0 and 1: rule 0 decides
             {"bankruptcy_count": 0, "amount_to_limit": 1.6},  # rule 1 (first branch)
             {"bankruptcy_count": 0, "amount": 20_000},  # rule 1 (nested: no limit, large)
             {"bankruptcy_count": 0, "amount": 500, "state_code": 25},  # SP: rule 2
             {"bankruptcy_count": 0, "amount": 500, "amount_to_limit": 0.1, "state_code": 4})  # none
    matches = rule_matches(compiled(p), X)
    assert matches.tolist()[0] == [True, True, False]
    assert first_match(matches).tolist() == [0, 1, 1, 2, -1]


def validation_errors(body: dict) -> dict[str, str]:
    with pytest.raises(ValidationError) as info:
        PolicyCreate.model_validate(body)
    return {e["field"]: e["message"] for e in error_entries(info.value.errors())}


def test_bad_policies_name_the_rule_index_and_field():
    rule = {"id": "a", "action": "block", "label": LABEL, "when": {"all": [{"field": "amount", "op": ">", "value": 1}]}}
    errors = validation_errors({"name": "p", "rules": [
        rule | {"when": {"any": [{"field": "nope", "op": ">", "value": 1}]}},
        rule | {"id": "b", "when": {"all": [{"field": "amount", "op": "~", "value": 1}]}},
        rule | {"id": "c", "when": {"all": [{"field": "amount", "op": ">", "value": "big"}]}},
        rule | {"id": "d", "label": {"en": "only english"}},
    ], "review_band": {"below": -0.1, "above": 0.05}, "operating_point": {"strategy": "target_recall", "value": 1}})
    assert set(errors) == {"rules.0.when.any.0.field", "rules.1.when.all.0.op", "rules.2.when.all.0.value",
                           "rules.3.label.pt-BR", "review_band.below", "operating_point.value"}
    assert "unknown field 'nope'" in errors["rules.0.when.any.0.field"]
    duplicate = validation_errors({"name": "p", "rules": [rule, rule]})
    assert duplicate == {"rules": "Value error, rule 1 repeats the id 'a' of rule 0"}


def test_the_rules_matrix_holds_only_the_fields_they_read():
    rules = compiled(policy(("block", {"all": [{"field": "bankruptcy_count", "op": ">", "value": 0},
                                               {"field": "amount", "op": ">=", "value": 10}]})))
    assert rules.fields == ("bankruptcy_count", "amount")
    X = rules.matrix([{"bankruptcy_count": 1, "amount": 50.0, "tenure_days": 9.0}, {"amount": None}])
    assert X.shape == (2, 2) and X[0].tolist() == [1.0, 50.0] and np.isnan(X[1]).all()


def test_verdicts_rule_first_then_the_model_and_its_review_band():
    first = np.array([1, -1, -1, -1, -1])
    p = np.array([0.9, 0.9, 0.52, 0.47, 0.1])
    assert verdicts(first, ["block", "bill"], p, 0.5, None).tolist() == ["bill", "block", "block", "bill", "bill"]
    # band [0.45, 0.55): .52 and .47 go to an analyst; a rule still decides its row
    assert verdicts(first, ["block", "bill"], p, 0.5, (0.05, 0.05)).tolist() == [
        "bill", "block", "review", "review", "bill"]
