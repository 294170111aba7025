"""Failpoints: named places in the code where a process started for a crash test pauses, after
appending the name to a marker file, so the test can SIGKILL it exactly there (for example between
storing a batch and committing its Kafka offset) instead of hoping a random kill lands there.

Configured by the `failpoints` setting, "name=seconds" pairs separated by commas, with
`failpoints_marker` the file to append to; only `env=test` accepts them (app/settings.py).
Each failpoint fires once per process.
"""

from __future__ import annotations

import asyncio
from pathlib import Path


class Failpoints:
    def __init__(self, spec: str = "", marker: str = "") -> None:
        self._pauses = {name.strip(): float(seconds) for name, _, seconds in
                        (item.partition("=") for item in spec.split(",") if item.strip())}
        self._marker = Path(marker) if marker else None

    async def reach(self, name: str) -> None:
        seconds = self._pauses.pop(name, None)
        if seconds is None:
            return
        if self._marker is not None:
            with self._marker.open("a") as marker:
                marker.write(f"{name}\n")
        await asyncio.sleep(seconds)
