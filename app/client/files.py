"""The history files a company uploads, read with an explicit schema: `<kind>.csv` or `<kind>.parquet`.

Columns and types are the canonical ones of each kind (`app.ml.schema.SCHEMAS`); nothing is
inferred. A CSV's separator (`,` or `;`) and decimal mark are detected unless given, and said
aloud. Every error is an InputError naming the file, the line (CSV, header = line 1) or row
(Parquet) and the column.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache, partial
from pathlib import Path

import polars as pl

from app.client.api import KINDS
from app.client.columns import ISO_DATETIME, Formats, clean, has_decimal_comma, parse
from app.ml.schema import SCHEMAS

# What the API lets a file leave out (every other column is required).
OPTIONAL = {"customers": frozenset(), "credit_limits": frozenset(), "serasa_reports": frozenset({"score"}),
            "orders": frozenset({"status"})}
FORMATS = ("csv", "parquet")
SEPARATORS = (",", ";")
_RECORD = "__record"


class InputError(Exception):
    """A file that cannot be uploaded as it is: where (file, line or row, column) and why."""

    def __init__(self, message: str, path: Path | None = None, *, line: int | None = None, row: int | None = None,
                 column: str | None = None) -> None:
        super().__init__(message)
        self.message, self.path, self.line, self.row, self.column = message, path, line, row, column

    def __str__(self) -> str:
        where = [str(self.path)] if self.path else []
        where += [f"line {self.line}"] if self.line else [f"row {self.row}"] if self.row else []
        where += [f"column '{self.column}'"] if self.column else []
        return f"{', '.join(where)}: {self.message}" if where else self.message


@dataclass(frozen=True)
class ReadOptions:
    format: str | None = None  # csv | parquet; None: whichever exists (both: refused)
    separator: str | None = None  # None: detected
    decimal: str | None = None  # point | comma; None: detected
    date_format: str = "%Y-%m-%d"
    datetime_format: str = ISO_DATETIME
    encoding: str = "utf-8"


@dataclass(frozen=True)
class Table:
    """One kind's rows in canonical columns, and where each row came from."""

    kind: str
    path: Path
    frame: pl.DataFrame
    description: str  # how it was read, said aloud
    line_of: Callable[[int], int] | None = field(default=None, repr=False)  # CSV: row -> line

    def locate(self, row: int, column: str | None, message: str) -> InputError:
        """An error at a row of the frame (0-based), mapped back to the file's line or row."""
        return _error_at(self.path, self.line_of, row, column, message)


def _error_at(path: Path, line_of: Callable[[int], int] | None, row: int, column: str | None,
              message: str) -> InputError:
    if line_of is not None:
        return InputError(message, path, line=line_of(row), column=column)
    return InputError(message, path, row=row + 1, column=column)


def find_files(directory: Path, file_format: str | None = None) -> dict[str, Path]:
    """The file of each kind; refuses to choose between a CSV and a Parquet of the same kind."""
    if not directory.is_dir():
        raise InputError(f"{directory} is not a folder (expected {', '.join(f'{k}.csv' for k in KINDS)})")
    found = {}
    for kind in KINDS:
        candidates = [directory / f"{kind}.{ext}" for ext in FORMATS if file_format in (None, ext)]
        present = [path for path in candidates if path.is_file()]
        if len(present) > 1:
            raise InputError(f"both {present[0]} and {present[1]} exist: choose one with --format csv or "
                             "--format parquet")
        if not present:
            names = " or ".join(path.name for path in candidates)
            raise InputError(f"{directory} has no {names}" + (f" (--format {file_format})" if file_format else ""))
        found[kind] = present[0]
    return found


def read_folder(directory: Path, options: ReadOptions, say: Callable[[str], None] = print) -> dict[str, Table]:
    tables = {}
    for kind, path in find_files(directory, options.format).items():
        tables[kind] = read_table(kind, path, options)
        say(tables[kind].description)
    return tables


def read_table(kind: str, path: Path, options: ReadOptions) -> Table:
    if path.suffix == ".parquet":
        return _read_parquet(kind, path)
    return _read_csv(kind, path, options)


# CSV ------------------------------------------------------------------------------------------
def _read_csv(kind: str, path: Path, options: ReadOptions) -> Table:
    text = _decode(path, options.encoding)
    if not text.strip("\ufeff \t\r\n"):
        raise InputError(f"the file is empty; expected a header line with {', '.join(SCHEMAS[kind])}", path, line=1)
    separator = options.separator or _detect_separator(text.lstrip("\ufeff").split("\n", 1)[0])
    raw = _csv_frame(path, text, separator)
    columns = _columns(kind, path, raw.columns)
    raw = raw.filter(~pl.all_horizontal(pl.exclude(_RECORD).is_null()))  # blank lines
    if raw.height == 0:
        raise InputError("no rows after the header", path, line=2)
    texts = {name: clean(raw[original]) for name, original in columns.items()}
    numbers = [texts[n] for n, dtype in SCHEMAS[kind].items() if dtype == pl.Float64 and n in texts]
    comma = options.decimal == "comma" if options.decimal else bool(has_decimal_comma(numbers))
    formats = Formats(decimal_comma=comma, date_format=options.date_format, datetime_format=options.datetime_format)
    records, line_of_record = raw[_RECORD], _line_finder(text, separator)

    def line_of(row: int) -> int:
        return line_of_record(int(records[row]))

    frame = _typed(kind, texts, formats, partial(_error_at, path, line_of))
    said = f"{path}: separator '{separator}'" + (f", decimal {'comma' if comma else 'point'}" if numbers else "")
    said += f", {frame.height:,} rows" + _ignored(raw.columns, columns)
    return Table(kind, path, frame, said, line_of)


