"""Which database errors go away by retrying (transient) and which never will (permanent)."""

from __future__ import annotations

from sqlalchemy.exc import DataError, IntegrityError, InterfaceError, OperationalError

TRANSIENT = (OperationalError, InterfaceError, ConnectionError, TimeoutError, OSError)
# SQLSTATE classes: data exception and integrity violation never go away by retrying; connection,
# transaction rollback (serialization, deadlock), resources and operator intervention do.
PERMANENT_SQLSTATE_CLASSES = {"22", "23"}
TRANSIENT_SQLSTATE_CLASSES = {"08", "40", "53", "57", "58"}


class PermanentFailure(Exception):
    """Work that can never succeed whatever the infrastructure does (a batch that goes to the
    dead letters, not back to the queue)."""


def is_transient(exc: BaseException) -> bool:
    """Database or network trouble: retry later, never dead-letter."""
    sqlstate = _sqlstate(exc)
    if sqlstate is not None:
        return sqlstate[:2] in TRANSIENT_SQLSTATE_CLASSES
    return isinstance(exc, TRANSIENT)


def is_permanent(exc: BaseException) -> bool:
    """Storing this would fail again whatever the infrastructure does (bad data, or a bug)."""
    if is_transient(exc):
        return False
    sqlstate = _sqlstate(exc)
    if sqlstate is not None:
        return sqlstate[:2] in PERMANENT_SQLSTATE_CLASSES
    return isinstance(exc, (PermanentFailure, IntegrityError, DataError, ArithmeticError, LookupError,
                            TypeError, ValueError, AttributeError))


def _sqlstate(exc: BaseException | None) -> str | None:
    """The SQLSTATE of a database error, also when wrapped by SQLAlchemy (asyncpg sets it)."""
    for _ in range(4):
        if exc is None:
            return None
        sqlstate = getattr(exc, "sqlstate", None)
        if isinstance(sqlstate, str) and len(sqlstate) == 5:
            return sqlstate
        exc = getattr(exc, "orig", None) or exc.__cause__
    return None
