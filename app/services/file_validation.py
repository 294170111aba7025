"""Column-wise validation of a bulk file, chunk by chunk, with Polars: the rules of the JSON items
(app/services/file_rules.py) as expressions, so a million rows are checked in a few vectorised
passes instead of a million Python calls.

Text (every CSV column, a Parquet text column) is parsed by a strict grammar per type: integers
`-?digits`, numbers as JSON writes them, booleans `true`/`false` (any case), dates `YYYY-MM-DD`,
instants as pydantic reads them (`YYYY-MM-DD[T t _ space]HH:MM[:SS[.fraction]][Z|±HH[:]MM]`). An
empty CSV field is an absent value. Typed Parquet columns must be of the field's type (an integer
column is not a boolean, a float column is not an integer, a date is not an instant).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from app.db.records import data_columns
from app.domain.states import Kind
from app.schemas.types import UFS
from app.services.file_rules import ColumnRule, column_rules

LINE = "_line"
MAX_ERRORS = 100
_INT = r"^-?\d+$"
_NUMBER = r"^-?\d+(\.\d+)?([eE][+-]?\d+)?$"
_DATE = r"^\d{4}-\d{2}-\d{2}$"
_DATETIME = (r"^(?<date>\d{4}-\d{2}-\d{2})[Tt_ ](?<hm>\d{2}:\d{2})(?::(?<s>\d{2})(?:[.,](?<f>\d+))?)?"
             r"(?<tz>[Zz]|(?<sign>[+-])(?<oh>\d{2}):?(?<om>\d{2}))?$")
_PUNCTUATION = r"[\s./\-]"
_CHAR_VALUES = {c: ord(c) - 48 for c in "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"}
_CNPJ_WEIGHTS = ((5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2), (6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2))
_CPF_WEIGHTS = (tuple(range(10, 1, -1)), tuple(range(11, 1, -1)))
_INTEGERS = (pl.Int8, pl.Int16, pl.Int32, pl.Int64, pl.UInt8, pl.UInt16, pl.UInt32, pl.UInt64)
_FLOATS = (pl.Float32, pl.Float64)


@dataclass(frozen=True)
class Checked:
    """A chunk's values in table column order (meaningless when it has errors), its error count
    and its first errors (line, field, message) in line order."""

    frame: pl.DataFrame
    error_count: int
    errors: list[dict]


def header_errors(kind: Kind, columns: list[str]) -> list[dict]:
    """Unknown columns, required columns missing, a column named twice: errors of line 1."""
    rules = {rule.name: rule for rule in column_rules(kind)}
    errors = [_entry(1, name, "Extra inputs are not permitted (no such field)", "extra_forbidden")
              for name in columns if name not in rules]
    errors += [_entry(1, name, "Field required (the column is missing)", "missing")
               for name, rule in rules.items() if rule.required and name not in columns]
    errors += [_entry(1, name, "the column appears more than once", "duplicate_column")
               for name in sorted({c for c in columns if columns.count(c) > 1})]
    return errors


def check_chunk(kind: Kind, raw: pl.DataFrame, first_line: int, limit: int = MAX_ERRORS) -> Checked:
    """Validate one chunk whose first row is line `first_line` of the file. What is costly to parse
    (instants) is parsed once first; then each column's value and error."""
    rules = column_rules(kind)
    exprs = []
    for rule in rules:
        value, error = _column(rule, raw.schema.get(rule.name))
        exprs += [value.alias(rule.name), error.alias(f"error:{rule.name}")]
    prepared = raw
    for stage in _intermediates(raw, rules):
        prepared = prepared.with_columns(stage)
    frame = prepared.select(*exprs, pl.int_range(first_line, first_line + raw.height, dtype=pl.Int64).alias(LINE))
    error_columns = [f"error:{rule.name}" for rule in rules]
    error_count = int(frame.select(pl.sum_horizontal(pl.col(error_columns).is_not_null())).to_series().sum())
    errors = _first_errors(frame, error_columns, limit) if error_count else []
    return Checked(frame.select(data_columns(kind.value)), error_count, errors)


