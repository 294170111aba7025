"""How every command runs: its connection options, its client, and its failures as messages.

Expected failures end with a message on stderr and an exit code, never a traceback:
0 done; 1 the API refused the request; 2 the input (an option, a file, the dataset's data) is
wrong; 3 training or an evaluation failed (or did not finish in time); 4 the server could not be
reached, or kept failing, for `--retry-seconds`; 130 interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from collections.abc import Awaitable, Callable

import httpx

from app.client.api import ApiError, CreditGateClient
from app.client.files import InputError
from app.client.output import problem_lines, say
from app.client.retry import RetryNotice, transport_reason

API_REFUSED, BAD_INPUT, JOB_FAILED, UNREACHABLE, INTERRUPTED = 1, 2, 3, 4, 130
DEFAULT_URL = "http://127.0.0.1:8000"
DEFAULT_RETRY_SECONDS = "180"

Command = Callable[[argparse.Namespace], Awaitable[int]]


def connection_options() -> argparse.ArgumentParser:
    """--url, --token and --retry-seconds, shared by every command that calls the API."""
    parser = argparse.ArgumentParser(add_help=False)
    group = parser.add_argument_group("connection")
    group.add_argument("--url", default=os.environ.get("CREDITGATE_URL", DEFAULT_URL),
                       help="the API's base URL (env CREDITGATE_URL)")
    group.add_argument("--token", default=None,
                       help="bearer token from 'creditgate register' (default: env CREDITGATE_TOKEN)")
    group.add_argument("--retry-seconds", type=_seconds, default=os.environ.get("CREDITGATE_RETRY_SECONDS",
                                                                               DEFAULT_RETRY_SECONDS),
                       help="how long a request is retried after a transient failure (connection error, 429, "
                            "5xx), with exponential backoff; 0: never (env CREDITGATE_RETRY_SECONDS)")
    return parser


def run(command: Command) -> Callable[[argparse.Namespace], int]:
    """The command as argparse calls it: its exit code, and each expected failure as a message."""

    def main(args: argparse.Namespace) -> int:
        try:
            return asyncio.run(command(args))
        except KeyboardInterrupt:
            say("interrupted")
            return INTERRUPTED
        except InputError as exc:
            return _fail([str(exc)], exc, BAD_INPUT)
        except ApiError as exc:
            code = UNREACHABLE if exc.status_code >= 500 or exc.status_code == 429 else API_REFUSED
            return _fail(problem_lines(exc) + _hints(exc), exc, code)
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            reason = transport_reason(exc) if isinstance(exc, httpx.TransportError) else str(exc)
            retried = f" (retried for {args.retry_seconds:g} s)" if getattr(args, "retry_seconds", 0) else ""
            return _fail([f"cannot reach {args.url}: {reason}{retried}"], exc, UNREACHABLE)

    return main


def connect(args: argparse.Namespace, token_required: bool = True) -> CreditGateClient:
    token = args.token or os.environ.get("CREDITGATE_TOKEN") or None
    if token_required and not token:
        raise InputError("no token: pass --token or set CREDITGATE_TOKEN ('creditgate register' prints one)")
    return CreditGateClient(args.url, token, retries=None, retry_seconds=args.retry_seconds, on_retry=RetrySayer())


class RetrySayer:
    """Says that the client is retrying, at most every few seconds (several batches fail at once)."""

    def __init__(self, every: float = 5.0) -> None:
        self.every, self.last = every, float("-inf")

    def __call__(self, notice: RetryNotice) -> None:
        now = time.monotonic()
        if now - self.last >= self.every:
            self.last = now
            say(f"{notice.method} {notice.path}: {notice.reason}; retrying in {notice.delay:.1f} s "
                f"(giving up in {notice.remaining:.0f} s)")


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def _hints(error: ApiError) -> list[str]:
    if error.status_code == 401:
        return ["the token is missing, expired or revoked: pass --token or set CREDITGATE_TOKEN "
                "('creditgate register' prints one)"]
    return []


def _fail(lines: list[str], error: BaseException, code: int) -> int:
    say(f"error: {lines[0]}")
    for line in lines[1:] + list(getattr(error, "__notes__", ())):
        say(line)
    return code
