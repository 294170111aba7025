"""Scored slices a model version keeps: its validation and hold-out rows as NumPy arrays.

Operating points (recall targets, false-bill rates, costs weighted by amount) and the ROC /
precision-recall / calibration curves are computed from them later, without the dataset. Stored as
an `.npz` (`np.savez`), read with `allow_pickle=False`: plain arrays, never pickles.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np

from app.ml.errors import ModelError

_DTYPES = {"margin": np.float32, "probability": np.float64, "label": np.int8, "amount": np.float64}


@dataclass(frozen=True, eq=False)
class ScoreSample:
    """One scored slice, row-aligned: `margin` the raw log-odds (XGBoost's float32), `probability`
    the calibrated probability of block, `label` 1 blocked / 0 billed, `amount` the order's BRL."""

    margin: np.ndarray
    probability: np.ndarray
    label: np.ndarray
    amount: np.ndarray

    def __post_init__(self) -> None:
        n = None
        for name, dtype in _DTYPES.items():
            value = np.ascontiguousarray(np.asarray(getattr(self, name)).ravel(), dtype=dtype)
            if n is not None and len(value) != n:
                raise ModelError(f"score sample arrays differ in length ({name}: {len(value)}, expected {n})")
            n = len(value)
            object.__setattr__(self, name, value)

    def __len__(self) -> int:
        return len(self.label)

    def to_bytes(self) -> bytes:
        out = io.BytesIO()
        np.savez(out, **{name: getattr(self, name) for name in _DTYPES})
        return out.getvalue()

    @classmethod
    def from_bytes(cls, raw: bytes) -> ScoreSample:
        try:
            with np.load(io.BytesIO(raw), allow_pickle=False) as npz:
                arrays = {name: npz[name] for name in _DTYPES}
        except (KeyError, ValueError, OSError) as exc:
            raise ModelError(f"not a score sample: {exc}") from exc
        for name, dtype in _DTYPES.items():
            if arrays[name].dtype != dtype:
                raise ModelError(f"score sample {name} is {arrays[name].dtype}, expected {np.dtype(dtype)}")
        return cls(**arrays)
