"""The training worker's readers: the fast SQLite path gives exactly the frames SQLAlchemy gives."""

from __future__ import annotations

import asyncio

import pytest

from app.demo import generate
from app.services.training_worker import _load, _read, frames_from_rows
from benchmarks.training import store_dataset


async def test_sqlite_fast_reader_equals_the_sqlalchemy_reader(settings):
    if not settings.database_url.startswith("sqlite"):
        pytest.skip("the fast reader is SQLite's")
    dataset_id = await store_dataset(settings.database_url, generate(customers=60, orders=1500, seed=9))
    fast = await asyncio.to_thread(lambda: frames_from_rows(_read(settings.database_url, dataset_id)))
    reference = frames_from_rows(await _load(settings.database_url, dataset_id))
    for kind, frame in reference.items():
        assert frame.height > 0
        assert fast[kind].equals(frame), kind
        assert fast[kind].schema == frame.schema, kind
