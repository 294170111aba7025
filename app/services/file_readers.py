"""Reading a spooled bulk file in chunks, never whole: CSV by blocks of lines (each parsed by Polars
with every column as text), Parquet by record batches (typed). Each chunk comes with the line of
its first row: the file's line for CSV (the header is line 1), the row number for Parquet (the
first row is 1)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import polars as pl

BOM = b"\xef\xbb\xbf"


class UnreadableFile(Exception):
    """The file cannot be read as its format: (line, message)."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


def columns(path: Path, file_format: str) -> list[str]:
    if file_format == "parquet":
        return list(_parquet(path).schema_arrow.names)
    with path.open("rb") as handle:
        header = handle.readline().removeprefix(BOM)
    try:
        return next(csv.reader([header.decode("utf-8")]), [])
    except (UnicodeDecodeError, csv.Error) as exc:
        raise UnreadableFile(1, f"the header is not UTF-8 CSV: {exc}") from exc


def chunks(path: Path, file_format: str, chunk_bytes: int) -> Iterator[tuple[int, pl.DataFrame]]:
    if file_format == "parquet":
        yield from _parquet_chunks(path, chunk_bytes)
    else:
        yield from _csv_chunks(path, chunk_bytes)


def _parquet(path: Path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as exc:
        raise UnreadableFile(1, f"not a Parquet file: {exc}") from exc


def _parquet_chunks(path: Path, chunk_bytes: int) -> Iterator[tuple[int, pl.DataFrame]]:
    parquet = _parquet(path)
    row_bytes = max(parquet.metadata.serialized_size // max(parquet.metadata.num_rows, 1), 64)
    import pyarrow as pa

    first = 1
    batches = parquet.iter_batches(batch_size=max(chunk_bytes // row_bytes, 1024))
    while True:
        try:
            batch = next(batches, None)
            if batch is None:
                return
            frame = pl.from_arrow(batch)
        except (pa.ArrowException, pl.exceptions.PolarsError, OSError) as exc:
            raise UnreadableFile(first, f"the Parquet file could not be read: {exc}") from exc
        yield first, frame
        first += frame.height


def _csv_chunks(path: Path, chunk_bytes: int) -> Iterator[tuple[int, pl.DataFrame]]:
    with path.open("rb") as handle:
        header = handle.readline().removeprefix(BOM)
        if not header.endswith(b"\n"):
            header += b"\n"
        first, rest = 2, b""
        while True:
            block = handle.read(chunk_bytes)
            data = rest + block
            if not block:  # the end: the last line may lack its newline; trailing blank lines are not rows
                data = data.rstrip(b"\r\n")
                if data:
                    yield first, _parse(header, data + b"\n", first)
                return
            cut = data.rfind(b"\n") + 1
            if cut == 0:
                rest = data
                continue
            data, rest = data[:cut], data[cut:]
            frame = _parse(header, data, first)
            yield first, frame
            first += frame.height


def _parse(header: bytes, data: bytes, first: int) -> pl.DataFrame:
    lines = data.count(b"\n")
    try:
        frame = pl.read_csv(io.BytesIO(header + data), infer_schema=False, has_header=True,
                            raise_if_empty=False)
    except pl.exceptions.PolarsError as exc:
        raise _locate(header, data, first, str(exc).splitlines()[0]) from exc
    if frame.height != lines:
        raise _locate(header, data, first, "a quoted field holds a line break (a control character)")
    return frame


def _locate(header: bytes, data: bytes, first: int, fallback: str) -> UnreadableFile:
    """The first line of a block that is not a well-formed CSV record of the header's width."""
    width = len(next(csv.reader([header.decode("utf-8", "replace")]), []))
    for offset, raw in enumerate(data.splitlines()):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            return UnreadableFile(first + offset, "the line is not valid UTF-8")
        try:
            fields = next(csv.reader([text], strict=True), [])
        except csv.Error as exc:
            return UnreadableFile(first + offset, f"the line is not a valid CSV record: {exc}")
        if raw and len(fields) != width:
            return UnreadableFile(first + offset, f"the line has {len(fields)} fields; the header has {width}")
    return UnreadableFile(first, f"the CSV could not be read: {fallback}")
