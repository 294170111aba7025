"""Text columns to typed columns, by an explicit type and format, each bad value found by its row.

Nothing is inferred: an id or a document stays text (leading zeros kept), a date is read with
one format, a number with the file's decimal mark. A parser gives the typed column and, if a
value does not fit, the first row that does not and why.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

TRUE = ("true", "t", "1", "yes", "y", "sim", "s")
FALSE = ("false", "f", "0", "no", "n", "nao", "não")
ISO_DATETIME = "ISO 8601"
_ISO_DATETIME_FORMATS = ("%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M%z",
                         "%Y-%m-%d")
_THOUSANDS_WITH_COMMA = r"^[+-]?\d{1,3}(\.\d{3})+(,\d*)?$"


@dataclass(frozen=True)
class Formats:
    decimal_comma: bool = False
    date_format: str = "%Y-%m-%d"
    datetime_format: str = ISO_DATETIME


@dataclass(frozen=True)
class BadValue:
    row: int  # 0-based position in the column
    value: str
    message: str


def clean(text: pl.Series) -> pl.Series:
    """Surrounding blanks removed; an empty value is a missing one."""
    stripped = pl.col("v").str.strip_chars()
    return _map(text, pl.when(stripped != "").then(stripped))


def parse(text: pl.Series, dtype: pl.DataType, formats: Formats) -> tuple[pl.Series, BadValue | None]:
    """`text` (cleaned) as `dtype`; the first value that does not fit, if any."""
    if dtype == pl.String:
        return text, None
    parsed = _PARSERS[type(dtype)](text, formats)
    lost = parsed.is_null() & text.is_not_null()
    if dtype == pl.Float64:
        lost = lost | (parsed.is_not_null() & ~parsed.is_finite()).fill_null(False)
    if not lost.any():
        return parsed, None
    row = int(lost.arg_true()[0])
    return parsed, BadValue(row, text[row], _why(text[row], dtype, formats))


def has_decimal_comma(columns: list[pl.Series]) -> bool | None:
    """Detected from the number columns: a comma in a value says decimal comma, a dot (and no
    comma) decimal point; None when no value has either (whole numbers only)."""
    commas = any(column.str.contains(",", literal=True).any() for column in columns)
    dots = any(column.str.contains(".", literal=True).any() for column in columns)
    return True if commas else (False if dots else None)


def _map(text: pl.Series, expr: pl.Expr) -> pl.Series:
    """`expr` over `text` (named `v` in it)."""
    return text.to_frame("v").select(expr.alias(text.name)).to_series()


def _boolean(text: pl.Series, formats: Formats) -> pl.Series:
    lower = pl.col("v").str.to_lowercase()
    return _map(text, pl.when(lower.is_in(TRUE)).then(True).when(lower.is_in(FALSE)).then(False))


def _integer(text: pl.Series, formats: Formats) -> pl.Series:
    value = pl.col("v")
    return _map(text, pl.when(value.str.contains(r"^[+-]?\d+$")).then(value).cast(pl.Int64, strict=False))


def _float(text: pl.Series, formats: Formats) -> pl.Series:
    value = pl.col("v")
    if formats.decimal_comma:
        ungrouped = pl.when(value.str.contains(_THOUSANDS_WITH_COMMA)).then(
            value.str.replace_all(".", "", literal=True)).otherwise(value)
        number = pl.when(~ungrouped.str.contains(".", literal=True)).then(
            ungrouped.str.replace(",", ".", literal=True))
    else:
        number = pl.when(~value.str.contains(",", literal=True)).then(value)
    return _map(text, number.cast(pl.Float64, strict=False))


def _date(text: pl.Series, formats: Formats) -> pl.Series:
    return _map(text, pl.col("v").str.to_date(formats.date_format, strict=False))


def _datetime(text: pl.Series, formats: Formats) -> pl.Series:
    """Naive UTC microseconds: a value with an offset is converted to UTC, one without is UTC.
    ISO 8601 tries its forms in turn, each on the values the earlier ones could not read."""
    if formats.datetime_format != ISO_DATETIME:
        return _map(text, _to_utc(pl.col("v"), formats.datetime_format))
    iso = _map(text, pl.col("v").str.replace(" ", "T", literal=True).str.replace(r"[Zz]$", "+00:00"))
    parsed = _map(iso, _to_utc(pl.col("v"), _ISO_DATETIME_FORMATS[0]))
    for form in _ISO_DATETIME_FORMATS[1:]:
        unread = (parsed.is_null() & iso.is_not_null()).arg_true()
        if unread.is_empty():
            break
        parsed = parsed.scatter(unread, _map(iso.gather(unread), _to_utc(pl.col("v"), form)))
    return parsed


def _to_utc(value: pl.Expr, form: str) -> pl.Expr:
    return value.str.to_datetime(form, time_unit="us", time_zone="UTC", strict=False).dt.replace_time_zone(None)


_PARSERS = {pl.Boolean: _boolean, pl.Int64: _integer, pl.Float64: _float, pl.Date: _date, pl.Datetime: _datetime}


def _why(value: str, dtype: pl.DataType, formats: Formats) -> str:
    if dtype == pl.Boolean:
        return f"{value!r} is not a boolean (true/false, 1/0, yes/no, sim/não)"
    if dtype == pl.Int64:
        return f"{value!r} is not a whole number"
    if dtype == pl.Float64:
        return _why_number(value, formats)
    if dtype == pl.Date:
        hint = " (for day/month/year use --date-format %d/%m/%Y)" if "/" in value else ""
        return f"{value!r} is not a date in the format {formats.date_format}{hint}"
    hint = " (--datetime-format sets another format)" if formats.datetime_format == ISO_DATETIME else ""
    return f"{value!r} is not a date-time in the format {formats.datetime_format}{hint}"


def _why_number(value: str, formats: Formats) -> str:
    if formats.decimal_comma and "." in value:
        return f"{value!r} has a decimal point, but the file is read with a decimal comma (--decimal point)"
    if not formats.decimal_comma and "," in value:
        return f"{value!r} has a comma, but the file is read with a decimal point (--decimal comma)"
    return f"{value!r} is not a number"
