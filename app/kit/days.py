"""UTC days as integers (days since 1970-01-01): what per-day statistics group by, cheap to
store, index and read on every database."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

EPOCH = date(1970, 1, 1)


def epoch_day(moment: datetime | date) -> int:
    if isinstance(moment, datetime):
        moment = (moment.astimezone(UTC) if moment.tzinfo else moment).date()
    return (moment - EPOCH).days


def from_epoch_day(day: int) -> date:
    return EPOCH + timedelta(days=int(day))


def monday_of(days):
    """The Monday starting the week of each epoch day (1970-01-01 was a Thursday); works on ints
    and NumPy arrays alike."""
    return days - (days + 3) % 7
