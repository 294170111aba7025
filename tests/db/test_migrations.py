"""Migrations build every schema: up and down on real SQLite and PostgreSQL, T-SQL offline."""

from __future__ import annotations

import asyncio
import io
import uuid
from contextlib import redirect_stdout

import pytest
from sqlalchemy import inspect

import app.db  # noqa: F401
from alembic import command
from app.db.base import Base
from app.db.engine import make_engine
from app.db.migrations import alembic_config, downgrade, upgrade
from tests.conftest import BACKENDS, create_pg_database, drop_pg_database


async def table_names(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        async with engine.connect() as connection:
            return set(await connection.run_sync(lambda c: inspect(c).get_table_names()))
    finally:
        await engine.dispose()


@pytest.mark.parametrize("backend", BACKENDS)
async def test_upgrade_downgrade_upgrade(backend, tmp_path):
    name = f"creditgate_mig_{uuid.uuid4().hex[:10]}"
    url = (
        f"sqlite+aiosqlite:///{tmp_path / 'm.db'}" if backend == "sqlite" else await create_pg_database(name)
    )
    try:
        await asyncio.to_thread(upgrade, url)
        assert set(Base.metadata.tables) <= await table_names(url)
        await asyncio.to_thread(downgrade, url, "base")
        assert await table_names(url) <= {"alembic_version"}
        await asyncio.to_thread(upgrade, url)
        assert set(Base.metadata.tables) <= await table_names(url)
    finally:
        if backend != "sqlite":
            await drop_pg_database(name)


def test_mssql_offline_render_produces_tsql():
    url = "mssql+aioodbc://user:pass@sqlserver/creditgate?driver=ODBC+Driver+18+for+SQL+Server"
    out = io.StringIO()
    with redirect_stdout(out):
        command.upgrade(alembic_config(url), "head", sql=True)
    sql = out.getvalue()
    assert "GO" in sql
    assert "IDENTITY" in sql  # autoincrement keys rendered the T-SQL way
    assert "NVARCHAR(max)" in sql  # JSON columns
    for table in Base.metadata.tables:
        assert f"CREATE TABLE {table} (" in sql, table
    assert "SERIAL" not in sql and "AUTOINCREMENT" not in sql


def test_mssql_offline_downgrade_renders():
    url = "mssql+aioodbc://user:pass@sqlserver/creditgate?driver=ODBC+Driver+18+for+SQL+Server"
    out = io.StringIO()
    with redirect_stdout(out):
        command.downgrade(alembic_config(url), "head:base", sql=True)
    assert "DROP TABLE companies" in out.getvalue()


async def test_the_migrations_build_exactly_the_tables_the_code_declares(database_url):
    """No drift between app/db and alembic/: a column, type, index or constraint added to one
    and not the other fails here (autogenerate's own comparison, types included)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    engine = make_engine(database_url)
    try:
        async with engine.connect() as connection:
            differences = await connection.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync, opts={"compare_type": True}),
                                              Base.metadata))
    finally:
        await engine.dispose()
    assert differences == []
