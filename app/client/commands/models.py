"""`creditgate models list | show | activate | report` and `creditgate evaluate`."""

from __future__ import annotations

import argparse
from pathlib import Path

from app.client.commands.common import json_option
from app.client.files import InputError
from app.client.output import as_json, evaluation_lines, metrics_lines, out, say, table
from app.client.runner import JOB_FAILED, connect, run

TOP_FEATURES = 10


def add(commands, connection: argparse.ArgumentParser) -> None:
    models = commands.add_parser("models", help="list, show, activate or report model versions",
                                 description="The company's model versions, their hold-out metrics and report page.")
    actions = models.add_subparsers(dest="action", required=True, metavar="{list,show,activate,report}")

    listing = actions.add_parser("list", parents=[connection, json_option()], help="every model version")
    listing.set_defaults(func=run(_list))

    show = actions.add_parser("show", parents=[connection, json_option()],
                              help="a version's metrics, confusion matrix and most important features")
    show.add_argument("version", type=int, help="the model version")
    show.set_defaults(func=run(_show))

    activate = actions.add_parser("activate", parents=[connection], help="make a version the one that decides")
    activate.add_argument("version", type=int, help="the model version")
    activate.set_defaults(func=run(_activate))

    report = actions.add_parser("report", parents=[connection],
                                help="save a version's report page (HTML: curves, calibration, thresholds)")
    report.add_argument("version", type=int, help="the model version")
    report.add_argument("--out", type=Path, default=Path("report.html"), help="the file to write")
    report.set_defaults(func=run(_report))

    evaluate = commands.add_parser("evaluate", parents=[connection, json_option()],
                                   help="evaluate a model version on an evaluation dataset and wait for it",
                                   description="Queue an evaluation of VERSION on a dataset (uploaded with "
                                               "--purpose evaluation), wait for it and print its metrics.")
    evaluate.add_argument("version", type=int, help="the model version")
    evaluate.add_argument("--dataset", required=True, metavar="ID", help="the dataset to evaluate on")
    evaluate.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for the evaluation")
    evaluate.set_defaults(func=run(_evaluate))


async def _list(args: argparse.Namespace) -> int:
    async with connect(args) as api:
        models = await api.models()
    if args.json:
        as_json(models)
        return 0
    table([(m["version"], m["active"], m["status"], m["metrics"].get("roc_auc"), m["threshold"], m["dataset_id"],
            m["created_at"][:19]) for m in models],
          ("version", "active", "status", "roc_auc", "threshold", "dataset", "created"))
    return 0


async def _show(args: argparse.Namespace) -> int:
    async with connect(args) as api:
        model = await api.model(args.version)
    if args.json:
        as_json(model)
        return 0
    for line in metrics_lines(model):
        out(line)
    out(f"  dataset {model['dataset_id']}, created {model['created_at'][:19]}")
    importance = sorted((model.get("feature_importance") or {}).items(), key=lambda item: -item[1])
    if importance:
        out(f"  most important features (share of the mean absolute contribution, top {TOP_FEATURES}):")
        for name, share in importance[:TOP_FEATURES]:
            out(f"    {name:40s} {share:6.1%}")
    return 0


async def _activate(args: argparse.Namespace) -> int:
    async with connect(args) as api:
        model = await api.activate(args.version)
    out(f"model version {model['version']} is active")
    return 0


async def _report(args: argparse.Namespace) -> int:
    async with connect(args) as api:
        page = await api.model_report(args.version)
    try:
        args.out.write_bytes(page)
    except OSError as exc:
        raise InputError(f"cannot write it: {exc.strerror or exc}", args.out) from None
    out(f"wrote {args.out} ({len(page):,} bytes)")
    return 0


async def _evaluate(args: argparse.Namespace) -> int:
    async with connect(args) as api:
        evaluation = await api.evaluate(args.version, args.dataset, wait=True, timeout=args.timeout)
    if args.json:
        as_json(evaluation)
    else:
        out(f"evaluation {evaluation['id']} of model version {evaluation['model_version']} on dataset "
            f"{evaluation['dataset_id']}: {evaluation['status']}")
        for line in evaluation_lines(evaluation.get("metrics") or {}):
            out(line)
    if evaluation["status"] == "failed":
        say(f"error: the evaluation failed: {evaluation.get('error')}")
        return JOB_FAILED
    if evaluation["status"] != "succeeded":
        say(f"still {evaluation['status']} after {args.timeout:g} s; see GET /v1/models/{args.version}/evaluations/"
            f"{evaluation['id']}")
        return JOB_FAILED
    return 0
