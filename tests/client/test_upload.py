"""`creditgate upload` against a real server: the same rows from CSV and Parquet, a refused batch
mapped back to its file line, an interrupted upload resumed with only the missing batches, and
every failure a message (no traceback)."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time

import polars as pl
import pytest

from app.client.api import CreditGateClient, batch_count, batch_id
from app.demo import generate, write
from tests.client.conftest import DEAD_URL, ROOT, cli, cli_process, register

KINDS = ("customers", "credit_limits", "serasa_reports", "orders")
TABLES = {"customers": "customers", "credit_limits": "credit_limits", "serasa_reports": "serasa_reports",
          "orders": "orders"}


@pytest.fixture(scope="module")
def token(server) -> str:
    return register(server)


def planned(frames: dict[str, pl.DataFrame]) -> set[str]:
    return {batch_id(kind, n) for kind, frame in frames.items() for n in range(batch_count(frame.height))}


def dataset_of(run) -> str:
    first = run.out.splitlines()[0]
    assert first.startswith("dataset "), run.text
    return first.split()[1]


def stored(server, dataset_id: str) -> tuple[dict[str, int], dict[str, str]]:
    """Rows per kind and each customer's document, as the database holds them."""
    with sqlite3.connect(server.database) as db:
        counts = {kind: db.execute(f"SELECT count(*) FROM {table} WHERE dataset_id = ?",  # noqa: S608
                                   (dataset_id,)).fetchone()[0] for kind, table in TABLES.items()}
        documents = dict(db.execute("SELECT customer_id, document FROM customers WHERE dataset_id = ?",
                                    (dataset_id,)).fetchall())
    return counts, documents


@pytest.fixture
def count_sent(monkeypatch) -> list[str]:
    """The batch ids the client sends (the requests still go to the server)."""
    sent: list[str] = []
    original = CreditGateClient._upload_raw  # what upload_frames sends each batch with

    async def counting(self, dataset_id, kind, batch, items_json, final=False):
        sent.append(batch)
        return await original(self, dataset_id, kind, batch, items_json, final)

    monkeypatch.setattr(CreditGateClient, "_upload_raw", counting)
    return sent


def test_csv_and_parquet_store_the_same_rows(server, token, demo_dir, demo):
    connection = ("--url", server.url, "--token", token)
    runs = {fmt: cli("upload", *connection, "--format", fmt, "--no-wait", str(demo_dir)) for fmt in ("csv", "parquet")}
    results = {}
    for fmt, run in runs.items():
        assert run.code == 0, run.text
        dataset_id = dataset_of(run)
        assert server.wait_stored(token, dataset_id)["status"] != "invalid"
        results[fmt] = stored(server, dataset_id)
    assert results["csv"] == results["parquet"]
    counts, documents = results["csv"]
    assert counts == {kind: frame.height for kind, frame in demo.frames().items()}
    leading_zeros = {c: d for c, d in documents.items() if d.startswith("0")}
    assert len(leading_zeros) >= 3
    expected = dict(zip(demo.customers["customer_id"], demo.customers["document"], strict=True))
    assert all(expected[customer] == document for customer, document in leading_zeros.items())


def settled_receipts(server, token: str, dataset_id: str) -> set[str]:
    """The receipts once no request the stopped CLI had in flight can still land (a batch sent
    just before the refusal may be accepted after the CLI gave up)."""
    import time

    before = server.receipts(token, dataset_id)
    while True:
        time.sleep(0.5)
        now = server.receipts(token, dataset_id)
        if now == before:
            return now
        before = now


def test_a_refused_batch_names_the_line_then_the_fixed_file_resumes(server, token, csv_dir, demo, count_sent):
    path = csv_dir / "orders.csv"
    lines = path.read_text().splitlines()
    good = lines[1235]
    lines[1235] = good.rsplit(",", 1)[0] + ",talvez"  # row 1234: batch 2, item 234
    path.write_text("\n".join(lines) + "\n")
    connection = ("--url", server.url, "--token", token)
    run = cli("upload", *connection, "--no-wait", str(csv_dir))
    assert run.code == 2, run.text
    dataset_id = dataset_of(run)
    assert "error: the API refused batch orders-0000002" in run.err
    assert f"{path}, line 1236, column 'status': Input should be 'billed' or 'blocked'" in run.err
    assert f"resume with: creditgate upload --dataset {dataset_id} {csv_dir}" in run.err
    accepted = settled_receipts(server, token, dataset_id)
    assert "orders-0000002" not in accepted

    lines[1235] = good
    path.write_text("\n".join(lines) + "\n")
    count_sent.clear()
    run = cli("upload", *connection, "--dataset", dataset_id, "--no-wait", str(csv_dir))
    assert run.code == 0, run.text
    assert run.out.splitlines()[0] == f"dataset {dataset_id}"
    everything = planned(demo.frames())
    assert sorted(count_sent) == sorted(everything - accepted)  # only what was missing, each once
    assert f"{len(accepted)} of {len(everything)} batches already accepted" in run.err
    assert server.receipts(token, dataset_id) == everything
    assert server.wait_stored(token, dataset_id)["status"] in ("valid", "training", "trained")


