"""`creditgate upload DIR`: read the four kinds, send them in batches, follow validation and training.

`--dataset ID` resumes an upload: the dataset's receipts say which batches it accepted, and only
the others are sent (batch ids are deterministic: `<kind>-<n:07d>`).

`--files` sends each kind's file whole to `POST /v1/datasets/{id}/{kind}/files` instead: the
server validates it column-wise and stores it with its bulk path (COPY on PostgreSQL). The file
goes as it is, so it must be what the server reads: a header of the API's field names, `,` and a
decimal point (or Parquet). Sending a file again stores nothing twice (its receipt is its digest).
"""

from __future__ import annotations

import argparse
import asyncio
import shlex
from pathlib import Path

from app.client.api import BATCH_SIZE, KINDS, ApiError, BatchFailed, CreditGateClient, batch_count, batch_id
from app.client.columns import ISO_DATETIME
from app.client.files import FORMATS, SEPARATORS, InputError, ReadOptions, Table, find_files, read_folder
from app.client.output import listed, metrics_lines, out, say
from app.client.runner import BAD_INPUT, JOB_FAILED, connect, run

DONE = ("valid", "invalid", "training", "trained", "failed")


def add(commands, connection: argparse.ArgumentParser) -> None:
    up = commands.add_parser(
        "upload", parents=[connection], help="upload a folder of history files (or resume an upload)",
        description="Upload <kind>.csv or <kind>.parquet for customers, credit_limits, serasa_reports and "
                    "orders in 500-item batches, then wait for validation and training. The first line "
                    "printed is the dataset id; an interrupted upload resumes with --dataset ID.")
    up.add_argument("directory", type=Path, help="the folder holding the four files")
    up.add_argument("--dataset", default=None, metavar="ID",
                    help="resume this dataset's upload: send only the batches it has not accepted "
                         "(default: create a new dataset)")
    up.add_argument("--name", default=None, help="a new dataset's name (default: the folder's name)")
    up.add_argument("--purpose", choices=["training", "evaluation"], default="training",
                    help="a new dataset's purpose")
    up.add_argument("--concurrency", type=int, default=4, help="batches in flight")
    up.add_argument("--no-wait", action="store_true", help="do not wait for validation and training")
    up.add_argument("--files", action="store_true",
                    help="send each file whole to the bulk file route (validated and stored by the server, COPY "
                         "on PostgreSQL) instead of 500-row batches; the files must use the API's field names, "
                         "',' and a decimal point (default: off)")
    files = up.add_argument_group("files")
    files.add_argument("--format", choices=FORMATS, default=None,
                       help="read <kind>.csv or <kind>.parquet; required when both exist "
                            "(default: the one that exists)")
    files.add_argument("--separator", choices=SEPARATORS, default=None, metavar="{',',';'}",
                       help="CSV field separator (default: detected from the header line)")
    files.add_argument("--decimal", choices=["point", "comma"], default=None,
                       help="CSV decimal mark (default: detected from the numbers; with a comma, '.' may "
                            "group thousands)")
    files.add_argument("--date-format", default="%Y-%m-%d", help="strftime format of dates")
    files.add_argument("--datetime-format", default=ISO_DATETIME,
                       help="strftime format of order date-times; ISO 8601 takes 2024-06-03T08:59:20, an "
                            "optional fraction and offset (UTC when none)")
    files.add_argument("--encoding", default="utf-8", help="CSV text encoding (e.g. cp1252)")
    up.set_defaults(func=run(_upload))


