"""Credit policies: rules over the decision's inputs, an operating point and a review band.

Declarative JSON (no code, no eval), validated on creation: every error names the rule index and
the field (`rules.1.when.any.0.op`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    Discriminator,
    Field,
    StringConstraints,
    Tag,
    ValidationInfo,
    field_validator,
    model_validator,
)

from app.ml.features import FEATURE_NAMES, UFS
from app.ml.policy import OPERATORS, VALUELESS
from app.schemas.common import Page, ReadModel, RequestModel
from app.schemas.types import NO_CONTROL_CHARACTERS

RuleId = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
LabelText = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=NO_CONTROL_CHARACTERS)]
Operator = Literal["<", "<=", ">", ">=", "==", "!=", "in", "missing", "present"]
assert set(Operator.__args__) == set(OPERATORS)  # noqa: S101 - one list of operators


class Label(RequestModel):
    en: LabelText
    pt_BR: LabelText = Field(alias="pt-BR")

    model_config = {"populate_by_name": True, "extra": "forbid"}


class Condition(RequestModel):
    model_config = {"extra": "forbid", "str_strip_whitespace": True, "validate_default": True}

    field: str = Field(description="a model feature, e.g. bankruptcy_count, amount_to_limit, amount")
    op: Operator
    value: float | list[float] | str | list[str] | None = Field(
        default=None, description="a number (a list for `in`; none for missing/present); state_code takes UFs")

    @field_validator("field")
    @classmethod
    def _known_feature(cls, name: str) -> str:
        if name not in FEATURE_NAMES:
            raise ValueError(f"unknown field {name!r}; use a model feature such as bankruptcy_count or amount")
        return name

    @field_validator("value", mode="before")
    @classmethod
    def _value_fits_the_operator(cls, value: Any, info: ValidationInfo) -> Any:
        if "field" not in info.data or "op" not in info.data:
            return value  # the field or op is wrong already; that error is reported
        return _normalised_value(info.data["field"], info.data["op"], value)


def _normalised_value(field: str, op: str, value: Any) -> float | list[float] | str | list[str] | None:
    if field == "state_code" and value is not None:  # the feature is the UF's index: "SP" reads better
        _state_codes(value)  # validates; the compiled rule maps UFs to their index (app/ml/policy.py)
        if isinstance(value, str) or (isinstance(value, list) and all(isinstance(v, str) for v in value)):
            if op in ("==", "!=") and isinstance(value, str) or op == "in" and isinstance(value, list):
                return [v.upper() for v in value] if isinstance(value, list) else value.upper()
            raise ValueError(f"op {op!r} does not take a state (UF); use == / != with one, in with a list")
    if op in VALUELESS:
        if value is not None:
            raise ValueError(f"op {op!r} takes no value")
        return None
    if op == "in":
        if not isinstance(value, list) or not value or any(isinstance(v, (str, bool)) for v in value):
            raise ValueError("op 'in' needs a non-empty list of numbers")
        return [float(v) for v in value]
    if isinstance(value, (list, str, bool)) or value is None:
        raise ValueError(f"op {op!r} needs a number")
    return float(value)


def _state_codes(value: Any) -> Any:
    def code(uf: Any) -> Any:
        if isinstance(uf, str):
            if uf.upper() not in UFS:
                raise ValueError(f"{uf!r} is not a Brazilian state (UF)")
            return float(UFS.index(uf.upper()))
        return uf

    return [code(v) for v in value] if isinstance(value, list) else code(value)


def _node_kind(node: Any) -> str:
    """A group has `all` or `any`; anything else is validated as a condition (and refused there)."""
    if isinstance(node, dict):
        keys = node
    elif isinstance(node, BaseModel):
        keys = type(node).model_fields
    else:
        return "condition"
    return "group" if "all" in keys or "any" in keys else "condition"


class _OneJoin(RequestModel):
    @model_validator(mode="after")
    def _one_join(self) -> _OneJoin:
        if (getattr(self, "all", None) is None) == (getattr(self, "any", None) is None):
            raise ValueError("a condition group has exactly one of 'all' or 'any'")
        return self


class SubGroup(_OneJoin):
    """Conditions joined by `all` or `any`, inside a rule's `when`. Two levels are the whole
    nesting ("A and (B or C)"): a schema without recursion is one every client generator and
    fuzzer can walk."""

    all: list[Condition] | None = Field(default=None, min_length=1, max_length=50)
    any: list[Condition] | None = Field(default=None, min_length=1, max_length=50)


Node = Annotated[Annotated[Condition, Tag("condition")] | Annotated[SubGroup, Tag("group")],
                 Discriminator(_node_kind)]


class Group(_OneJoin):
    """A rule's `when`: conditions, or groups of conditions, joined by `all` or `any`."""

    all: list[Node] | None = Field(default=None, min_length=1, max_length=50)
    any: list[Node] | None = Field(default=None, min_length=1, max_length=50)


class Rule(RequestModel):
    id: RuleId
    action: Literal["block", "bill", "review"]
    label: Label
    when: Group


