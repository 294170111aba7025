"""The decision log: journaled before the response, written in group commits, replayed after a crash."""

from __future__ import annotations

import asyncio
import os
import uuid

from sqlalchemy import func, select

from app.db.audit import AuditEvent
from app.db.base import utcnow
from app.db.decisions import Decision
from app.services import audit, decision_log
from app.services.decision_log import DecisionLog, LogRecord


def records(company_id: str, n: int) -> list[LogRecord]:
    out = []
    for k in range(n):
        decision_id = str(uuid.uuid4())
        decision = {"id": decision_id, "company_id": company_id, "model_id": "m", "model_version": 1,
                    "customer_id": "C1", "order_id": f"O{k}", "decision": "bill", "probability_block": 0.1,
                    "threshold": 0.5, "request": {}, "features": {}, "reasons": {"reasons": []},
                    "created_at": utcnow()}
        event = audit.event_values(company_id=company_id, action="decision.made", subject_type="decision",
                                   subject_id=decision_id)
        out.append(LogRecord(decision, event))
    return out


async def stored(app, company_id: str) -> tuple[int, int]:
    async with app.state.runtime.sessions() as session:
        decisions = await session.scalar(select(func.count()).where(Decision.company_id == company_id))
        events = await session.scalar(select(func.count()).where(AuditEvent.company_id == company_id,
                                                                 AuditEvent.action == "decision.made"))
    return decisions, events


async def test_journaled_then_written_in_the_background(app, tenant, tmp_path, monkeypatch):
    monkeypatch.setattr(decision_log, "GATHER_SECONDS", 60.0)  # nothing is committed before the flush
    log = DecisionLog(app.state.runtime.sessions, tmp_path)
    await log.start()
    batch = records(tenant.company_id, 30)
    await log.write(batch[:10])
    await log.write(batch[10:])
    journaled = b"".join(p.read_bytes() for p in tmp_path.glob("*.jsonl"))
    assert journaled.count(b"\n") == 30  # durable in the journal when `write` returns
    assert await stored(app, tenant.company_id) == (0, 0)
    await log.flush()
    assert await stored(app, tenant.company_id) == (30, 30)
    assert [p for p in tmp_path.glob("*.jsonl") if p.stat().st_size] == []  # covered segments deleted
    await log.stop()
    assert list(tmp_path.iterdir()) == []


async def test_journaled_decisions_are_gathered_into_one_commit_until_a_flush(app, tenant, tmp_path, monkeypatch):
    commits = []
    real_insert = decision_log.insert_records

    async def counting_insert(session, batch, *, skip_existing, **options):
        commits.append(len(batch))
        return await real_insert(session, batch, skip_existing=skip_existing, **options)

    monkeypatch.setattr(decision_log, "insert_records", counting_insert)
    monkeypatch.setattr(decision_log, "GATHER_SECONDS", 60.0)  # only the flush can end the window
    log = DecisionLog(app.state.runtime.sessions, tmp_path)
    await log.start()
    try:
        await log.write(records(tenant.company_id, 2))
        await asyncio.sleep(0.05)  # the writer woke up and is gathering
        await log.write(records(tenant.company_id, 3))
        await asyncio.wait_for(log.flush(), timeout=30)
        assert commits == [5]
        assert await stored(app, tenant.company_id) == (5, 5)
    finally:
        await log.stop()


async def test_a_dead_process_journal_is_replayed_once(app, tenant, tmp_path):
    dead = DecisionLog(app.state.runtime.sessions, tmp_path)
    await dead.start()
    dead._task.cancel()  # the process "dies" before its writer commits anything
    await asyncio.sleep(0)
    batch = records(tenant.company_id, 25)
    await dead.write(batch)
    with open(next(tmp_path.glob("*.jsonl")), "ab") as segment:
        segment.write(b'{"decision": {"id": "torn')  # a write cut short by the kill
    os.close(dead._lock_fd)  # the kernel releases a dead process's lock
    assert await stored(app, tenant.company_id) == (0, 0)

    survivor = DecisionLog(app.state.runtime.sessions, tmp_path)
    await survivor.start()
    assert await stored(app, tenant.company_id) == (25, 25)
    assert not list(tmp_path.glob(f"{dead.owner}*"))
    await survivor.stop()


