"""Options and helpers several commands share."""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable

MAX_PAGE = 500


def json_option() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--json", action="store_true", help="print the API's JSON instead of a table")
    return parser


def page_options(default_limit: int = 50) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(add_help=False)
    group = parser.add_argument_group("paging")
    group.add_argument("--limit", type=_page_size, default=default_limit, help=f"items per page (1-{MAX_PAGE})")
    group.add_argument("--cursor", default=None, help="start at this next_cursor of an earlier page")
    group.add_argument("--all", action="store_true", help="follow next_cursor to the last page")
    return parser


async def pages(fetch: Callable[..., Awaitable[dict]], args: argparse.Namespace,
                **filters) -> tuple[list[dict], str | None]:
    """One page of `--limit` items from `--cursor`, or with `--all` every page; the cursor left."""
    items, cursor = [], args.cursor
    while True:
        page = await fetch(limit=args.limit, cursor=cursor, **filters)
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None or not args.all:
            return items, cursor


def _page_size(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if not 1 <= value <= MAX_PAGE:
        raise argparse.ArgumentTypeError(f"must be between 1 and {MAX_PAGE}")
    return value