def _intermediates(raw: pl.DataFrame, rules: tuple[ColumnRule, ...]) -> list[list[pl.Expr]]:
    """Columns parsed once that the errors read, in stages (instants: their regex groups, then
    their wall time and offset). Polars does not share a sub-expression between expressions of an
    eager select: each `struct.field` of one `extract_groups` ran the regex again."""
    instants = [rule.name for rule in rules
                if rule.type.__name__ == "datetime" and raw.schema.get(rule.name) == pl.String]
    if not instants:
        return []
    return [[pl.col(name).str.extract_groups(_DATETIME).alias(f"{name}#groups") for name in instants],
            [expr for name in instants for expr in _instant_parts(name)]]


def _first_errors(frame: pl.DataFrame, error_columns: list[str], limit: int) -> list[dict]:
    failing = frame.filter(pl.any_horizontal(pl.col(error_columns).is_not_null())).head(limit)
    out = []
    for row in failing.select(LINE, *error_columns).iter_rows(named=True):
        for column in error_columns:
            if row[column] is not None and len(out) < limit:
                out.append(_entry(row[LINE], column.removeprefix("error:"), row[column]))
    return out


def _entry(line: int, field: str, message: str, kind: str = "value_error") -> dict:
    return {"line": line, "field": field, "message": message, "type": kind, "loc": [line, field]}


def _column(rule: ColumnRule, dtype: pl.DataType | None) -> tuple[pl.Expr, pl.Expr]:
    """(value, error message or null) of one column."""
    if dtype is None:  # an optional column left out (a missing required one is a header error)
        return pl.lit(None, dtype=_polars_type(rule)), pl.lit(None, dtype=pl.String)
    source = pl.col(rule.name)
    if isinstance(dtype, (pl.Categorical, pl.Enum)):
        source, dtype = source.cast(pl.String), pl.String()
    missing = source.is_null()
    if dtype == pl.String:
        value, problems = _text(rule, source)
    else:
        value, problems = _typed(rule, source, dtype)
    problems = [(missing, "Field required" if rule.required else None), *problems]
    return pl.when(missing).then(None).otherwise(value), _first_problem(problems)


def _first_problem(problems: list[tuple[pl.Expr, str | None]]) -> pl.Expr:
    chain = None
    for condition, message in problems:
        message_expr = pl.lit(message, dtype=pl.String)
        chain = pl.when(condition).then(message_expr) if chain is None else chain.when(condition).then(message_expr)
    return chain.otherwise(pl.lit(None, dtype=pl.String))


def _polars_type(rule: ColumnRule) -> pl.DataType:
    return {str: pl.String(), float: pl.Float64(), int: pl.Int64(), bool: pl.Boolean()}.get(rule.type) or (
        pl.Datetime("us") if rule.type.__name__ == "datetime" else pl.Date())


def _text(rule: ColumnRule, text: pl.Expr) -> tuple[pl.Expr, list]:
    name = rule.type.__name__
    if rule.type is str:
        return _string(rule, text)
    if rule.type is bool:
        lowered = text.str.to_lowercase()
        bad = ~lowered.is_in(["true", "false"])
        return lowered == "true", [(bad, "Input should be a valid boolean (true or false)")]
    if rule.type is int:
        value = text.cast(pl.Int64, strict=False)
        bad = ~text.str.contains(_INT) | value.is_null()
        return value, [(bad, "Input should be a valid integer"), *_ranges(rule, value)]
    if rule.type is float:
        value = text.cast(pl.Float64, strict=False)
        bad = ~text.str.contains(_NUMBER) | value.is_null()
        return value, [(bad, "Input should be a valid number"), *_ranges(rule, value), *_cents(rule, value)]
    if name == "date":
        value = text.str.to_date("%Y-%m-%d", strict=False)
        bad = ~text.str.contains(_DATE) | value.is_null() | (value.dt.year() < 1)
        return value, [(bad, "Input should be a valid date in the format YYYY-MM-DD")]
    return _instant(rule.name)


