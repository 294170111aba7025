"""`History`: everything stored about customers, one conformed frame per entity kind.

The features read several kinds (customers, credit limits, Serasa reports, past orders). Passing
them positionally meant every new kind changed every signature; a `History` is one argument keyed
by kind, so a new kind is a new key. Frames are conformed here, once, so `build_features` and
`prepare_snapshot` read canonical columns without converting again (per customer, in the
decision path's cache misses, a second conform would be repeated for nothing).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from types import MappingProxyType

import polars as pl

from app.ml import schema
from app.ml.errors import SchemaError

KINDS: tuple[str, ...] = tuple(schema.SCHEMAS)
"""Every kind a `History` holds, in `schema.SCHEMAS` order."""


class History(Mapping[str, pl.DataFrame]):
    """Immutable mapping kind -> conformed frame, holding every kind of `KINDS`.

    A kind not given is an empty frame of its canonical schema; an unknown kind raises
    `SchemaError` (a misspelt kind would otherwise be silently empty). Built from another
    `History`, the frames are reused as they are (already conformed).
    """

    __slots__ = ("_frames",)
    _frames: Mapping[str, pl.DataFrame]

    def __init__(self, frames: Mapping[str, pl.DataFrame] | None = None) -> None:
        if isinstance(frames, History):
            conformed = frames._frames
        else:
            frames = _known(frames or {})
            conformed = MappingProxyType({kind: _conformed(kind, frames.get(kind)) for kind in KINDS})
        object.__setattr__(self, "_frames", conformed)

    @classmethod
    def of(cls, **frames: pl.DataFrame) -> History:
        """`History.of(customers=..., orders=...)`: the kinds as keyword arguments."""
        return cls(frames)

    def replace(self, **frames: pl.DataFrame) -> History:
        """A copy with the given kinds replaced (and conformed); the other frames are reused."""
        given = _known(frames)
        return History._trusted(
            {kind: schema.conform(kind, given[kind]) if kind in given else old for kind, old in self._frames.items()}
        )

    def where(self, predicate: pl.Expr) -> History:
        """Every frame filtered by `predicate` (e.g. one customer's rows); no conform again."""
        return History._trusted({kind: frame.filter(predicate) for kind, frame in self._frames.items()})

    @classmethod
    def _trusted(cls, frames: dict[str, pl.DataFrame]) -> History:
        """Wrap frames that are already conformed (derived from a `History`) without checking."""
        history = cls.__new__(cls)
        object.__setattr__(history, "_frames", MappingProxyType(frames))
        return history

    def __getitem__(self, kind: str) -> pl.DataFrame:
        return self._frames[kind]

    def __iter__(self) -> Iterator[str]:
        return iter(self._frames)

    def __len__(self) -> int:
        return len(self._frames)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"History is immutable; use replace() to change {name!r}")

    def __repr__(self) -> str:
        heights = ", ".join(f"{kind}={frame.height}" for kind, frame in self._frames.items())
        return f"History({heights})"


def _known(frames: Mapping[str, pl.DataFrame]) -> Mapping[str, pl.DataFrame]:
    unknown = sorted(set(frames) - set(KINDS))
    if unknown:
        raise SchemaError(f"unknown kind(s) {unknown}; expected some of {list(KINDS)}")
    return frames


def _conformed(kind: str, frame: pl.DataFrame | None) -> pl.DataFrame:
    if frame is None:
        return pl.DataFrame(schema=schema.SCHEMAS[kind])
    return schema.conform(kind, frame)