class OperatingPoint(RequestModel):
    strategy: Literal["max_f1", "target_recall", "max_false_bill_rate", "costs"] = "max_f1"
    value: float | None = Field(default=None, gt=0, lt=1, strict=True,
                                description="target_recall / max_false_bill_rate")
    cost_wrong_bill: float | None = Field(default=None, gt=0, le=1e6, strict=True,
                                          description="costs: per BRL of a bad order billed")
    cost_wrong_block: float | None = Field(default=None, gt=0, le=1e6, strict=True,
                                           description="costs: per BRL of a good order blocked")

    @model_validator(mode="after")
    def _parameters(self) -> OperatingPoint:
        needs_value = self.strategy in ("target_recall", "max_false_bill_rate")
        if needs_value and self.value is None:
            raise ValueError(f"strategy {self.strategy} needs a value in (0, 1)")
        if self.strategy == "costs" and (self.cost_wrong_bill is None or self.cost_wrong_block is None):
            raise ValueError("strategy costs needs cost_wrong_bill and cost_wrong_block")
        return self

    def params(self) -> dict[str, float]:
        return {k: v for k, v in (("value", self.value), ("cost_wrong_bill", self.cost_wrong_bill),
                                  ("cost_wrong_block", self.cost_wrong_block)) if v is not None}


class ReviewBand(RequestModel):
    below: float = Field(ge=0, le=1, strict=True, description="review probabilities from threshold - below ...")
    above: float = Field(ge=0, le=1, strict=True, description="... up to (not including) threshold + above")


EXAMPLE_POLICY = {
    "name": "conservative",
    "rules": [
        {"id": "bankruptcy", "action": "block",
         "label": {"en": "Bankruptcy filing on the Serasa report", "pt-BR": "Falência requerida no Serasa"},
         "when": {"all": [{"field": "bankruptcy_count", "op": ">", "value": 0}]}},
        {"id": "over-limit", "action": "review",
         "label": {"en": "Order above 1.5x the credit limit", "pt-BR": "Pedido acima de 1,5x o limite"},
         "when": {"any": [{"field": "amount_to_limit", "op": ">", "value": 1.5},
                          {"field": "limit_amount", "op": "missing"}]}},
    ],
    "operating_point": {"strategy": "max_false_bill_rate", "value": 0.02},
    "review_band": {"below": 0.05, "above": 0.05},
}


class PolicyCreate(RequestModel):
    model_config = {"extra": "forbid", "str_strip_whitespace": True,
                    "json_schema_extra": {"examples": [EXAMPLE_POLICY]}}

    name: Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=NO_CONTROL_CHARACTERS)]
    rules: list[Rule] = Field(default_factory=list, max_length=100)
    operating_point: OperatingPoint = Field(default_factory=OperatingPoint)
    review_band: ReviewBand | None = None

    @field_validator("rules")
    @classmethod
    def _unique_ids(cls, rules: list[Rule]) -> list[Rule]:
        seen: dict[str, int] = {}
        for index, rule in enumerate(rules):
            if rule.id in seen:
                raise ValueError(f"rule {index} repeats the id {rule.id!r} of rule {seen[rule.id]}")
            seen[rule.id] = index
        return rules

    @property
    def reviews(self) -> bool:
        """Whether decisions under this policy can be `review`."""
        return self.review_band is not None or any(rule.action == "review" for rule in self.rules)


class PolicyRead(ReadModel):
    version: int
    name: str
    active: bool
    rules: list[dict[str, Any]]
    operating_point: dict[str, Any]
    review_band: dict[str, Any] | None
    threshold: float | None = Field(description="the operating point's threshold for the active model")
    model_version: int | None = Field(description="the active model the threshold is computed for")
    created_at: datetime
    activated_at: datetime | None


class PolicyPage(Page[PolicyRead]):
    """A page of the company's policy versions, newest first."""


class SimulationRequest(RequestModel):
    """What to backtest: a policy (inline or a stored version), a model and labelled orders."""

    model_config = {"extra": "forbid", "json_schema_extra": {"examples": [{"policy_version": 1}]}}

    policy: PolicyCreate | None = Field(default=None, description="a policy to try without storing it")
    policy_version: Annotated[int, Field(ge=1, le=2**31 - 1, strict=True)] | None = None
    model_version: Annotated[int, Field(ge=1, le=2**31 - 1, strict=True)] | None = Field(
        default=None, description="default: the active version")
    dataset_id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9-]{1,64}$")] | None = Field(
        default=None, description="a valid dataset with recorded statuses; default: the model's hold-out orders")

    @model_validator(mode="after")
    def _one_policy(self) -> SimulationRequest:
        if (self.policy is None) == (self.policy_version is None):
            raise ValueError("send exactly one of policy and policy_version")
        return self


class Counts(BaseModel):
    bill: int = 0
    block: int = 0
    review: int = 0


class SimulationFigures(BaseModel):
    """What the policy would have decided on the orders, against what the company recorded."""

    threshold: float
    counts: Counts
    confusion: dict[Literal["billed", "blocked"], Counts] = Field(
        description="rows: the recorded status; columns: the simulated decision")
    cost: float = Field(description="BRL: cost_wrong_bill x amounts of recorded-blocked orders billed + "
                                    "cost_wrong_block x amounts of recorded-billed orders blocked (1 and 1 "
                                    "unless the operating point is `costs`); orders sent to review cost nothing")
    rule_hits: dict[str, int] = Field(description="orders each rule matched (whether it decided them or not)")
    decided_by_rules: int


class SimulationRead(SimulationFigures):
    orders: int
    model_version: int
    dataset_id: str
    sample: Literal["dataset", "holdout"]
    active: SimulationFigures = Field(description="the same figures for the active policy, or the model alone")
    seconds: dict[str, float] = Field(description="features, and scoring + rules")
