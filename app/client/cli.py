"""`creditgate register | upload | decide`: the API from the command line."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

import polars as pl

from app.client.api import KINDS, ApiError, CreditGateClient


def register(commands) -> None:
    reg = commands.add_parser("register", help="register a company and print its token")
    _connection(reg, token=False)
    reg.add_argument("--name", required=True)
    reg.add_argument("--email", required=True)
    reg.set_defaults(func=lambda a: _run(_register(a)))

    up = commands.add_parser("upload", help="upload a folder of customers/credit_limits/serasa_reports/orders")
    _connection(up)
    up.add_argument("directory", type=Path)
    up.add_argument("--name", default=None)
    up.add_argument("--purpose", choices=["training", "evaluation"], default="training")
    up.add_argument("--concurrency", type=int, default=4, help="batches in flight")
    up.add_argument("--no-wait", action="store_true", help="do not wait for validation and training")
    up.set_defaults(func=lambda a: _run(_upload(a)))

    dec = commands.add_parser("decide", help="decide one order and print the reasons")
    _connection(dec)
    dec.add_argument("--customer", required=True)
    dec.add_argument("--amount", type=float, required=True)
    dec.add_argument("--terms", type=int, default=28, help="payment terms in days")
    dec.add_argument("--order-id", default=None)
    dec.add_argument("--ordered-at", default=None, help="ISO 8601; default now")
    dec.add_argument("--version", type=int, default=None, help="model version; default the active one")
    dec.add_argument("--lang", default="en", help="en or pt-BR")
    dec.set_defaults(func=lambda a: _run(_decide(a)))


def _connection(parser: argparse.ArgumentParser, token: bool = True) -> None:
    parser.add_argument("--url", default=os.environ.get("CREDITGATE_URL", "http://127.0.0.1:8000"))
    if token:
        parser.add_argument("--token", default=os.environ.get("CREDITGATE_TOKEN"),
                            help="JWT (or set CREDITGATE_TOKEN)")


def _run(coroutine) -> int:
    try:
        return asyncio.run(coroutine)
    except ApiError as exc:
        print(f"error {exc}", file=sys.stderr)
        return 1


async def _register(args) -> int:
    async with CreditGateClient(args.url) as api:
        body = await api.register(args.name, args.email)
    print(f"company  {body['company']['id']}")
    print(f"expires  {body['access_token']['expires_at']}")
    print(f"export CREDITGATE_TOKEN={body['access_token']['token']}")
    return 0


def read_folder(directory: Path) -> dict[str, pl.DataFrame]:
    from app.ml.schema import conform

    frames = {}
    for kind in KINDS:
        parquet, csv = directory / f"{kind}.parquet", directory / f"{kind}.csv"
        if parquet.exists():
            frame = pl.read_parquet(parquet)
        elif csv.exists():
            frame = pl.read_csv(csv, try_parse_dates=True, infer_schema_length=10_000)
        else:
            raise SystemExit(f"{directory} has no {kind}.parquet or {kind}.csv")
        frames[kind] = conform(kind, frame)
    return frames


async def _upload(args) -> int:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    frames = read_folder(args.directory)
    async with CreditGateClient(args.url, args.token) as api:
        dataset = await api.create_dataset(args.name or args.directory.name, args.purpose)
        print(f"dataset {dataset['id']}")
        columns = (TextColumn("{task.description:15s}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
        with Progress(*columns) as bar:
            tasks = {kind: bar.add_task(kind, total=frames[kind].height) for kind in KINDS}
            await api.upload_frames(dataset["id"], frames, concurrency=args.concurrency,
                                    progress=lambda kind, n: bar.advance(tasks[kind], n))
        if args.no_wait:
            return 0
        return await _follow(api, dataset["id"])


async def _follow(api: CreditGateClient, dataset_id: str) -> int:
    body = await api.wait_for_dataset(dataset_id, ("valid", "invalid", "training", "trained", "failed"))
    print(f"dataset status: {body['status']}")
    if body["status"] == "invalid":
        for problem in body["report"]["problems"]:
            print(f"  {problem['code']}: {problem['count']} - {problem['message']} e.g. {problem['examples'][:5]}")
        return 2
    if body["purpose"] == "evaluation":
        return 0
    body = await api.wait_for_dataset(dataset_id, ("trained", "failed"), timeout=3600, interval=1.0)
    print(f"training: {body['status']}")
    if body["status"] != "trained":
        jobs = [j for j in await api.training_jobs() if j["dataset_id"] == dataset_id]
        print(f"  {jobs[0]['error'] if jobs else ''}")
        return 3
    model = next(m for m in await api.models() if m["dataset_id"] == dataset_id)
    _print_metrics(model)
    return 0


def _print_metrics(model: dict) -> None:
    m = model["metrics"]
    print(f"model version {model['version']}{' (active)' if model['active'] else ''}, "
          f"threshold {model['threshold']:.3f}, trained in {model['training_seconds']:.1f}s")
    for name in ("roc_auc", "pr_auc", "accuracy", "precision", "recall", "f1", "log_loss", "brier"):
        if m.get(name) is not None:
            print(f"  {name:10s} {m[name]:.4f}")
    (tn, fp), (fn, tp) = m["confusion_matrix"]["matrix"]
    print("  confusion (rows actual, columns predicted)   billed  blocked")
    print(f"    billed  {tn:>40} {fp:>8}")
    print(f"    blocked {fn:>40} {tp:>8}")


async def _decide(args) -> int:
    import uuid

    order = {"order_id": args.order_id or f"cli-{uuid.uuid4().hex[:8]}", "customer_id": args.customer,
             "amount": args.amount, "payment_terms_days": args.terms}
    if args.ordered_at:
        order["ordered_at"] = args.ordered_at
    async with CreditGateClient(args.url, args.token) as api:
        result = await api.decide(order, model_version=args.version, language=args.lang)
    print(f"{result['decision'].upper()}  order {result['order_id']}  "
          f"P(block) = {result['probability_block']:.3f}  threshold {result['threshold']:.3f}  "
          f"model v{result['model_version']}")
    for reason in result["reasons"]:
        print(f"  {'+' if reason['contribution'] > 0 else '-'} {reason['text']}  ({reason['contribution']:+.3f})")
    if result["missing_features"]:
        print(f"  unknown: {', '.join(result['missing_features'])}")
    return 0
