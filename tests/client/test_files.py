"""Reading history files: an explicit schema, the separator and decimal mark said aloud, and every
error naming file, line and column (exit 2, no traceback). Files are read before any request, so
these run against a URL where nothing listens."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from app.client.files import OPTIONAL, InputError, ReadOptions, read_folder, read_table
from app.ml.schema import SCHEMAS
from app.schemas.datasets import ITEM_SCHEMAS
from tests.client.conftest import DEAD_URL, cli, cli_process

UPLOAD = ("upload", "--url", DEAD_URL, "--token", "unused", "--retry-seconds", "0")


def lines_of(path: Path) -> list[str]:
    return path.read_text().splitlines()


def rewrite(path: Path, lines: list[str]) -> None:
    path.write_text("\n".join(lines) + "\n")


def test_the_file_schema_is_the_apis():
    """Every canonical column is a field of the API's item, and what may be absent agrees."""
    for kind, schema in ITEM_SCHEMAS.items():
        fields = schema.model_fields
        assert set(SCHEMAS[kind.value]) == set(fields), kind
        assert OPTIONAL[kind.value] == {name for name, f in fields.items() if not f.is_required()}, kind


def test_csv_and_parquet_give_identical_rows(demo_dir, demo):
    csv = read_folder(demo_dir, ReadOptions(format="csv"), say=lambda _: None)
    parquet = read_folder(demo_dir, ReadOptions(format="parquet"), say=lambda _: None)
    for kind, frame in demo.frames().items():
        assert csv[kind].frame.equals(parquet[kind].frame), kind
        assert csv[kind].frame.schema == pl.Schema(SCHEMAS[kind]), kind
        assert csv[kind].frame.height == frame.height
    documents = csv["customers"].frame["document"]
    assert documents.str.starts_with("0").any()  # leading zeros kept (not read as numbers)
    assert documents.to_list() == demo.customers["document"].to_list()


def test_both_formats_present_is_refused_with_both_names(demo_dir):
    run = cli(*UPLOAD, str(demo_dir))
    assert run.code == 2
    assert f"both {demo_dir / 'customers.csv'} and {demo_dir / 'customers.parquet'} exist" in run.err
    assert "--format csv or --format parquet" in run.err


def test_which_file_is_read_is_said(demo_dir):
    run = cli(*UPLOAD, "--format", "csv", str(demo_dir))
    assert f"{demo_dir / 'orders.csv'}: separator ',', decimal point, 2,000 rows" in run.err
    assert f"{demo_dir / 'customers.csv'}: separator ','," in run.err
    run = cli(*UPLOAD, "--format", "parquet", str(demo_dir))
    assert f"{demo_dir / 'orders.parquet'}: Parquet, 2,000 rows" in run.err


def test_missing_column(csv_dir):
    path = csv_dir / "orders.csv"
    frame = pl.read_csv(path, infer_schema=False).drop("amount")
    frame.write_csv(path)
    run = cli(*UPLOAD, str(csv_dir))
    assert run.code == 2
    assert f"error: {path}, line 1, column 'amount': missing column 'amount'; the header has order_id" in run.err


def test_bad_date(csv_dir):
    path = csv_dir / "credit_limits.csv"
    lines = lines_of(path)
    lines[41] = lines[41].replace(lines[41].rsplit(",", 1)[1], "2024-02-30")
    rewrite(path, lines)
    run = cli(*UPLOAD, str(csv_dir))
    assert run.code == 2
    assert (f"error: {path}, line 42, column 'valid_from': '2024-02-30' is not a date in the format %Y-%m-%d"
            in run.err)


def test_day_month_year_dates_read_with_a_format(csv_dir):
    path = csv_dir / "credit_limits.csv"
    frame = pl.read_csv(path, infer_schema=False)
    day_first = frame.with_columns(pl.col("valid_from").str.to_date().dt.strftime("%d/%m/%Y"))
    day_first.write_csv(path)
    run = cli(*UPLOAD, str(csv_dir))
    assert "use --date-format %d/%m/%Y" in run.err and "line 2, column 'valid_from'" in run.err
    table = read_table("credit_limits", path, ReadOptions(date_format="%d/%m/%Y"))
    assert table.frame["valid_from"].to_list() == frame["valid_from"].str.to_date().to_list()


def test_semicolon_separator_and_decimal_comma_detected_and_said(csv_dir, demo):
    path = csv_dir / "orders.csv"
    original = read_table("orders", path, ReadOptions()).frame
    frame = pl.read_csv(path, infer_schema=False)
    frame.with_columns(pl.col("amount").str.replace(".", ",", literal=True)).write_csv(path, separator=";")
    assert ";" in lines_of(path)[1] and "," in lines_of(path)[1]
    table = read_table("orders", path, ReadOptions())
    assert table.description == f"{path}: separator ';', decimal comma, 2,000 rows"
    assert table.frame.equals(original)
    run = cli(*UPLOAD, str(csv_dir))
    assert f"{path}: separator ';', decimal comma, 2,000 rows" in run.err  # said, then the dead server
    assert run.code == 4 and "cannot reach" in run.err