def _string(rule: ColumnRule, text: pl.Expr) -> tuple[pl.Expr, list]:
    value = text.str.strip_chars() if rule.strip else text
    problems = []
    if rule.choices is not None:
        choices = " or ".join(f"'{c}'" for c in rule.choices)
        problems.append((~value.is_in(list(rule.choices)), f"Input should be {choices}"))
    if rule.min_length is not None:
        problems.append((value.str.len_chars() < rule.min_length,
                         f"String should have at least {rule.min_length} character"))
    if rule.max_length is not None:
        problems.append((value.str.len_chars() > rule.max_length,
                         f"String should have at most {rule.max_length} characters"))
    if rule.pattern is not None:
        problems.append((~value.str.contains(rule.pattern),
                         "String should not contain control or bidirectional-override characters"))
    if "document" in rule.checks:
        value = value.str.replace_all(_PUNCTUATION, "").str.to_uppercase()
        problems.append((~_valid_document(value), "must be a CNPJ (14) or CPF (11) with valid check digits"))
    if "uf" in rule.checks:
        value = value.str.to_uppercase()
        problems.append((~value.is_in(sorted(UFS)), "must be a Brazilian state code (UF), e.g. SP"))
    return value, problems


def _ranges(rule: ColumnRule, value: pl.Expr) -> list:
    out = []
    for bound, operator, words in (("ge", "__lt__", "greater than or equal to"), ("gt", "__le__", "greater than"),
                                   ("le", "__gt__", "less than or equal to"), ("lt", "__ge__", "less than")):
        limit = getattr(rule, bound)
        if limit is not None:
            shown = int(limit) if float(limit).is_integer() else limit
            out.append((getattr(value, operator)(limit), f"Input should be {words} {shown}"))
    return out


def _cents(rule: ColumnRule, value: pl.Expr) -> list:
    """The value is the double nearest k/100 for an integer k, as `round(v, 2) == v` asks (exact
    for |v| < 1e12: v*100 is then within 0.02 of k)."""
    if "cents" not in rule.checks:
        return []
    off = value.map_batches(_not_cents, return_dtype=pl.Boolean)
    return [(off, "must have at most two decimal places (BRL cents)")]


def _not_cents(values: pl.Series) -> pl.Series:
    # NumPy, not a Polars expression: Polars divides by a constant as a multiplication by its
    # inverse (99.99 became 99.99000000000001), and the check needs the correctly rounded k / 100.
    array = values.to_numpy()
    return pl.Series(np.rint(array * 100) / 100 != array)


def _part(name: str, part: str) -> pl.Expr:
    return pl.col(f"{name}#{part}")


def _instant_parts(name: str) -> list[pl.Expr]:
    """An instant's text, split once: its wall time (naive), its offset in minutes, and whether
    it matched the grammar at all."""
    parts = _part(name, "groups")
    seconds = parts.struct.field("s").fill_null("00")
    fraction = parts.struct.field("f").fill_null("").str.slice(0, 6).str.pad_end(6, "0")
    wall = pl.concat_str(parts.struct.field("date"), pl.lit(" "), parts.struct.field("hm"), pl.lit(":"), seconds,
                         pl.lit("."), fraction).str.to_datetime("%Y-%m-%d %H:%M:%S%.f", time_unit="us", strict=False)
    sign = pl.when(parts.struct.field("sign") == "-").then(-1).otherwise(1)
    hours = parts.struct.field("oh").cast(pl.Int64).fill_null(0)
    minutes = parts.struct.field("om").cast(pl.Int64).fill_null(0)
    return [wall.alias(f"{name}#wall"), (sign * (hours * 60 + minutes)).alias(f"{name}#offset"),
            ((hours > 23) | (minutes > 59)).alias(f"{name}#bad_offset"),
            (parts.struct.field("date").is_null() | (seconds.cast(pl.Int64) > 59)).alias(f"{name}#unparsed")]


