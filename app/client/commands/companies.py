"""`creditgate register`: a new company and its token."""

from __future__ import annotations

import argparse
import os

from app.client.output import out
from app.client.runner import connect, run


def add(commands, connection: argparse.ArgumentParser) -> None:
    parser = commands.add_parser(
        "register", parents=[connection], help="register a company and print its token",
        description="Register a company. The last line is `export CREDITGATE_TOKEN=...`, for "
                    "eval \"$(creditgate register ... | tail -1)\".")
    parser.add_argument("--name", required=True, help="the company's name")
    parser.add_argument("--email", required=True, help="the company's contact e-mail")
    parser.add_argument("--registration-key", default=None,
                        help="sent as X-Registration-Key when the server requires one "
                             "(default: env CREDITGATE_REGISTRATION_KEY)")
    parser.set_defaults(func=run(_register))


async def _register(args: argparse.Namespace) -> int:
    key = args.registration_key or os.environ.get("CREDITGATE_REGISTRATION_KEY") or None
    async with connect(args, token_required=False) as api:
        body = await api.register(args.name, args.email, registration_key=key)
    out(f"company  {body['company']['id']}")
    out(f"expires  {body['access_token']['expires_at']}")
    out(f"export CREDITGATE_TOKEN={body['access_token']['token']}")
    return 0
