"""The rules of a file's columns, read from the JSON item schemas (app/schemas/datasets.py) so the
two paths cannot drift apart: types, required fields, ranges, lengths, patterns, stripping, and
the schema's own validators (cents, CNPJ/CPF, UF, UTC), each mapped to its column-wise form in
`app/services/file_validation.py`. A field whose rule this module does not know fails at import.
"""

from __future__ import annotations

import enum
import types
import typing
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache

import annotated_types as at
from pydantic import AfterValidator, Strict, StringConstraints

from app.domain.states import Kind
from app.schemas import types as field_types
from app.schemas.datasets import ITEM_SCHEMAS

# The schema's Python validators and the column-wise check that replaces each.
VALIDATORS = {
    field_types._two_decimals: "cents",
    field_types._valid_document: "document",
    field_types._valid_uf: "uf",
    field_types._utc_naive: "utc",
}


@dataclass(frozen=True)
class ColumnRule:
    name: str
    type: type  # str, float, int, bool, date or datetime
    required: bool
    strip: bool = False
    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None
    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None
    choices: tuple[str, ...] | None = None
    checks: tuple[str, ...] = ()


@cache
def column_rules(kind: Kind) -> tuple[ColumnRule, ...]:
    """One rule per field of the kind's item schema, in the schema's order."""
    model = ITEM_SCHEMAS[kind]
    strip = bool(model.model_config.get("str_strip_whitespace"))
    return tuple(_rule(name, field.annotation, list(field.metadata), field.is_required(), strip)
                 for name, field in model.model_fields.items())


def _rule(name: str, annotation, metadata: list, required: bool, strip: bool) -> ColumnRule:
    annotation, metadata = _unwrap(annotation, metadata)
    values: dict = {"name": name, "required": required}
    if typing.get_origin(annotation) is typing.Literal:
        values |= {"type": str, "choices": tuple(typing.get_args(annotation))}
    elif isinstance(annotation, type) and issubclass(annotation, enum.Enum):  # a StrEnum: its values
        values |= {"type": str, "choices": tuple(member.value for member in annotation)}
    elif annotation in (str, float, int, bool, date, datetime):
        values |= {"type": annotation, "strip": strip and annotation is str}
    else:
        raise TypeError(f"{name}: no column rule for {annotation!r}")
    checks = []
    for item in metadata:
        if isinstance(item, Strict):
            continue  # files are text: every column is parsed by its own strict grammar
        if isinstance(item, StringConstraints):
            values |= {"min_length": item.min_length, "max_length": item.max_length, "pattern": item.pattern}
            values["strip"] = bool(item.strip_whitespace) or values["strip"]
        elif isinstance(item, (at.Ge, at.Gt, at.Le, at.Lt)):
            values |= {key: float(getattr(item, key)) for key in ("ge", "gt", "le", "lt") if hasattr(item, key)}
        elif isinstance(item, at.MinLen):
            values["min_length"] = item.min_length
        elif isinstance(item, at.MaxLen):
            values["max_length"] = item.max_length
        elif isinstance(item, AfterValidator) and item.func in VALIDATORS:
            checks.append(VALIDATORS[item.func])
        else:
            raise TypeError(f"{name}: no column rule for {item!r}")
    return ColumnRule(**values, checks=tuple(checks))


def _unwrap(annotation, metadata: list) -> tuple[object, list]:
    """`X | None` and `Annotated[X, ...]` down to X, collecting the metadata on the way."""
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        inner = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        if len(inner) != 1:
            raise TypeError(f"no column rule for {annotation!r}")
        annotation = inner[0]
    if typing.get_origin(annotation) is typing.Annotated:
        annotation, *extra = typing.get_args(annotation)
        for item in extra:
            metadata = [*metadata, *getattr(item, "metadata", [item])]
    return annotation, metadata