def _instant(name: str) -> tuple[pl.Expr, list]:
    """Naive UTC from the parts of `_instant_parts` (no leap seconds: pydantic refuses :60)."""
    value = _part(name, "wall") - pl.duration(minutes=_part(name, "offset"))
    unparsed = _part(name, "unparsed") | _part(name, "wall").is_null()
    out_of_range = (value.dt.year() < 1) | (value.dt.year() > 9999)
    return value, [(unparsed, "Input should be a valid datetime (ISO 8601, e.g. 2026-01-31T09:30:00-03:00)"),
                   (_part(name, "bad_offset"), "Input should be a valid datetime (the time zone offset is out "
                                                "of range)"),
                   (out_of_range, "is out of range once converted to UTC")]


def _typed(rule: ColumnRule, source: pl.Expr, dtype: pl.DataType) -> tuple[pl.Expr, list]:
    """A typed (Parquet) column: of the field's type, or every value is an error."""
    name = rule.type.__name__
    wrong = (pl.lit(True), f"Input should be a valid {name} (the column is {dtype})")
    if rule.type is bool and dtype == pl.Boolean:
        return source, []
    if rule.type is int and isinstance(dtype, _INTEGERS):
        value = source.cast(pl.Int64, strict=False)
        return value, [(value.is_null(), "Input should be a valid integer"), *_ranges(rule, value)]
    if rule.type is float and (isinstance(dtype, (*_INTEGERS, *_FLOATS)) or isinstance(dtype, pl.Decimal)):
        value = source.cast(pl.Float64)
        return value, [(value.is_nan(), "Input should be a finite number"), *_ranges(rule, value),
                       *_cents(rule, value)]
    if name == "date" and dtype == pl.Date:
        return source, []
    if name == "datetime" and isinstance(dtype, pl.Datetime):
        value = source
        if dtype.time_zone is not None:
            value = value.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
        value = value.cast(pl.Datetime("us"))
        return value, [((value.dt.year() < 1) | (value.dt.year() > 9999), "is out of range once converted to UTC")]
    return pl.lit(None, dtype=_polars_type(rule)), [wrong]


def _valid_document(text: pl.Expr) -> pl.Expr:
    """CNPJ (numeric or alphanumeric) or CPF check digits, column-wise (app/domain/documents.py)."""
    values = [text.str.slice(i, 1).replace_strict(_CHAR_VALUES, default=None, return_dtype=pl.Int64)
              for i in range(14)]
    cnpj = (text.str.contains(r"^[0-9A-Z]{12}[0-9]{2}$") & ~_all_same(values[:14])
            & _check_digits(values[:12], _CNPJ_WEIGHTS, values[12], values[13]))
    cpf = (text.str.contains(r"^[0-9]{11}$") & ~_all_same(values[:11])
           & _check_digits(values[:9], _CPF_WEIGHTS, values[9], values[10]))
    return (cnpj | cpf).fill_null(False)


def _all_same(values: list[pl.Expr]) -> pl.Expr:
    return pl.all_horizontal([value == values[0] for value in values[1:]])


def _check_digits(base: list[pl.Expr], weights: tuple[tuple[int, ...], tuple[int, ...]], first: pl.Expr,
                  second: pl.Expr) -> pl.Expr:
    expected_first = _mod11(pl.sum_horizontal([v * w for v, w in zip(base, weights[0], strict=True)]))
    expected_second = _mod11(pl.sum_horizontal([v * w for v, w in zip([*base, expected_first], weights[1],
                                                                        strict=True)]))
    return (first == expected_first) & (second == expected_second)


def _mod11(total: pl.Expr) -> pl.Expr:
    remainder = total % 11
    return pl.when(remainder < 2).then(0).otherwise(11 - remainder)