def test_decimal_comma_with_thousands_and_forced_options(tmp_path):
    path = tmp_path / "credit_limits.csv"
    path.write_text('customer_id,limit_amount,valid_from\nC1,"1.234,50",2024-01-02\nC2,"12,5",2024-01-03\n')
    table = read_table("credit_limits", path, ReadOptions())
    assert table.frame["limit_amount"].to_list() == [1234.5, 12.5]
    assert "decimal comma" in table.description
    with pytest.raises(InputError) as info:
        read_table("credit_limits", path, ReadOptions(decimal="point"))
    assert str(info.value) == (f"{path}, line 2, column 'limit_amount': '1.234,50' has a comma, but the file is "
                               "read with a decimal point (--decimal comma)")
    with pytest.raises(InputError) as info:
        read_table("credit_limits", path, ReadOptions(separator=";"))
    assert "line 1, column 'customer_id': missing columns 'customer_id', 'limit_amount', 'valid_from'" in str(
        info.value)


def test_empty_file(csv_dir):
    path = csv_dir / "serasa_reports.csv"
    path.write_text("")
    run = cli(*UPLOAD, str(csv_dir))
    assert run.code == 2
    assert f"error: {path}, line 1: the file is empty; expected a header line with customer_id, queried_at" in run.err


def test_header_only(csv_dir):
    path = csv_dir / "customers.csv"
    rewrite(path, lines_of(path)[:1])
    run = cli(*UPLOAD, str(csv_dir))
    assert run.code == 2 and f"error: {path}, line 2: no rows after the header" in run.err


def test_a_line_with_too_many_fields(csv_dir):
    path = csv_dir / "orders.csv"
    lines = lines_of(path)
    lines[999] += ",surplus"
    rewrite(path, lines)
    run = cli(*UPLOAD, str(csv_dir))
    assert run.code == 2 and f"error: {path}, line 1000: 7 fields where the header has 6" in run.err


def test_an_empty_required_value_and_blank_lines(csv_dir):
    path = csv_dir / "customers.csv"
    lines = lines_of(path)
    lines.insert(5, "")  # blank lines are skipped, the line numbers stay the file's
    lines[10] = ",".join(field if i != 6 else "" for i, field in enumerate(lines[10].split(",")))
    rewrite(path, lines)
    run = cli(*UPLOAD, str(csv_dir))
    assert run.code == 2 and f"error: {path}, line 11, column 'state': empty; the column is required" in run.err


def test_line_numbers_follow_quoted_line_breaks(tmp_path):
    path = tmp_path / "customers.csv"
    path.write_text(
        "customer_id,document,name,simples_nacional,mei,final_consumer,state,customer_since\n"
        'C1,05070518600015,"Nome com\nquebra",true,false,false,SP,2022-06-21\n'
        "C2,72416466000183,Outra,maybe,false,false,SP,2022-06-21\n")
    with pytest.raises(InputError) as info:
        read_table("customers", path, ReadOptions())
    assert str(info.value).startswith(f"{path}, line 4, column 'simples_nacional': 'maybe' is not a boolean")


def test_not_utf8_names_the_line_and_cp1252_reads(tmp_path):
    path = tmp_path / "customers.csv"
    path.write_bytes("customer_id,document,name,simples_nacional,mei,final_consumer,state,customer_since\n"
                     "C1,05070518600015,Distribuidora São João,true,false,false,SP,2022-06-21\n".encode("cp1252"))
    with pytest.raises(InputError) as info:
        read_table("customers", path, ReadOptions())
    assert str(info.value).startswith(f"{path}, line 2: not utf-8 text") and "--encoding cp1252" in str(info.value)
    table = read_table("customers", path, ReadOptions(encoding="cp1252"))
    assert table.frame["name"].to_list() == ["Distribuidora São João"]
    assert table.frame["document"].to_list() == ["05070518600015"]


def test_parquet_documents_as_numbers_are_refused(tmp_path, demo):
    path = tmp_path / "customers.parquet"
    demo.customers.with_columns(pl.col("document").cast(pl.Int64)).write_parquet(path)
    with pytest.raises(InputError) as info:
        read_table("customers", path, ReadOptions())
    assert str(info.value) == (f"{path}, column 'document': holds numbers (Int64); ids and documents must be "
                               "text, or leading zeros are lost")


def test_parquet_bad_text_value_names_the_row(tmp_path, demo):
    path = tmp_path / "orders.parquet"
    orders = demo.orders.with_columns(pl.col("ordered_at").dt.strftime("%Y-%m-%dT%H:%M:%S"))
    orders = orders.with_columns(pl.when(pl.int_range(pl.len()) == 1500).then(pl.lit("ontem"))
                                 .otherwise(pl.col("ordered_at")).alias("ordered_at"))
    orders.write_parquet(path)
    with pytest.raises(InputError) as info:
        read_table("orders", path, ReadOptions())
    assert str(info.value).startswith(f"{path}, row 1501, column 'ordered_at': 'ontem' is not a date-time")


def test_the_real_entry_point_prints_no_traceback(csv_dir):
    (csv_dir / "orders.csv").write_text("")
    run = cli_process(*UPLOAD, str(csv_dir))
    assert run.code == 2, run.text
    assert "Traceback" not in run.text
    assert f"error: {csv_dir / 'orders.csv'}, line 1: the file is empty" in run.err
