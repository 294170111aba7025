"""`creditgate decide` (one order, optionally with its context from a JSON file) and `decisions list`."""

from __future__ import annotations

import argparse
import json
import uuid
from pathlib import Path

from app.client.api import ApiError
from app.client.commands.common import json_option, page_options, pages
from app.client.files import InputError
from app.client.output import as_json, listed, out, say, table
from app.client.runner import BAD_INPUT, connect, run

CONTEXT_PARTS = ("customer", "credit_limit", "serasa_report")


def add(commands, connection: argparse.ArgumentParser) -> None:
    decide = commands.add_parser(
        "decide", parents=[connection, json_option()], help="decide one order: bill or block, with the reasons",
        description="Decide one order with the active model (or --version). --context sends data the "
                    "server does not have: a JSON file with any of 'customer', 'credit_limit' and "
                    "'serasa_report', each replacing what is stored for the customer.")
    decide.add_argument("--customer", default=None,
                        help="the customer id (default: the context's customer.customer_id)")
    decide.add_argument("--amount", type=float, required=True, help="the order's amount in BRL")
    decide.add_argument("--terms", type=int, default=28, help="payment terms in days")
    decide.add_argument("--order-id", default=None, help="the order's id (default: cli-<random>)")
    decide.add_argument("--ordered-at", default=None, help="ISO 8601 date-time (default: now)")
    decide.add_argument("--context", type=Path, default=None, metavar="FILE",
                        help="JSON file with the order's context: customer, credit_limit, serasa_report")
    decide.add_argument("--version", type=int, default=None, help="model version (default: the active one)")
    decide.add_argument("--lang", default="en", help="language of the reasons: en or pt-BR")
    decide.set_defaults(func=run(_decide))

    decisions = commands.add_parser("decisions", help="list stored decisions",
                                    description="Decisions already made, newest first.")
    actions = decisions.add_subparsers(dest="action", required=True, metavar="{list}")
    listing = actions.add_parser("list", parents=[connection, page_options(), json_option()],
                                 help="stored decisions, newest first, filtered")
    listing.add_argument("--customer", default=None, help="only this customer id")
    listing.add_argument("--decision", choices=["bill", "block"], default=None, help="only this decision")
    listing.add_argument("--since", default=None, help="from this ISO 8601 date-time, inclusive (UTC if no offset)")
    listing.add_argument("--until", default=None, help="before this ISO 8601 date-time, exclusive")
    listing.set_defaults(func=run(_list))


async def _decide(args: argparse.Namespace) -> int:
    context = _read_context(args.context) if args.context else None
    customer = args.customer or ((context or {}).get("customer") or {}).get("customer_id")
    if not customer:
        raise InputError("which customer? pass --customer (or customer.customer_id in --context)")
    order = {"order_id": args.order_id or f"cli-{uuid.uuid4().hex[:8]}", "customer_id": customer,
             "amount": args.amount, "payment_terms_days": args.terms}
    if args.ordered_at:
        order["ordered_at"] = args.ordered_at
    async with connect(args) as api:
        try:
            result = await api.decide(order, model_version=args.version, context=context, language=args.lang)
        except ApiError as exc:
            if exc.status_code == 422 and args.context and _context_errors(exc, args.context):
                return BAD_INPUT
            raise
    if args.json:
        as_json(result)
        return 0
    out(f"{result['decision'].upper()}  order {result['order_id']}  "
        f"P(block) = {result['probability_block']:.3f}  threshold {result['threshold']:.3f}  "
        f"model v{result['model_version']}")
    for reason in result["reasons"]:
        out(f"  {'+' if reason['contribution'] > 0 else '-'} {reason['text']}  ({reason['contribution']:+.3f})")
    if result["missing_features"]:
        out(f"  unknown: {', '.join(result['missing_features'])}")
    return 0


def _read_context(path: Path) -> dict:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read it: {getattr(exc, 'strerror', None) or exc}", path) from None
    try:
        context = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"not JSON: {exc.msg} (column {exc.colno})", path, line=exc.lineno) from None
    if not isinstance(context, dict):
        raise InputError(f"must be a JSON object with {', '.join(CONTEXT_PARTS)}", path)
    unknown = [key for key in context if key not in CONTEXT_PARTS]
    if unknown:
        raise InputError(f"unknown part {unknown[0]!r}; the parts are {', '.join(CONTEXT_PARTS)}", path)
    return context


def _context_errors(error: ApiError, path: Path) -> bool:
    """The API's 422 about the context, said as errors of the file (field paths inside it)."""
    entries = [e for e in error.errors if (e.get("field") or "").startswith("context.")]
    if not entries:
        return False
    say(f"error: {path}: the API refused the context ({len(entries)} error(s))")
    for line in listed([f"{path}, field {e['field'].removeprefix('context.')}: {e.get('message')}" for e in entries]):
        say(line)
    return True


async def _list(args: argparse.Namespace) -> int:
    async with connect(args) as api:
        items, more = await pages(api.decisions, args, customer_id=args.customer, decision=args.decision,
                                  since=args.since, until=args.until)
    if args.json:
        as_json(items)
        return 0
    table([(d["created_at"][:19], d["decision"], d["probability_block"], d["order_id"], d["customer_id"],
            d["model_version"], d["decision_id"]) for d in items],
          ("created", "decision", "p_block", "order", "customer", "model", "decision_id"))
    if more:
        say("more: --all, or --cursor " + more)
    return 0