async def _upload(args: argparse.Namespace) -> int:
    if args.files:
        return await _upload_files(args)
    options = ReadOptions(format=args.format, separator=args.separator, decimal=args.decimal,
                          date_format=args.date_format, datetime_format=args.datetime_format, encoding=args.encoding)
    tables = read_folder(args.directory, options, say=say)
    async with connect(args) as api:
        if not args.dataset:
            dataset = await api.create_dataset(args.name or args.directory.resolve().name, args.purpose)
            out(f"dataset {dataset['id']}")
        hint = f"resume with: {_resume_command(args, args.dataset or dataset['id'])}"
        try:
            if args.dataset:
                dataset = await api.dataset(args.dataset)
                out(f"dataset {dataset['id']}")
            accepted = await _accepted(api, dataset, tables) if args.dataset else set()
            await _send(api, dataset["id"], tables, accepted, args.concurrency)
            return 0 if args.no_wait else await _follow(api, dataset["id"])
        except asyncio.CancelledError:
            say(f"interrupted; {hint}")
            raise
        except BatchFailed as exc:
            if exc.status_code == 422:
                return _refused(exc, tables[exc.kind], hint)
            exc.add_note(hint)
            raise
        except (InputError, ApiError) as exc:
            if isinstance(exc, ApiError) and exc.status_code not in (404, 422):
                exc.add_note(hint)
            raise
        except Exception as exc:
            exc.add_note(hint)
            raise


async def _upload_files(args: argparse.Namespace) -> int:
    changed = [f"--{name.replace('_', '-')}" for name in ("separator", "decimal", "date_format", "datetime_format",
                                                          "encoding") if getattr(args, name) not in
               (None, _DEFAULTS.get(name))]
    if changed:
        raise InputError(f"{', '.join(changed)} cannot be used with --files: the server reads each file as it is "
                         "(',' separated, decimal point, ISO dates, UTF-8); convert it, or upload without --files")
    paths = find_files(args.directory, args.format)
    async with connect(args) as api:
        if args.dataset:
            dataset = await api.dataset(args.dataset)
        else:
            dataset = await api.create_dataset(args.name or args.directory.resolve().name, args.purpose)
        out(f"dataset {dataset['id']}")
        for kind in KINDS:  # one after the other: each is a final batch of its kind
            path = paths[kind]
            say(f"{path}: sending ({path.stat().st_size:,} bytes)")
            try:
                receipt = await api.upload_file(dataset["id"], kind, path, final=True)
            except ApiError as exc:
                if exc.status_code != 422:
                    raise
                return _file_refused(exc, path, dataset["id"], args)
            say(f"{path}: stored, {receipt['items']:,} rows ({receipt['batch_id']})")
        return 0 if args.no_wait else await _follow(api, dataset["id"])


def _file_refused(error: ApiError, path: Path, dataset_id: str, args: argparse.Namespace) -> int:
    """The server's errors by line and column, under the file's name."""
    total = error.body.get("errors_total", len(error.errors))
    say(f"error: the API refused {path} ({total:,} error(s)): {error.body.get('detail', '')}")
    lines = []
    for entry in error.errors:
        where = f", line {entry['line']}" if entry.get("line") is not None else ""
        column = f", column '{entry['field']}'" if entry.get("field") else ""
        lines.append(f"{path}{where}{column}: {entry.get('message')}")
    for line in listed(lines):
        say(line)
    if total > len(error.errors):
        say(f"... and {total - len(error.errors):,} more")
    say(f"fix the file, then resume with: {_resume_command(args, dataset_id)} (files already stored are not "
        "stored twice)")
    return BAD_INPUT


async def _accepted(api: CreditGateClient, dataset: dict, tables: dict[str, Table]) -> set[str]:
    """The batches the dataset already has, checked against what this folder makes."""
    planned = {batch_id(kind, n): _batch_size(table.frame.height, n)
               for kind, table in tables.items() for n in range(batch_count(table.frame.height))}
    receipts = await api.batches(dataset["id"])
    for receipt in receipts:
        size = planned.get(receipt["batch_id"])
        if size != receipt["items"]:
            made = f"{size} items here" if size else "no such batch here"
            raise InputError(f"dataset {dataset['id']} has batch {receipt['batch_id']} of {receipt['items']} items, "
                             f"{made}: was it uploaded from another folder or format?")
        if receipt.get("dead_letter_reason"):
            say(f"batch {receipt['batch_id']} was accepted but not stored: {receipt['dead_letter_reason']}")
    accepted = {receipt["batch_id"] for receipt in receipts}
    missing = len(planned) - len(accepted)
    if missing and dataset["status"] != "receiving":
        raise InputError(f"dataset {dataset['id']} is {dataset['status']} and accepts no more batches "
                         f"({missing} missing): delete it with 'creditgate datasets delete {dataset['id']}' "
                         "and upload again")
    say(f"resuming dataset {dataset['id']}: {len(accepted)} of {len(planned)} batches already accepted, "
        f"{missing} to send")
    return accepted


