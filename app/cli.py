"""The ``creditgate`` command line."""

from __future__ import annotations

import argparse
import sys


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Every option's default in its help, except where there is none to show (None, a flag's False)
    and where the help already says it."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default in (None, False, argparse.SUPPRESS) or "default" in (action.help or ""):
            return action.help
        return super()._get_help_string(action)


class Parser(argparse.ArgumentParser):
    """The parser of every command and sub-command (sub-parsers are made of the same class)."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


def build_parser() -> Parser:
    parser = Parser(prog="creditgate", description="CreditGate service and tools. "
                    "'creditgate COMMAND --help' explains a command and its options.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the API (uvicorn)",
                                description="Apply the migrations, then serve the API. Configuration: the "
                                            "CREDITGATE_* environment variables (README).")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=int, default=8000, help="port to listen on")
    serve.add_argument("--workers", type=int, default=1, help="uvicorn worker processes (one per core)")
    serve.add_argument("--no-migrate", action="store_true", help="skip 'alembic upgrade head' at start")
    serve.set_defaults(func=_serve)

    worker = commands.add_parser("worker", help="run the consumers and training without the HTTP API")
    worker.set_defaults(func=_worker)

    migrate = commands.add_parser("migrate", help="apply the database migrations (alembic upgrade)")
    migrate.add_argument("--revision", default="head", help="the Alembic revision to upgrade to")
    migrate.set_defaults(func=_migrate)

    for register in _extra_commands():
        register(commands)
    return parser


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from app.settings import get_settings

    settings = get_settings()  # refuses a weak secret before anything starts
    if not args.no_migrate:
        from app.db.migrations import upgrade

        upgrade(settings.database_url)
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_config=None,
        access_log=False,
        proxy_headers=True,
    )
    return 0


def _worker(args: argparse.Namespace) -> int:
    """The runtime without the HTTP API: batch consumers and jobs; stops on SIGINT or SIGTERM."""
    import asyncio
    import signal

    from app.logs import configure_logging
    from app.runtime import running
    from app.settings import get_settings

    async def run() -> None:
        settings = get_settings()
        configure_logging(settings.log_level)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        async with running(settings):
            await stop.wait()

    asyncio.run(run())
    return 0


def _migrate(args: argparse.Namespace) -> int:
    from app.db.migrations import upgrade
    from app.settings import get_settings

    upgrade(get_settings().database_url, args.revision)
    return 0


def _extra_commands() -> list:
    """Tool commands live beside their domain; each module adds its own sub-parser."""
    registrars = []
    for module_name in ("app.demo.cli", "app.client.cli"):
        try:
            module = __import__(module_name, fromlist=["register"])
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
        registrars.append(module.register)
    return registrars


if __name__ == "__main__":
    sys.exit(main())
