"""Pick the transport the settings ask for."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.services.batch_sink import BatchSink
from app.settings import Settings
from app.transport.base import BatchQueue


def make_queue(settings: Settings, sessions: async_sessionmaker[AsyncSession], sink: BatchSink) -> BatchQueue:
    if settings.kafka_enabled:
        from app.transport.kafka import KafkaBatchQueue

        return KafkaBatchQueue(settings, sink)
    from app.transport.inprocess import InProcessQueue

    return InProcessQueue(sessions, sink, settings.ingest_batches_per_commit)
