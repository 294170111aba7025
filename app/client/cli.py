"""The API from the command line: `creditgate register | upload | datasets | models | evaluate | decide |
decisions`, one module per domain in `app.client.commands`, all through `CreditGateClient`
(exit codes: `app.client.runner`)."""

from __future__ import annotations

from app.client.commands import companies, datasets, decisions, models, upload
from app.client.runner import connection_options


def register(commands) -> None:
    connection = connection_options()
    for module in (companies, upload, datasets, models, decisions):
        module.add(commands, connection)
