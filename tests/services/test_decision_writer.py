"""The decision log's commits in a writer process of their own: the same rows, counts and
hand-over as inline, and a killed writer loses nothing."""

from __future__ import annotations

import os
import signal

from sqlalchemy import select

from app.compute.decision_writer import ProcessWriter
from app.db.audit import AuditEvent
from app.db.decisions import Decision
from app.services import decision_log
from app.services.decision_log import DecisionLog, LogRecord
from tests.services.test_decision_log import Follower, records, stored


def writer_log(app, directory, follower=None) -> DecisionLog:
    runtime = app.state.runtime
    return DecisionLog(runtime.sessions, directory, followers=(follower,) if follower else (),
                       writer=ProcessWriter(runtime.settings.database_url))


async def test_the_writer_process_stores_decisions_and_events_and_hands_them_over(app, tenant, tmp_path):
    follower = Follower()
    log = writer_log(app, tmp_path, follower)
    await log.start()
    try:
        batch = records(tenant.company_id, 40)
        twice = LogRecord(dict(batch[0].decision), dict(batch[0].audit, id="another-event"))  # same id again
        await log.write(batch[:25])
        await log.write([*batch[25:], twice])
        await log.flush()
        assert log.writer.pids and os.getpid() not in log.writer.pids  # committed by another process
        assert await stored(app, tenant.company_id) == (40, 41)  # the repeated id once, with both events
        assert sorted(follower.handed) == sorted(r.decision["id"] for r in batch)  # each once
        assert [p for p in tmp_path.glob("*.jsonl") if p.stat().st_size] == []
    finally:
        await log.stop()


async def test_the_writer_fills_what_a_decision_supersedes(app, tenant, tmp_path):
    """An order decided before, by another process: the writer names the earlier decision, in the
    database and in what the followers get."""
    earlier = records(tenant.company_id, 1)
    inline = DecisionLog(app.state.runtime.sessions, None)
    await inline.start()
    await inline.write(earlier)
    await inline.stop()
    follower = Follower()
    follower.decisions = []
    follower.committed = lambda decisions: follower.decisions.extend(decisions)
    log = writer_log(app, None, follower)
    await log.start()
    try:
        again = records(tenant.company_id, 1)  # the same order id (O0), another decision
        await log.write(again)
        async with app.state.runtime.sessions() as session:
            stored_row = await session.get(Decision, again[0].decision["id"])
        assert stored_row.supersedes == earlier[0].decision["id"]
        assert follower.decisions[0]["supersedes"] == earlier[0].decision["id"]
        assert follower.decisions[0]["decided_by"] is None  # the newer columns, as the inline writer sets them
    finally:
        await log.stop()


async def test_a_killed_writer_is_replaced_and_its_batch_written_once(app, tenant, tmp_path, monkeypatch):
    monkeypatch.setattr(decision_log, "RETRY_SECONDS", 0.05)
    log = writer_log(app, tmp_path)
    await log.start()
    try:
        first = records(tenant.company_id, 10)
        await log.write(first)
        await log.flush()
        (dead,) = log.writer.pids
        os.kill(dead, signal.SIGKILL)
        second = records(tenant.company_id, 10)
        await log.write(second)  # its first commit meets the dead writer, the retry a new one
        await log.flush()
        assert log.writer.pids and dead not in log.writer.pids
        assert await stored(app, tenant.company_id) == (20, 20)
        async with app.state.runtime.sessions() as session:
            ids = set(await session.scalars(select(AuditEvent.subject_id).where(
                AuditEvent.company_id == tenant.company_id, AuditEvent.action == "decision.made")))
        assert ids == {r.decision["id"] for r in first + second}
        assert [p for p in tmp_path.glob("*.jsonl") if p.stat().st_size] == []
    finally:
        await log.stop()
