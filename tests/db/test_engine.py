"""What every SQLite connection is set up with."""

from __future__ import annotations

from app.db.engine import CACHE_KIB, WAL_AUTOCHECKPOINT_PAGES, make_engine


async def test_every_sqlite_connection_logs_ahead_and_checkpoints_rarely(tmp_path):
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'pragmas.db'}")
    try:
        async with engine.connect() as connection:
            async def pragma(name: str):
                return (await connection.exec_driver_sql(f"PRAGMA {name}")).scalar()

            assert await pragma("journal_mode") == "wal"
            assert await pragma("synchronous") == 1  # NORMAL
            assert await pragma("foreign_keys") == 1
            assert await pragma("wal_autocheckpoint") == WAL_AUTOCHECKPOINT_PAGES == 10_000
            assert await pragma("cache_size") == -CACHE_KIB
    finally:
        await engine.dispose()
