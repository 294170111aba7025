"""Features of one new order for a live decision, identical to `build_features`.

`build_features` stays the single definition of the features; for a single order its Polars plan
costs milliseconds, far over a live decision's budget. Here everything stored about a customer is
reduced once, kind by kind (`app.ml.blocks`), with the same Polars expressions and
de-duplication rules, to a `CustomerSnapshot`: one small hashable state per kind (the static
customer values, limits and reports by date, the order history as running totals per distinct
instant). `live_features` then answers one order by calling each kind's evaluator once, with
`bisect` and float arithmetic: microseconds, every value bit for bit the batch one (the parity
tests in tests/ml/test_live.py compare it with `build_features` on whole datasets).

A snapshot describes the stored data it was built from: rebuild it when any of them changes
(a stored order, a new limit or report).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import polars as pl

from app.ml.blocks import BLOCKS
from app.ml.blocks.base import Evaluate, State
from app.ml.errors import FeatureError, SchemaError
from app.ml.features import FEATURE_NAMES
from app.ml.history import History

KINDS: tuple[str, ...] = tuple(block.kind for block in BLOCKS)
"""The kinds of a snapshot's parts, in order."""

_EPOCH = datetime(1970, 1, 1)
_INDEX = {name: i for i, name in enumerate(FEATURE_NAMES)}
_POSITION = {kind: i for i, kind in enumerate(KINDS)}
_EMPTY = tuple(block.empty for block in BLOCKS)
_ITEM_KINDS = frozenset(block.kind for block in BLOCKS if block.item is not None)


@dataclass(frozen=True, slots=True)
class CustomerSnapshot:
    """One customer's stored data, reduced for point-in-time look-ups (immutable, hashable).

    `parts` holds one state per kind, in `KINDS` order (a tuple, not a dict: each decision
    unpacks it without a look-up); `part(kind)` reads one by name, `replace_kinds` swaps some.
    """

    customer_id: str
    parts: tuple[State, ...]

    def part(self, kind: str) -> State:
        return self.parts[_position(kind)]


def prepare_snapshot(customer_id: str, history: History) -> CustomerSnapshot:
    """Reduce everything stored about `customer_id` to a snapshot (rows of others are ignored).

    The rules are `build_features`': the last customer row wins, limits and reports keep the last
    row per date and drop rows without a date, history orders sharing an instant form one step.
    """
    if not isinstance(history, History):
        raise TypeError(f"history must be a History (conformed once), not {type(history).__name__}")
    own = pl.col("customer_id") == customer_id
    return CustomerSnapshot(customer_id, tuple(block.reduce(history[block.kind].filter(own)) for block in BLOCKS))


def item_snapshot(customer_id: str, items: Mapping[str, Mapping[str, Any] | None]) -> CustomerSnapshot:
    """The snapshot `prepare_snapshot` builds from at most one validated item of each kind (a
    decision's context), in plain Python: microseconds instead of ~5 ms of Polars plans.

    `items` is keyed by kind (`customers`, `credit_limits`, `serasa_reports`); each item is a dict
    with the upload schema's Python values (dates as `date`). A kind not given is empty; a kind
    without an item form (`orders`) or an unknown one raises `SchemaError`. The parity test in
    tests/ml/test_live.py holds the two functions equal."""
    if not _ITEM_KINDS.issuperset(items):
        unknown = sorted(set(items) - _ITEM_KINDS)
        raise SchemaError(f"no item form for kind(s) {unknown}; expected some of {sorted(_ITEM_KINDS)}")
    parts = tuple([block.empty if block.item is None else block.item(items.get(block.kind)) for block in BLOCKS])
    return CustomerSnapshot(customer_id, parts)


def replace_kinds(snapshot: CustomerSnapshot, source: CustomerSnapshot, kinds: Iterable[str]) -> CustomerSnapshot:
    """`snapshot` with the parts of `kinds` taken from `source` (e.g. a decision's context items
    replacing the stored customer, limits or reports, while the stored order history stays)."""
    chosen = {_position(kind) for kind in kinds}
    if not chosen:
        return snapshot
    parts = tuple(source.parts[i] if i in chosen else part for i, part in enumerate(snapshot.parts))
    return CustomerSnapshot(snapshot.customer_id, parts)


def is_empty(snapshot: CustomerSnapshot) -> bool:
    """Nothing at all is stored about the customer: no customer row, limit, report or order."""
    return snapshot.parts == _EMPTY


def live_features(
    snapshot: CustomerSnapshot, *, ordered_at: datetime, amount: float, payment_terms_days: int
) -> dict[str, float | None]:
    """One order's features, keyed by `FEATURE_NAMES` in order, as `build_features` gives them.

    `ordered_at` is naive UTC (an aware value is converted to UTC). The order itself need not be
    in the snapshot's history; if it is, it is not seen (only earlier instants count).
    """
    return dict(zip(FEATURE_NAMES, _values(snapshot, ordered_at, amount, payment_terms_days), strict=True))


def features_row(
    snapshot: CustomerSnapshot,
    *,
    ordered_at: datetime,
    amount: float,
    payment_terms_days: int,
    names: Sequence[str] = FEATURE_NAMES,
) -> np.ndarray:
    """The order's features as a float32 (1, len(names)) matrix, nulls as NaN.

    Same values as `feature_matrix` on the batch row; pass a stored model's feature list.
    """
    values = _values(snapshot, ordered_at, amount, payment_terms_days)
    try:
        row = [values[_INDEX[name]] for name in names]
    except KeyError as exc:
        raise FeatureError(f"unknown feature {exc.args[0]!r}") from None
    return np.array([[np.nan if v is None else v for v in row]], dtype=np.float32)


def _position(kind: str) -> int:
    try:
        return _POSITION[kind]
    except KeyError:
        raise SchemaError(f"unknown kind {kind!r}; expected one of {list(KINDS)}") from None


def _values(
    s: CustomerSnapshot, ordered_at: datetime, amount: float, payment_terms_days: int
) -> tuple[float | None, ...]:
    """Feature values in `FEATURE_NAMES` order: the order's own, then each kind's evaluator with
    the order's day (since 1970-01-01), instant (µs since then) and amount."""
    if ordered_at.tzinfo is not None:
        ordered_at = ordered_at.astimezone(UTC).replace(tzinfo=None)
    delta = ordered_at - _EPOCH
    day = delta.days
    now = (day * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    amount = float(amount)
    return _combine(s.parts, day, now, amount, float(payment_terms_days))


def _combiner(evaluators: Sequence[Evaluate]) -> Callable[..., tuple[float | None, ...]]:
    """`(parts, day, now, amount, terms) -> (amount, terms, *each kind's values)`, written out
    with one call site per kind and compiled once, at import.

    A loop over the evaluators is the obvious form, but it calls a different function from one
    call site at every turn, which CPython 3.12 cannot specialise: it cost 0.8 µs (+10 %) a
    decision. Written out, the calls cost what the former hand-written tuple did; generating
    the text (as `dataclasses` does for `__init__`) keeps this module free of kind names.
    The text is made of indices only (docs/decisions/0005).
    """
    n = len(evaluators)
    names = "".join(f"p{i}, " for i in range(n))
    calls = "".join(f", *e{i}(p{i}, day, now, amount)" for i in range(n))
    source = f"def combine(parts, day, now, amount, terms):\n    {names}= parts\n    return (amount, terms{calls})\n"
    namespace: dict[str, Any] = {f"e{i}": evaluate for i, evaluate in enumerate(evaluators)}
    exec(source, namespace)
    return namespace["combine"]


_combine = _combiner([block.evaluate for block in BLOCKS])
