"""Property-based tests of the whole API from its own OpenAPI document with schemathesis (its
CLI, pinned in pyproject): generated valid and invalid requests against a running server with a
registered company and a model trained on small demo data.

Checks: all of schemathesis' except `positive_data_acceptance` - a request can match the schema
and still be refused by a business rule (a decision for a customer never uploaded, a cursor we did
not issue), and those refusals are documented 4xx problems, which the other checks verify.

Token revocation runs last, on its own: it lists and revokes tokens, ours included, which would
turn every later request into a 401.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from app.client import CreditGateClient
from app.db.migrations import upgrade
from app.demo import generate
from tests.conftest import TEST_SECRET
from tests.processes import AppProcess

pytestmark = pytest.mark.slow
EXAMPLES_PER_OPERATION = 20
MIN_CASES = 1_000
SEED = 20261202
LAST = "revoke_token"


async def trained_server(folder: Path) -> tuple[AppProcess, str]:
    url = f"sqlite+aiosqlite:///{folder / 'api.db'}"
    await asyncio.to_thread(upgrade, url)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CREDITGATE_")} | {
        "CREDITGATE_ENV": "test", "CREDITGATE_JWT_SECRET": TEST_SECRET, "CREDITGATE_DATABASE_URL": url,
        "CREDITGATE_LOG_LEVEL": "WARNING", "CREDITGATE_DECISION_JOURNAL_DIR": str(folder / "journal"),
        "CREDITGATE_RATE_LIMIT_REGISTRATIONS": "", "CREDITGATE_RATE_LIMIT_TOKENS": "",
        "CREDITGATE_MIN_ORDERS_PER_OUTCOME": "5"}
    server = AppProcess(env, folder / "app.log")
    await server.start()
    async with CreditGateClient(server.url, timeout=120) as api:
        body = await api.register("Distribuidora Schemathesis Ltda", f"st-{uuid.uuid4().hex[:8]}@example.com")
        dataset = await api.create_dataset("demo")
        await api.upload_frames(dataset["id"], generate(customers=200, orders=5_000, seed=42).frames())
        done = await api.wait_for_dataset(dataset["id"], ("trained", "failed", "invalid"), timeout=300)
        assert done["status"] == "trained", done
    return server, body["access_token"]["token"]


def schemathesis(url: str, token: str, *selection: str) -> tuple[int, str]:
    command = [str(Path(sys.executable).parent / "schemathesis"), "run", f"{url}/openapi.json",
               "--checks", "all", "--exclude-checks", "positive_data_acceptance",
               "--phases", "examples,coverage,fuzzing", "--max-examples", str(EXAMPLES_PER_OPERATION),
               "--seed", str(SEED), "--workers", "2", "--no-color", "--request-timeout", "30",
               "-H", f"Authorization: Bearer {token}", *selection]
    run = subprocess.run(command, capture_output=True, text=True, timeout=600)
    return run.returncode, run.stdout + run.stderr


def generated(output: str) -> int:
    found = re.search(r"(\d+) generated", output)
    assert found, output[-3000:]
    return int(found.group(1))


async def test_generated_requests_find_no_server_error_and_no_schema_violation(tmp_path):
    server, token = await trained_server(tmp_path)
    try:
        code, output = await asyncio.to_thread(schemathesis, server.url, token, "--exclude-operation-id", LAST)
        assert code == 0, output[-8000:]
        last_code, last_output = await asyncio.to_thread(schemathesis, server.url, token,
                                                         "--include-operation-id", LAST)
        assert last_code == 0, last_output[-8000:]
    finally:
        server.stop()
    cases = generated(output) + generated(last_output)
    assert cases >= MIN_CASES, cases
    selected, total = map(int, re.search(r"Selected: (\d+)/(\d+)", output).groups())
    assert selected == total - 1 and f"Selected: 1/{total}" in last_output  # every operation, once
    assert '"level":"ERROR"' not in (tmp_path / "app.log").read_text()