async def _send(api: CreditGateClient, dataset_id: str, tables: dict[str, Table], accepted: set[str],
                concurrency: int) -> None:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    frames = {kind: table.frame for kind, table in tables.items()}
    columns = (TextColumn("{task.description:15s}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True)) as bar:
        tasks = {kind: bar.add_task(kind, total=frames[kind].height) for kind in KINDS}
        for kind in KINDS:
            bar.advance(tasks[kind], sum(_batch_size(frames[kind].height, n)
                                         for n in range(batch_count(frames[kind].height))
                                         if batch_id(kind, n) in accepted))
        await api.upload_frames(dataset_id, frames, concurrency=concurrency, skip=accepted,
                                progress=lambda kind, n: bar.advance(tasks[kind], n))


def _refused(error: BatchFailed, table: Table, hint: str) -> int:
    """A refused batch, each invalid item mapped back to its file line and column."""
    say(f"error: the API refused batch {batch_id(error.kind, error.number)} of {table.path} "
        f"({len(error.errors)} error(s)): {error.body.get('detail', '')}")
    lines = []
    for entry in error.errors:
        if entry.get("index") is None:
            lines.append(f"{table.path}: {entry.get('field') or 'batch'}: {entry.get('message')}")
        else:
            row = error.number * BATCH_SIZE + entry["index"]
            lines.append(str(table.locate(row, entry.get("field"), entry.get("message", "invalid"))))
    for line in listed(lines):
        say(line)
    say(f"fix the file, then {hint} (batches already accepted are not sent again)")
    return BAD_INPUT


async def _follow(api: CreditGateClient, dataset_id: str) -> int:
    body = await api.wait_for_dataset(dataset_id, DONE, timeout=3600)
    out(f"dataset status: {body['status']}")
    if body["status"] == "invalid":
        for problem in (body.get("report") or {}).get("problems", []):
            out(f"  {problem['code']}: {problem['count']} - {problem['message']} e.g. {problem['examples'][:5]}")
        return BAD_INPUT
    if body["status"] not in DONE:
        say(f"still {body['status']}; see 'creditgate datasets show {dataset_id}'")
        return JOB_FAILED
    if body["purpose"] == "evaluation":
        return 0
    body = await api.wait_for_dataset(dataset_id, ("trained", "failed"), timeout=3600, interval=1.0)
    out(f"training: {body['status']}")
    if body["status"] != "trained":
        jobs = [j for j in await api.training_jobs() if j["dataset_id"] == dataset_id]
        out(f"  {jobs[0]['error'] if jobs else ''}")
        return JOB_FAILED
    model = next(m for m in await api.models() if m["dataset_id"] == dataset_id)
    for line in metrics_lines(model):
        out(line)
    return 0


def _batch_size(rows: int, number: int) -> int:
    return min(BATCH_SIZE, rows - number * BATCH_SIZE)


def _resume_command(args: argparse.Namespace, dataset_id: str) -> str:
    """The command that resumes this upload, with the options that read the files the same way."""
    words = ["creditgate", "upload", "--dataset", dataset_id]
    for option in ("format", "separator", "decimal", "encoding", "date_format", "datetime_format"):
        value, default = getattr(args, option), _DEFAULTS.get(option)
        if value is not None and value != default:
            words += [f"--{option.replace('_', '-')}", value]
    if getattr(args, "files", False):
        words.append("--files")
    return shlex.join(words + [str(args.directory)])


_DEFAULTS = {"encoding": "utf-8", "date_format": "%Y-%m-%d", "datetime_format": ISO_DATETIME}