async def test_replay_skips_what_was_already_written(app, tenant, tmp_path):
    log = DecisionLog(app.state.runtime.sessions, None)
    await log.start()
    batch = records(tenant.company_id, 5)
    await log.write(batch)  # without a journal: committed when write returns
    assert await stored(app, tenant.company_id) == (5, 5)
    dead_owner = uuid.uuid4().hex
    (tmp_path / f"{dead_owner}.lock").touch()
    (tmp_path / f"{dead_owner}-00000001.jsonl").write_bytes(b"".join(r.encode() for r in batch))
    replayer = DecisionLog(app.state.runtime.sessions, tmp_path)
    assert await replayer.recover() == 0
    assert await stored(app, tenant.company_id) == (5, 5)
    await log.stop()


class Follower:
    def __init__(self) -> None:
        self.handed: list[str] = []
        self.flushes = 0

    def committed(self, decisions: list[dict]) -> None:
        self.handed += [d["id"] for d in decisions]

    async def flush(self) -> None:
        self.flushes += 1


async def test_followers_get_each_committed_decision_once_after_its_commit(app, tenant, tmp_path):
    follower = Follower()
    log = DecisionLog(app.state.runtime.sessions, None, followers=(follower,))
    await log.start()
    batch = records(tenant.company_id, 4)
    await log.write(batch)
    assert follower.handed == [r.decision["id"] for r in batch]  # committed when `write` returns
    await log.flush()
    assert follower.flushes == 1  # a reader's flush waits for the followers too
    dead_owner = uuid.uuid4().hex  # a dead process's journal: two stored already, one not
    extra = records(tenant.company_id, 1)
    (tmp_path / f"{dead_owner}.lock").touch()
    (tmp_path / f"{dead_owner}-00000001.jsonl").write_bytes(b"".join(r.encode() for r in batch[:2] + extra))
    replayer = DecisionLog(app.state.runtime.sessions, tmp_path, followers=(follower,))
    assert await replayer.recover() == 1
    assert follower.handed == [r.decision["id"] for r in batch + extra]
    await log.stop()


async def test_a_live_owner_is_left_alone(app, tenant, tmp_path):
    alive = DecisionLog(app.state.runtime.sessions, tmp_path)
    await alive.start()
    alive._task.cancel()
    await asyncio.sleep(0)
    await alive.write(records(tenant.company_id, 3))
    other = DecisionLog(app.state.runtime.sessions, tmp_path)
    assert await other.recover() == 0  # its lock is held: not ours to replay
    assert await stored(app, tenant.company_id) == (0, 0)
    os.close(alive._lock_fd)


async def test_one_decision_id_twice_in_a_commit_is_stored_once_with_both_events(app, tenant, tmp_path, monkeypatch):
    """Two identical requests decided at once get the same (derived) id before either is
    remembered: the commit that holds both stores the decision once and does not fail (a failing
    commit is retried for ever and holds every later decision back)."""
    monkeypatch.setattr(decision_log, "GATHER_SECONDS", 60.0)
    log = DecisionLog(app.state.runtime.sessions, tmp_path)
    await log.start()
    batch = records(tenant.company_id, 3)
    twin = LogRecord(dict(batch[0].decision), audit.event_values(
        company_id=tenant.company_id, action="decision.made", subject_type="decision",
        subject_id=batch[0].decision["id"]))
    await log.write(batch[:2])
    await log.write([twin, batch[2]])
    await asyncio.wait_for(log.flush(), timeout=20)
    assert await stored(app, tenant.company_id) == (3, 4)
    await log.write([LogRecord(dict(batch[1].decision), None)])  # stored already: skipped
    await asyncio.wait_for(log.flush(), timeout=20)
    assert await stored(app, tenant.company_id) == (3, 4)
    await log.stop()