def test_an_interrupted_upload_resumes_with_only_the_missing_batches(server, token, tmp_path, count_sent):
    data = generate(customers=300, orders=25_000, seed=6)
    folder = tmp_path / "big"
    write(data, folder)
    for path in folder.glob("*.csv"):
        path.unlink()
    command = [sys.executable, "-m", "app.cli", "upload", "--url", server.url, "--token", token, "--no-wait",
               "--concurrency", "1", str(folder)]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first = process.stdout.readline()
    assert first.startswith("dataset "), first + process.stderr.read()
    dataset_id = first.split()[1]
    deadline = time.monotonic() + 60
    while len(server.receipts(token, dataset_id)) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, out + err
    assert "Traceback" not in out + err
    assert f"interrupted; resume with: creditgate upload --dataset {dataset_id} {folder}" in err
    time.sleep(1.0)  # a batch in flight when interrupted may still be committing
    accepted = server.receipts(token, dataset_id)
    everything = planned(data.frames())
    assert 3 <= len(accepted) < len(everything)

    run = cli("upload", "--url", server.url, "--token", token, "--dataset", dataset_id, "--no-wait", str(folder))
    assert run.code == 0, run.text
    assert sorted(count_sent) == sorted(everything - accepted)
    assert server.receipts(token, dataset_id) == everything
    counts, _ = stored(server, server.wait_stored(token, dataset_id)["id"])
    assert counts == {kind: frame.height for kind, frame in data.frames().items()}


def test_resuming_from_another_folder_is_refused(server, token, demo_dir, tmp_path):
    connection = ("--url", server.url, "--token", token)
    run = cli("upload", *connection, "--format", "parquet", "--no-wait", str(demo_dir))
    dataset_id = dataset_of(run)
    other = tmp_path / "other"
    write(generate(customers=100, orders=700, seed=9), other)
    run = cli("upload", *connection, "--format", "parquet", "--dataset", dataset_id, str(other))
    assert run.code == 2
    assert f"error: dataset {dataset_id} has batch" in run.err and "was it uploaded from another folder" in run.err


def test_a_server_that_is_down(demo_dir):
    run = cli_process("upload", "--url", DEAD_URL, "--token", "t", "--retry-seconds", "1", "--format", "csv",
                      str(demo_dir))
    assert run.code == 4, run.text
    assert "Traceback" not in run.text
    assert f"error: cannot reach {DEAD_URL}: could not connect (connection refused" in run.err
    assert "retrying in" in run.err and "(retried for 1 s)" in run.err
    run = cli("upload", "--url", DEAD_URL, "--token", "t", "--retry-seconds", "0", "--dataset", "d-1",
              "--format", "csv", str(demo_dir))
    assert run.code == 4 and f"resume with: creditgate upload --dataset d-1 --format csv {demo_dir}" in run.err


def test_a_server_that_is_down_reads_the_retry_time_from_the_environment(demo_dir, monkeypatch):
    monkeypatch.setenv("CREDITGATE_RETRY_SECONDS", "0.5")
    monkeypatch.setenv("CREDITGATE_URL", DEAD_URL)
    monkeypatch.setenv("CREDITGATE_TOKEN", "t")
    started = time.monotonic()
    run = cli("datasets", "list")
    assert run.code == 4 and "(retried for 0.5 s)" in run.err
    assert 0.5 <= time.monotonic() - started < 5


def test_a_bad_token_is_a_401_with_a_hint(server, demo_dir, monkeypatch):
    monkeypatch.delenv("CREDITGATE_TOKEN", raising=False)
    run = cli_process("upload", "--url", server.url, "--token", "not-a-token", "--format", "csv", str(demo_dir))
    assert run.code == 1, run.text
    assert "Traceback" not in run.text
    assert "error: 401 Unauthorized" in run.err and "set CREDITGATE_TOKEN" in run.err
    run = cli("datasets", "list", "--url", server.url, "--token", "")
    assert run.code == 2 and "no token: pass --token or set CREDITGATE_TOKEN" in run.err


def test_files_go_whole_to_the_bulk_route_and_a_bad_line_is_named(server, token, csv_dir, demo):
    connection = ("--url", server.url, "--token", token)
    run = cli("upload", *connection, "--files", "--no-wait", str(csv_dir))
    assert run.code == 0, run.text
    dataset_id = dataset_of(run)
    assert f"{csv_dir / 'orders.csv'}: stored, {demo.orders.height:,} rows (file-" in run.err
    assert server.wait_stored(token, dataset_id)["status"] != "invalid"
    counts, _ = stored(server, dataset_id)
    assert counts == {kind: frame.height for kind, frame in demo.frames().items()}
    assert len(server.receipts(token, dataset_id)) == 4  # one receipt per file

    path = csv_dir / "orders.csv"
    lines = path.read_text().splitlines()
    lines[10] = lines[10].rsplit(",", 1)[0] + ",talvez"
    path.write_text("\n".join(lines) + "\n")
    run = cli("upload", *connection, "--files", "--no-wait", str(csv_dir))
    assert run.code == 2, run.text
    assert f"error: the API refused {path} (1 error(s))" in run.err
    assert f"{path}, line 11, column 'status':" in run.err
    assert "Traceback" not in run.text
    assert "resume with: creditgate upload --dataset" in run.err and "--files" in run.err

    run = cli("upload", *connection, "--files", "--separator", ";", str(csv_dir))
    assert run.code == 2 and "--separator cannot be used with --files" in run.err
