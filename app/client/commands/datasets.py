"""`creditgate datasets list | show | delete`."""

from __future__ import annotations

import argparse

from app.client.commands.common import json_option, page_options, pages
from app.client.output import as_json, out, say, table
from app.client.runner import connect, run


def add(commands, connection: argparse.ArgumentParser) -> None:
    datasets = commands.add_parser("datasets", help="list, show or delete datasets",
                                   description="The company's datasets: their status, batches, rows and integrity.")
    actions = datasets.add_subparsers(dest="action", required=True, metavar="{list,show,delete}")

    listing = actions.add_parser("list", parents=[connection, page_options(), json_option()],
                                 help="the datasets, newest first")
    listing.set_defaults(func=run(_list))

    show = actions.add_parser("show", parents=[connection, json_option()],
                              help="a dataset's status, rows per kind and integrity report")
    show.add_argument("dataset", metavar="ID", help="the dataset id")
    show.set_defaults(func=run(_show))

    delete = actions.add_parser("delete", parents=[connection],
                                help="delete a dataset's rows (an interrupted or refused upload, or data to forget)")
    delete.add_argument("dataset", metavar="ID", help="the dataset id")
    delete.add_argument("--keep-versions", action="store_true",
                        help="delete it although model versions were trained on it (they are kept); "
                             "without it such a dataset is refused")
    delete.set_defaults(func=run(_delete))


async def _list(args: argparse.Namespace) -> int:
    async with connect(args) as api:
        items, more = await pages(api.datasets, args)
    if args.json:
        as_json(items)
        return 0
    table([(d["id"], d["status"], d["purpose"], d["created_at"][:19], d.get("name")) for d in items],
          ("id", "status", "purpose", "created", "name"))
    if more:
        say("more: --all, or --cursor " + more)
    return 0


async def _show(args: argparse.Namespace) -> int:
    async with connect(args) as api:
        dataset = await api.dataset(args.dataset)
    if args.json:
        as_json(dataset)
        return 0
    out(f"dataset  {dataset['id']}  {dataset.get('name') or ''}".rstrip())
    out(f"status   {dataset['status']} ({dataset['purpose']}), updated {dataset['updated_at'][:19]}")
    kinds = dataset.get("kinds") or {}
    if kinds:
        out()
        table([(kind, p["batches_accepted"], p["batches_stored"], p["batches_failed"], p["rows_stored"], p["final"])
               for kind, p in kinds.items()], ("kind", "batches", "stored", "failed", "rows", "final"))
    for letter in dataset.get("dead_letters") or []:
        out(f"dead letter {letter['kind']} {letter['batch_id']}: {letter['reason']}")
    report = dataset.get("report") or {}
    for section in ("problems", "warnings"):
        for item in report.get(section) or []:
            examples = ", ".join(map(str, (item.get("examples") or [])[:5]))
            out(f"{section[:-1]}: {item.get('code')}: {item.get('count')} - {item.get('message')}"
                + (f" e.g. {examples}" if examples else ""))
    return 0


async def _delete(args: argparse.Namespace) -> int:
    async with connect(args) as api:
        await api.delete_dataset(args.dataset, keep_versions=args.keep_versions)
    out(f"deleted dataset {args.dataset}")
    return 0