def _decode(path: Path, encoding: str) -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read it: {exc.strerror or exc}", path) from None
    try:
        return data.decode("utf-8-sig" if encoding.replace("_", "-").lower() in ("utf-8", "utf8") else encoding)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputError(f"not {encoding} text (byte {data[exc.start]:#04x}); a file saved by Excel on Windows "
                         "is usually --encoding cp1252", path, line=line) from None
    except LookupError:
        raise InputError(f"unknown encoding {encoding!r}", path) from None


def _detect_separator(header: str) -> str:
    return ";" if header.count(";") > header.count(",") else ","


def _csv_frame(path: Path, text: str, separator: str) -> pl.DataFrame:
    try:
        return pl.read_csv(io.BytesIO(text.lstrip("\ufeff").encode()), separator=separator, infer_schema=False,
                           row_index_name=_RECORD, raise_if_empty=True)
    except pl.exceptions.PolarsError as exc:
        line, fields, expected = _ragged(text, separator)
        if line:
            raise InputError(f"{fields} fields where the header has {expected} (separator '{separator}')",
                             path, line=line) from None
        raise InputError(f"cannot read it as CSV: {str(exc).splitlines()[0]}", path) from None


def _ragged(text: str, separator: str) -> tuple[int | None, int, int]:
    """The first line whose record has more or fewer fields than the header, if any."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""), delimiter=separator)
    header, start = next(reader, []), 2
    for record in reader:
        if record and len(record) != len(header):
            return start, len(record), len(header)
        start = reader.line_num + 1
    return None, 0, len(header)


def _line_finder(text: str, separator: str) -> Callable[[int], int]:
    """Record number (0-based, after the header) -> the file line it starts on."""
    if '"' not in text:
        return lambda record: record + 2

    @cache
    def starts() -> list[int]:
        reader = csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""), delimiter=separator)
        lines, start = [], 1
        for _ in reader:
            lines.append(start)
            start = reader.line_num + 1
        return lines[1:]

    return lambda record: starts()[record]


# Parquet --------------------------------------------------------------------------------------
def _read_parquet(kind: str, path: Path) -> Table:
    try:
        raw = pl.read_parquet(path)
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise InputError(f"cannot read it as Parquet: {str(exc).splitlines()[0]}", path) from None
    columns = _columns(kind, path, raw.columns)
    if raw.height == 0:
        raise InputError("no rows", path)
    texts = {name: _parquet_column(path, raw[original], name, SCHEMAS[kind][name])
             for name, original in columns.items()}
    frame = _typed(kind, texts, Formats(), partial(_error_at, path, None))
    said = f"{path}: Parquet, {frame.height:,} rows" + _ignored(raw.columns, columns)
    return Table(kind, path, frame, said)


def _parquet_column(path: Path, column: pl.Series, name: str, dtype: pl.DataType) -> pl.Series:
    """A Parquet column as the canonical type, or as cleaned text to parse (a text column)."""
    have = column.dtype
    if have == pl.String:
        return clean(column)
    if have == dtype:
        return column
    if dtype == pl.Float64 and have.is_numeric():
        return column.cast(pl.Float64)
    if dtype == pl.Int64 and have.is_integer():
        return column.cast(pl.Int64)
    if isinstance(dtype, pl.Datetime) and isinstance(have, pl.Datetime):
        utc = column.dt.convert_time_zone("UTC").dt.replace_time_zone(None) if have.time_zone else column
        return utc.cast(dtype)
    if isinstance(dtype, pl.Datetime) and have == pl.Date:
        return column.cast(dtype)
    if dtype == pl.String and have.is_numeric():
        raise InputError(f"holds numbers ({have}); ids and documents must be text, or leading zeros are lost",
                         path, column=name)
    raise InputError(f"is {have}; expected {dtype}", path, column=name)


# Both -----------------------------------------------------------------------------------------
def _columns(kind: str, path: Path, header: list[str]) -> dict[str, str]:
    """Canonical name -> the file's column name (blanks around names ignored); a required one
    missing is an error naming it and the header."""
    by_name = {name.strip(): name for name in header if name != _RECORD}
    missing = [name for name in SCHEMAS[kind] if name not in by_name and name not in OPTIONAL[kind]]
    if missing:
        plural = "s" if len(missing) > 1 else ""
        raise InputError(f"missing column{plural} {', '.join(repr(m) for m in missing)}; the header has "
                         f"{', '.join(by_name) or 'nothing'}", path, line=1, column=missing[0])
    return {name: by_name[name] for name in SCHEMAS[kind] if name in by_name}


def _typed(kind: str, texts: dict[str, pl.Series], formats: Formats,
           error: Callable[[int, str | None, str], InputError]) -> pl.DataFrame:
    """Every canonical column typed (absent optional ones as nulls); the first bad or missing value
    of a column is an error at its row."""
    height = len(next(iter(texts.values())))
    out = []
    for name, dtype in SCHEMAS[kind].items():
        if name not in texts:
            out.append(pl.Series(name, [None] * height, dtype=dtype))
            continue
        column = texts[name]
        if column.dtype == pl.String and dtype != pl.String:
            column, bad = parse(column, dtype, formats)
            if bad:
                raise error(bad.row, name, bad.message)
        if name not in OPTIONAL[kind] and column.null_count():
            raise error(int(column.is_null().arg_true()[0]), name, "empty; the column is required")
        out.append(column.alias(name))
    return pl.DataFrame(out)


def _ignored(header: list[str], used: dict[str, str]) -> str:
    extra = [name for name in header if name != _RECORD and name not in used.values()]
    return f"; ignoring column{'s' if len(extra) > 1 else ''} {', '.join(extra)}" if extra else ""
